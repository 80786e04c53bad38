"""Every setting is documented where users look, docker-compose only sets real ones, and the
manual's relative links lead somewhere."""

import re
from pathlib import Path
from urllib.parse import unquote

import yaml

from models.settings import Settings
from tests.helpers import ROOT

CONFIGURATION_PAGE = ROOT / "docs" / "configuration.md"
# The pages whose links are checked: the README, the benchmark results and the manual.
PAGES = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1)[\s\S])+?\1")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
# [text](target "title") and ![alt](target); the text may hold one level of brackets.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"  # [text] or ![alt]
    r"\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"  # (target "title")
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def setting_names() -> set[str]:
    return {f"FITQ_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_is_on_the_configuration_page_and_in_env_example() -> None:
    page = CONFIGURATION_PAGE.read_text()
    example = (ROOT / ".env.example").read_text()
    for name in setting_names():
        assert f"`{name}`" in page, name
        assert re.search(rf"^{name}=", example, re.MULTILINE), name


def test_compose_sets_only_known_settings_and_reserves_a_gpu() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "api", "worker", "worker-gpu", "flower"} <= services.keys()
    for service in ("api", "worker", "worker-gpu"):
        fitq_vars = {k for k in services[service]["environment"] if k.startswith("FITQ_")}
        assert fitq_vars <= setting_names(), fitq_vars - setting_names()
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "alembic upgrade head" in (ROOT / "Dockerfile").read_text()


def prose_paragraphs(text: str) -> list[str]:
    """The paragraphs outside fenced code blocks, with inline code spans taken out (a link
    or a heading inside code is only text). A link's text, like a code span, may run over
    a line break, never over a blank line."""
    paragraphs, lines, in_fence = [], [], False
    for line in [*text.splitlines(), ""]:
        if FENCE.match(line):
            in_fence = not in_fence
            line = ""
        if in_fence:
            continue
        if line.strip():
            lines.append(line)
        elif lines:
            paragraphs.append(CODE_SPAN.sub("", "\n".join(lines)))
            lines = []
    return paragraphs


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text without markup, lower case, punctuation but
    hyphens and underscores dropped, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # _emphasis_, not snake_case
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    targets = []
    for paragraph in prose_paragraphs(page.read_text()):
        targets += INLINE_LINK.findall(paragraph)
        for line in paragraph.splitlines():
            definition = REFERENCE_DEFINITION.match(line)
            if definition:
                targets.append(definition.group(1))
    return [t for t in targets if t and not SCHEME.match(t)]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        file = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and unquote(anchor) not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    return broken


def test_slugs_follow_github() -> None:
    assert slug("Results on `model.fit` (2026-11-23)") == "results-on-modelfit-2026-11-23"
    assert slug("Training: fitq against a bare Keras script") == (
        "training-fitq-against-a-bare-keras-script"
    )
    assert slug("fitq's per-epoch cost") == "fitqs-per-epoch-cost"
    assert slug("The `fitq` command") == "the-fitq-command"
    assert slug("spec_datasets and _emphasis_") == "spec_datasets-and-emphasis"


def test_the_link_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#a-section), [second of two](other.md#a-section-1), [here](#page),\n"
        "![picture](missing.png), [bad anchor](other.md#nowhere), [web](https://x.org/y.md),\n"
        "`[in code](gone.md)`, `code\nover two lines [x](gone.md)`, [a link over\n"
        "two lines](nothere.md)\n\n```\n[in a block](gone.md)\n```\n\n[ref]: absent.md\n"
    )
    assert broken_links(page) == [
        f"missing.png: no file {(tmp_path / 'missing.png').resolve()}",
        "other.md#nowhere: no heading #nowhere in other.md",
        f"nothere.md: no file {(tmp_path / 'nothere.md').resolve()}",
        f"absent.md: no file {(tmp_path / 'absent.md').resolve()}",
    ]


def test_every_relative_link_in_the_manual_leads_somewhere() -> None:
    assert len(PAGES) > 3
    problems = [f"{page.relative_to(ROOT)}: {bad}" for page in PAGES for bad in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_the_readme_links_every_docs_page() -> None:
    linked = {Path(t.partition("#")[0]).name for t in relative_links(ROOT / "README.md")}
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name in linked, page.name
    assert "BENCHMARKS.md" in linked
