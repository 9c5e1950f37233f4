"""The audit log's tables: entries (append-only rows), the perfect-subtree hashes of the Merkle
tree over them, signed checkpoints, and the one-row state the sequencer locks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhihui.db import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEntry(Base):
    """One read or change. Written in the caller's transaction; ``leaf_index`` is set later,
    once, by the sequencer (``service.integrate``), when the entry becomes a leaf."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_name: Mapped[str] = mapped_column(String(100))
    token_id: Mapped[str | None] = mapped_column(String(36))
    client: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64), index=True)
    org_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # sha256 of what was changed or returned, in canonical JSON.
    digest: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Position in the Merkle tree; NULL until the sequencer integrates the entry.
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class AuditNode(Base):
    """The hash of the perfect subtree over leaves [idx * 2**level, (idx + 1) * 2**level):
    level 0 holds the leaf hashes. Proofs read O(log n) of these rows."""

    __tablename__ = "audit_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed tree head, kept so that ``zhihui audit verify`` can check every one."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str] = mapped_column(Text)


class AuditLogState(Base):
    """One row (id 1): the log's origin, fixed when the log starts, and its integrated size.
    The sequencer holds this row's lock while it appends."""

    __tablename__ = "audit_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
