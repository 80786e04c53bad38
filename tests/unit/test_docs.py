"""Every setting is documented where users look, and docker-compose only sets real ones."""

import re

import yaml

from models.settings import Settings
from tests.helpers import ROOT


def setting_names() -> set[str]:
    return {f"FITQ_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_is_on_the_configuration_page_and_in_env_example() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in setting_names():
        assert f"`{name}`" in page, name
        assert re.search(rf"^{name}=", example, re.MULTILINE), name


def test_compose_sets_only_known_settings_and_reserves_a_gpu() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "api", "worker", "flower"} <= services.keys()
    for service in ("api", "worker"):
        fitq_vars = {k for k in services[service]["environment"] if k.startswith("FITQ_")}
        assert fitq_vars <= setting_names(), fitq_vars - setting_names()
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "alembic upgrade head" in (ROOT / "Dockerfile").read_text()
