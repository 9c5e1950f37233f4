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


class DatastoreJob(Base):
    """A background ingest: the upload is stored first, then any worker process takes the job
    from this table (the queue) and makes the version. ``state``: queued -> running ->
    succeeded / failed; a running job whose ``heartbeat`` stops is stale (its process died)
    and is queued again or failed (``jobs.recover_stale``)."""

    __tablename__ = "datastore_job"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    distribution_id: Mapped[str] = mapped_column(
        ForeignKey("distribution.id", ondelete="CASCADE"), index=True
    )
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="ingest")
    state: Mapped[str] = mapped_column(String(20), index=True, default="queued")
    stage: Mapped[str] = mapped_column(String(20), default="")  # receive transcode parse …
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    # the stored upload, relative to data_root (its work folder), and how to read it
    upload_path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    distribution_changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # CKAN: url, url_type
    # why it failed: a message key of the catalogues, its parameters, per-field messages
    error_key: Mapped[str] = mapped_column(String(100), default="")
    error_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    version_id: Mapped[str | None] = mapped_column(String(36))
    version_number: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(100), default="")
    heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
