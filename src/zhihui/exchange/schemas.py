"""What comes in and goes out of the exchange API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

TEXT = 5000


class SubscriptionIn(BaseModel):
    resource_id: str = Field(max_length=100, description="resource id or name")
    url: str = Field(default="", max_length=2000,
                     description="webhook URL (http/https); empty: the changes feed only")
    secret: str = Field(default="", max_length=100,
                        description="HMAC key, 16-100 characters; empty: one is made")


class SubscriptionOut(BaseModel):
    id: str
    resource_id: str
    url: str
    active: bool
    created: str
    secret: str | None = Field(default=None, description="only in the answer that made it")


class RevokeIn(BaseModel):
    reason: str = Field(max_length=2000)


class KeyOut(BaseModel):
    grant_id: str
    key: str = Field(description="the API key, shown once: send it as Authorization")
    quota_per_day: int | None


class ApplicationIn(BaseModel):
    resource_id: str = Field(max_length=100)
    columns: list[str] | None = Field(default=None, description="data items; None: all")
    row_filter: dict[str, Any] | None = Field(
        default=None, description='rows: {"column": value or [values]}; None: all')
    distribution_ids: list[str] | None = None
    purpose: str = Field(max_length=TEXT)
    legal_basis: str = Field(default="", max_length=TEXT)
    using_system: str = Field(default="", max_length=200)
    intended_use: str = Field(default="", max_length=TEXT)
    security_measures: str = Field(default="", max_length=TEXT)
    agreement_version: int | None = Field(default=None,
                                          description="the usage agreement accepted")
    period_days: int = Field(default=365, ge=1, le=1825)
    renews_grant_id: str | None = Field(default=None, max_length=36)


class DecisionIn(BaseModel):
    action: str = Field(description="approve / refuse")
    reason: str = Field(default="", max_length=TEXT)
    columns: list[str] | None = Field(default=None, description="approve fewer items")
    row_filter: dict[str, Any] | None = Field(default=None, description="approve fewer rows")
    quota_per_day: int | None = Field(default=None, ge=1, le=10_000_000)


class AgreementIn(BaseModel):
    text: str = Field(min_length=1, max_length=50_000)


class FeedbackIn(BaseModel):
    kind: str = Field(description="problem (with a resource) / suggestion (data to open)")
    resource_id: str | None = Field(default=None, max_length=100)
    org_id: str | None = Field(default=None, max_length=100,
                               description="for a suggestion: the organisation asked")
    title: str = Field(max_length=200)
    body: str = Field(max_length=TEXT)


class AnswerIn(BaseModel):
    answer: str = Field(max_length=TEXT)


class ChangeResource(BaseModel):
    id: str
    name: str
    title: str


class ChangeVersion(BaseModel):
    id: str
    distribution_id: str
    number: int
    rows: int
    sha256: str
    created: str


class ChangeLinks(BaseModel):
    data: str = Field(description="the version's CSV download")
    search: str = Field(description="datastore search in the version")


class ChangeOut(BaseModel):
    """One new version, as in the webhook's body."""

    event: str
    change: int = Field(description="the change's number (webhook deliveries name it)")
    resource: ChangeResource
    version: ChangeVersion
    links: ChangeLinks


class ChangesOut(BaseModel):
    changes: list[ChangeOut]
    cursor: str = Field(description="opaque: ask with it next time (?since=)")
    more: bool = Field(description="true: ask again at once, more may be waiting")
