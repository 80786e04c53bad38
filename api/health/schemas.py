"""The response of /healthz."""

from pydantic import BaseModel, ConfigDict, Field


class ComponentHealth(BaseModel):
    ok: bool
    error: str | None = None


class HealthRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "database": {"ok": True, "error": None},
                    "broker": {"ok": True, "error": None},
                }
            ]
        }
    )

    status: str = Field(examples=["ok"], description="ok, or degraded when a dependency is down")
    database: ComponentHealth
    broker: ComponentHealth
