"""Workflow tables: a case (one run of a process about one subject), its events (every
transition and comment, in order) and its attachments (files kept by content hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow


class WorkflowCase(Base):
    """案件: one application or request moving through a process's states."""

    __tablename__ = "workflow_case"
    __table_args__ = (
        Index("ix_workflow_case_open", "owner_org_id", "closed"),
        Index("ix_workflow_case_subject", "subject_type", "subject_id"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    process: Mapped[str] = mapped_column(String(50), index=True)
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(40))
    # who must act: the organisation that owns the subject (None: the operator)
    owner_org_id: Mapped[str | None] = mapped_column(ForeignKey("org.id"))
    # who asked: a signed-in user, or an anonymous contact who follows it by receipt code
    applicant_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    # sha256 of the receipt code given to the applicant (the code itself is never stored)
    receipt_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    due: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed: Mapped[bool] = mapped_column(Boolean, default=False)  # in a final state
    # incremented by every transition: a replayed or concurrent action finds it changed
    revision: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Every UPDATE checks and bumps ``revision`` (compare-and-set): two people taking an action
    # on the same case at once, or a form posted twice, cannot both apply.
    __mapper_args__ = {"version_id_col": revision}

    # set by ``open_case`` on the new instance only: the receipt code to give the applicant
    receipt_code = None
    # set when the caller showed this case's receipt code (an anonymous applicant)
    receipt_shown = False


class WorkflowEvent(Base):
    """One transition (from -> to by action) or comment (from == to, action ``comment``)."""

    __tablename__ = "workflow_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_case.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkflowAttachment(Base):
    """A file given as evidence: stored once by sha256 under the data root; its media type is
    the one sniffed from the bytes, never the one the sender claimed."""

    __tablename__ = "workflow_attachment"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_case.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
