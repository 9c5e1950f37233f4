"""Exchange tables: grants and their daily use, applications and the usage agreements they
accept, subscriptions with their webhook deliveries and attempts, the changes feed, feedback."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")

GRANT_KINDS = ("sharing", "opening", "automatic")


class Grant(Base):
    """授权: a scoped, expiring, revocable right to read approved data (Art. 46).

    ``grantee_org_id`` for sharing between departments, ``grantee_user_id`` for conditional
    opening (an enterprise or citizen, Art. 48). ``columns`` None means every data item,
    ``row_filter`` None every row; ``distribution_ids`` None every distribution."""

    __tablename__ = "exchange_grant"
    __table_args__ = (Index("ix_exchange_grant_resource_org", "resource_id", "grantee_org_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # sharing / opening / automatic
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    provider_org_id: Mapped[str] = mapped_column(ForeignKey("org.id"), index=True)
    grantee_org_id: Mapped[str | None] = mapped_column(ForeignKey("org.id"))
    grantee_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("user_account.id"), index=True)
    distribution_ids: Mapped[list[str] | None] = mapped_column(JSON)
    columns: Mapped[list[str] | None] = mapped_column(JSON)
    row_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoked_reason: Mapped[str] = mapped_column(Text, default="")
    application_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # the API key (core.accounts ApiToken) limited to this grant's resource (opening grants)
    token_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    quota_per_day: Mapped[int | None] = mapped_column(Integer)
    # "<resource id>:<org id>" for the automatic grant of unconditional sharing: one each
    auto_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class GrantUsage(Base):
    """Calls through a grant with a quota, per UTC day: the quota is checked against it."""

    __tablename__ = "exchange_grant_usage"

    grant_id: Mapped[str] = mapped_column(
        ForeignKey("exchange_grant.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)


class Agreement(Base):
    """The usage agreement (数据使用协议) of a conditionally opened resource, versioned: an
    opening application records the version its applicant accepted."""

    __tablename__ = "exchange_agreement"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")


class Application(Base):
    """A sharing application (共享申请, a department) or an opening application (开放申请, an
    enterprise or citizen) for one resource; its state runs on ``core.workflow``."""

    __tablename__ = "exchange_application"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # sharing / opening
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    provider_org_id: Mapped[str] = mapped_column(ForeignKey("org.id"), index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_org_id: Mapped[str | None] = mapped_column(ForeignKey("org.id"), index=True)
    distribution_ids: Mapped[list[str] | None] = mapped_column(JSON)
    columns: Mapped[list[str] | None] = mapped_column(JSON)
    row_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    using_system: Mapped[str] = mapped_column(String(200), default="")
    intended_use: Mapped[str] = mapped_column(Text, default="")
    security_measures: Mapped[str] = mapped_column(Text, default="")
    agreement_version: Mapped[int | None] = mapped_column(Integer)
    period_days: Mapped[int] = mapped_column(Integer)
    renews_grant_id: Mapped[str | None] = mapped_column(String(36))
    # submitted / approved / refused / withdrawn (the workflow instance holds the history)
    status: Mapped[str] = mapped_column(String(20), index=True, default="submitted")
    workflow_id: Mapped[str | None] = mapped_column(String(36), index=True)
    due: Mapped[date] = mapped_column(Date)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    decided: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    answer_days: Mapped[int | None] = mapped_column(Integer)  # working days to the answer
    grant_id: Mapped[str | None] = mapped_column(String(36))
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Subscription(Base):
    """订阅: notice of each new version of a resource's data, by webhook (``url``) and in the
    changes feed, or in the feed only (no url)."""

    __tablename__ = "exchange_subscription"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text, default="")
    # the HMAC key the subscriber verifies signatures with (shown to them once)
    secret: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Change(Base):
    """One published version: the changes feed and the webhook payload.

    ``seq`` names the change (webhooks carry it); ``position`` orders the feed and is given
    when the writing transaction commits, by a trigger (migration 0014): on PostgreSQL a
    deferred constraint trigger draws it from a sequence under a transaction lock held until
    the commit is visible, so positions become visible in increasing order; on SQLite, which
    commits one writer at a time, it is the seq. Inside the writing transaction it is None."""

    __tablename__ = "exchange_change"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    position: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    distribution_id: Mapped[str] = mapped_column(String(36))
    version_id: Mapped[str] = mapped_column(String(36))
    number: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delivery(Base):
    """One webhook message to one subscriber: pending until delivered, retried with back-off
    until ``failed``."""

    __tablename__ = "exchange_delivery"
    __table_args__ = (Index("ix_exchange_delivery_due", "status", "next_attempt"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("exchange_subscription.id", ondelete="CASCADE"), index=True)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending / delivered / failed / skipped
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_code: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryAttempt(Base):
    __tablename__ = "exchange_delivery_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("exchange_delivery.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(300), default="")
    ms: Mapped[int] = mapped_column(Integer, default=0)


class Feedback(Base):
    """互动反馈 (Art. 48): a problem reported with a resource, or data suggested for opening;
    the provider (or the operator) answers publicly."""

    __tablename__ = "exchange_feedback"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # problem / suggestion
    resource_id: Mapped[str | None] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("org.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str] = mapped_column(String(100), default="")
