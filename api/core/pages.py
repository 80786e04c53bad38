"""One page of a list route's answer: `limit` items from `offset`, and how many match in all.
Each list names its own page (ExperimentPage, StudyPage, DatasetPage) for the OpenAPI
document and the clients generated from it, with an example; the fields are these."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """`limit` items from `offset` of the `total` that match, newest first."""

    items: list[T]
    total: int
    limit: int
    offset: int


def page_config(*items: dict[str, Any]) -> ConfigDict:
    """A named page's model_config: its example, a first page of the default size holding
    `items` (the item model's example) and nothing more."""
    example: dict[str, Any] = {"items": list(items), "total": len(items), "limit": 50, "offset": 0}
    return ConfigDict(json_schema_extra={"examples": [example]})
