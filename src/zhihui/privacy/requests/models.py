"""The correction request: what was asked about which records, beside its workflow case
(state, deadline, events, evidence)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow


class CorrectionRequest(Base):
    """更正、删除请求 (Art. 50). Contact details are read only by the answering organisation and
    the operator; an ID number is never stored, only its keyed HMAC-SHA256."""

    __tablename__ = "correction_request"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(
        ForeignKey("workflow_case.id", ondelete="CASCADE"), unique=True)
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    distribution_id: Mapped[str] = mapped_column(
        ForeignKey("distribution.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    # the version the locator was last matched against (re-matched on each new version)
    version_number: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    id_number_hmac: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))  # correct / delete
    what_is_wrong: Mapped[str] = mapped_column(Text)
    # column -> the value it should have (kind correct)
    corrections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # column -> value: which records (1 to the configured maximum must match)
    locator: Mapped[dict[str, Any]] = mapped_column(JSON)
    matched_ids: Mapped[list[int]] = mapped_column(JSON)
    # same contact, distribution and locator: one open request at a time
    dedupe_key: Mapped[str] = mapped_column(String(64), index=True)
    receipt_hint: Mapped[str] = mapped_column(String(20), default="")  # 7KQ2-…-PZ3C
    decision: Mapped[str | None] = mapped_column(String(30))
    decided_ids: Mapped[list[int] | None] = mapped_column(JSON)
    result_version_id: Mapped[str | None] = mapped_column(String(36))
    result_version: Mapped[int | None] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
