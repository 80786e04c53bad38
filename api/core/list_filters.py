"""The filters the list routes share: `name` contains (case-insensitive) and `tag`, as SQL
conditions that work on PostgreSQL and SQLite alike."""

from typing import Annotated

from fastapi import Query
from sqlalchemy import ColumnElement, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute

NameQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        examples=["dropout"],
        description="Only those whose name contains this text, ignoring case",
    ),
]
TagQuery = Annotated[
    list[str] | None,
    Query(
        max_length=20,
        examples=[["dropout"]],
        description="Only those carrying this tag; repeat it (tag=a&tag=b) for all of several",
    ),
]


def name_contains(column: InstrumentedAttribute[str | None], text: str) -> ColumnElement[bool]:
    # LIKE's wildcards in the text are matched as themselves.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def has_tag(tags: InstrumentedAttribute[list[str]], tag: str, dialect: str) -> ColumnElement[bool]:
    """Whether a JSON array of strings holds `tag`."""
    if dialect == "postgresql":
        return cast(tags, JSONB).contains([tag])
    elements = func.json_each(tags).table_valued("value")
    return select(elements.c.value).where(elements.c.value == tag).exists()
