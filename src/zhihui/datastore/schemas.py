"""What comes in and goes out of the datastore's /api/v1 routes."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from zhihui.core.errors import Message, ValidationFailed
from zhihui.core.schemas import Input
from zhihui.datastore.query import LIMIT_DEFAULT, LIMIT_MAX


class ColumnOut(BaseModel):
    id: str
    type: str = Field(description="integer decimal boolean date datetime text")
    item_type: str = Field(description="信息项数据类型代码: C N D T L")
    length: int | None = None


class VersionOut(BaseModel):
    id: str
    resource_id: str = Field(description="the distribution (CKAN resource) id")
    package_id: str = Field(description="the catalogue resource (CKAN package) id")
    number: int
    sha256: str
    filename: str
    source_format: str
    encoding: str
    size: int
    rows: int
    columns: list[ColumnOut]
    report: dict[str, Any] = Field(description="validation report: rows read/rejected, "
                                   "per-column nulls, distinct, duplicates")
    created: str
    actor: str


class SqlIn(Input):
    sql: str = Field(max_length=20000, description="one SELECT over tables named by resource id")


def json_param(name: str, raw: str | None, default: Any) -> Any:
    """A JSON value given as a query parameter (filters={"区县":"西湖区"})."""
    if raw is None or raw == "":
        return default
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationFailed(fields={name: [Message("field.invalid",
                                                      {"detail": "JSON"})]}) from None


__all__ = ["LIMIT_DEFAULT", "LIMIT_MAX", "ColumnOut", "SqlIn", "VersionOut", "json_param"]
