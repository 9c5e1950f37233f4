"""Datastore tables: one row per immutable version of a distribution's data. The data itself
lives in Parquet files under ``settings.data_root`` (see ``storage.py``); a row exists only once
its files are in place, so a version that is listed can always be read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow


class DatastoreVersion(Base):
    """版本: an immutable snapshot of a distribution's table. Never updated after insert."""

    __tablename__ = "datastore_version"
    __table_args__ = (UniqueConstraint("distribution_id", "number"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    distribution_id: Mapped[str] = mapped_column(
        ForeignKey("distribution.id", ondelete="CASCADE"), index=True
    )
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # the uploaded original, stored content-addressed under data_root/_originals/
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300), default="")
    source_format: Mapped[str] = mapped_column(String(20))  # csv tsv xlsx xls json ndjson parquet
    encoding: Mapped[str] = mapped_column(String(20), default="")
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of the original
    rows: Mapped[int] = mapped_column(BigInteger)
    # [{"id", "type" (integer decimal boolean date datetime text), "item_type" (C N D T L),
    #   "length", "source_name"}]
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validation report
    path: Mapped[str] = mapped_column(String(300))  # relative to data_root
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
