"""What comes in and goes out of the privacy API. Shapes only; rules in ``service.py``."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from zhihui.core.schemas import Input


class ColumnIn(Input):
    """An editor's word on one column of the current version."""

    model_config = ConfigDict(extra="ignore")

    distribution_id: str = Field(max_length=36)
    column: str = Field(max_length=300)
    type: str | None = Field(default=None, max_length=30,
                             description="resident_id mobile bank_card … or null")
    personal: bool
    sensitive: bool = False


class RuleIn(Input):
    """One column's rule: mask (keep_start, keep_end), pseudonym, generalise (to: month, year,
    band with width, district), suppress."""

    model_config = ConfigDict(extra="ignore")

    column: str = Field(max_length=300)
    method: str = Field(max_length=20, description="mask / pseudonym / generalise / suppress")
    keep_start: int | None = Field(default=None, ge=0, le=20)
    keep_end: int | None = Field(default=None, ge=0, le=20)
    to: str | None = Field(default=None, max_length=20)
    width: int | None = Field(default=None, ge=1, le=1_000_000)


class PolicyIn(Input):
    model_config = ConfigDict(extra="ignore")

    rules: list[RuleIn] = Field(default_factory=list, max_length=500)
    quasi_identifiers: list[str] = Field(default_factory=list, max_length=20)
    k: int = Field(default=1, ge=1, le=1000,
                   description="rows in groups smaller than k are suppressed")


class AssessmentIn(Input):
    """个人信息保护影响评估 (PIPL Art. 55-56)."""

    model_config = ConfigDict(extra="ignore")

    scope: str = Field(description="opening / sharing")
    purpose: str = Field(max_length=2000)
    recipients: str = Field(max_length=2000)
    risks: str = Field(max_length=5000)
    measures: str = Field(default="", max_length=5000)
    approved_by: str = Field(max_length=100)
    approved_on: date


class AssessmentOut(BaseModel):
    id: str
    resource_id: str
    scope: str
    purpose: str
    recipients: str
    risks: str
    measures: str
    columns: list[dict[str, Any]]
    policy: dict[str, Any]
    k: int | None
    approved_by: str
    approved_on: date
    created: Any
    created_by: str
