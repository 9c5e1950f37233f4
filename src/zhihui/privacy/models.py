"""Privacy tables: what detection found in each version's columns (and what an editor
confirmed), each resource's de-identification policy, and its personal-information impact
assessments (PIPL Art. 55-56). The grade and personal flag live on ``resource`` itself
(``catalog.models.Resource.grade`` / ``.personal``), where the catalogue's rules and facets
read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow


class ColumnClassification(Base):
    """One column of one version, as detection classified it (``source`` = detected) or as an
    editor confirmed or corrected it (``source`` = confirmed). A confirmation is carried over
    to later versions of the same distribution that have a column of the same name."""

    __tablename__ = "privacy_column"
    __table_args__ = (UniqueConstraint("version_id", "column"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("datastore_version.id", ondelete="CASCADE"), index=True)
    distribution_id: Mapped[str] = mapped_column(String(36), index=True)
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    column: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str | None] = mapped_column(String(30))  # detect.RESIDENT_ID … or None
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    sampled: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default="detected")  # detected / confirmed
    confirmed_by: Mapped[str] = mapped_column(String(100), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Policy(Base):
    """A resource's de-identification policy: one rule per column (mask, pseudonym,
    generalise, suppress), the quasi-identifiers and the k below which groups of rows are
    suppressed. ``salt`` makes the resource's pseudonym key; it never changes, so pseudonyms
    stay stable (records can still be joined) across versions and policy changes."""

    __tablename__ = "privacy_policy"

    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    quasi_identifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    k: Mapped[int] = mapped_column(Integer, default=1)
    salt: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class ImpactAssessment(Base):
    """个人信息保护影响评估 (PIPL Art. 55-56): recorded before a resource holding personal
    information is opened or shared, and kept (Art. 56: at least three years) with it."""

    __tablename__ = "privacy_assessment"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(20))  # opening / sharing
    purpose: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    risks: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text, default="")
    # what was assessed, as it stood: the personal columns, the policy, k
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    k: Mapped[int | None] = mapped_column(Integer)
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_on: Mapped[date] = mapped_column(Date)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
