"""What a request to correct or delete carries in, and what its decision carries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class RequestIn(BaseModel):
    distribution_id: str = Field(
        min_length=1, max_length=100,
        description="the resource file (CKAN: resource) holding the records")
    contact_name: str = Field(default="", max_length=100)
    contact_phone: str = Field(default="", max_length=30, description="mobile or fixed line")
    contact_email: str = Field(default="", max_length=200)
    id_number: str = Field(default="", max_length=18,
                           description="optional; kept only as a keyed hash, never stored")
    locator: dict[str, str] = Field(
        default_factory=dict, max_length=5,
        description='column = value pairs that find the records, e.g. {"统一社会信用代码": "…"}')
    kind: Literal["correct", "delete"] = "correct"
    what_is_wrong: str = Field(default="", max_length=2000)
    corrections: dict[str, str] = Field(
        default_factory=dict, max_length=50, description="column -> what it should say")


class DecisionIn(BaseModel):
    decision: Literal["accept", "partially_accept", "refuse"]
    comment: str = Field(default="", max_length=5000, description="the reasons")
    accepted_ids: list[int] | None = Field(
        default=None, max_length=1000, description="partially_accept: the records accepted")
    columns: list[str] | None = Field(
        default=None, max_length=50, description="partially_accept: only these corrections")
    revision: int | None = None


class FiledOut(BaseModel):
    id: str
    case_id: str
    receipt: str = Field(description="shown once: follow the request at /requests/<receipt>")
    state: str
    due: str | None
    matched: int
