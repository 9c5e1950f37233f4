"""The audit log's rules: append entries, integrate them into the Merkle tree (the
sequencer), sign checkpoints, serve entries and proofs, and verify the whole log.

Entries are written in the caller's transaction (no change without its entry). A separate
step, ``integrate``, takes the committed entries not yet in the tree, in id order, under a
lock, gives each its leaf index, stores the perfect-subtree hashes and signs a checkpoint.
docs/audit.md describes the formats byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from zhihui.core import authz
from zhihui.core.audit import merkle
from zhihui.core.audit.models import AuditCheckpoint, AuditEntry, AuditLogState, AuditNode
from zhihui.core.audit.note import (
    NoteError,
    Signer,
    Verifier,
    checkpoint_text,
    load_key,
    open_checkpoint,
    origin_for,
    parse_checkpoint,
)
from zhihui.core.authz import Actor
from zhihui.core.errors import BadRequest, Message
from zhihui.db import utcnow

LEAF_VERSION = 1
MAX_ENTRIES_PER_PAGE = 1000
INTEGRATE_CHUNK = 5000
LOCK_ID = 0x7A68_6175_6469_74  # pg_advisory_xact_lock key of the sequencer ("zhaudit")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON, keys sorted, no spaces, non-ASCII characters as themselves."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


# --- appending --------------------------------------------------------------------------------


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    org_id: str | None = None,
    content: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (flushed, committed with the change)."""
    entry = AuditEntry(
        created=utcnow(),
        actor_id=actor.user_id,
        actor_name=actor.name,
        token_id=actor.token_id,
        client=actor.client,
        action=action,
        target_type=target_type,
        target_id=target_id,
        org_id=org_id,
        digest=digest(content) if content is not None else None,
        detail=_json_safe(detail or {}),
    )
    session.add(entry)
    return entry


def record_many(session: Session, actor: Actor, records: Iterable[Mapping[str, Any]]) -> int:
    """Append many entries in one statement (imports, bulk jobs). Each record has the keys of
    ``record``: action, target_type, target_id and optionally org_id, content, detail."""
    now = utcnow()
    rows = [
        {
            "created": now,
            "actor_id": actor.user_id,
            "actor_name": actor.name,
            "token_id": actor.token_id,
            "client": actor.client,
            "action": r["action"],
            "target_type": r["target_type"],
            "target_id": r.get("target_id"),
            "org_id": r.get("org_id"),
            "digest": digest(r["content"]) if r.get("content") is not None else None,
            "detail": r.get("detail") or {},  # JSON values only (the fast path)
        }
        for r in records
    ]
    if rows:  # Core, not the ORM: several times faster for large batches
        session.connection().execute(insert(AuditEntry.__table__), rows)
    return len(rows)


def record_read(
    session: Session,
    actor: Actor,
    target_type: str,
    target_id: str | None,
    *,
    org_id: str | None = None,
    content: Any = None,
    rows: int | None = None,
    size: int | None = None,
    action: str = "data.read",
    detail: dict[str, Any] | None = None,
) -> None:
    """Log a read of data (download, query, preview, API call returning records).

    A signed-in reader gets one entry per read, with the digest of what was returned.
    Anonymous reads (open data) are aggregated: one entry per client, action, target and
    UTC minute, whose detail counts the reads, rows and bytes; it is updated in place until
    the sequencer integrates it, then a new one starts."""
    extra = dict(detail or {})
    if rows is not None:
        extra["rows"] = rows
    if size is not None:
        extra["bytes"] = size
    if not actor.is_anonymous:
        record(session, actor, action, target_type, target_id, org_id=org_id,
               content=content, detail=extra)
        return
    minute = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
    if _add_to_tally(session, actor, action, target_type, target_id, minute, rows or 0,
                     size or 0):
        return
    record(session, actor, action, target_type, target_id, org_id=org_id,
           detail={**extra, "minute": minute, "count": 1, "rows": rows or 0,
                   "bytes": size or 0})


def _add_to_tally(
    session: Session, actor: Actor, action: str, target_type: str, target_id: str | None,
    minute: str, rows: int, size: int,
) -> bool:
    """Add one read to this minute's open (not yet integrated) tally in one statement."""
    params = {"action": action, "tt": target_type, "tid": target_id, "client": actor.client,
              "minute": minute, "rows": rows, "size": size}
    find = (
        "SELECT id FROM audit_entry WHERE leaf_index IS NULL AND actor_id IS NULL"
        " AND action = :action AND target_type = :tt"
        " AND (target_id = :tid OR (target_id IS NULL AND :tid IS NULL))"
        " AND (client = :client OR (client IS NULL AND :client IS NULL))"
    )
    if session.get_bind().dialect.name == "sqlite":
        sql = (
            "UPDATE audit_entry SET detail = json_set(detail,"
            " '$.count', json_extract(detail, '$.count') + 1,"
            " '$.rows', json_extract(detail, '$.rows') + :rows,"
            " '$.bytes', json_extract(detail, '$.bytes') + :size)"
            f" WHERE leaf_index IS NULL AND id = ({find}"
            " AND json_extract(detail, '$.minute') = :minute ORDER BY id DESC LIMIT 1)"
        )
    else:
        sql = (
            "UPDATE audit_entry SET detail = (detail::jsonb || jsonb_build_object("
            " 'count', (detail->>'count')::bigint + 1,"
            " 'rows', (detail->>'rows')::bigint + CAST(:rows AS bigint),"
            " 'bytes', (detail->>'bytes')::bigint + CAST(:size AS bigint)))::json"
            " WHERE leaf_index IS NULL AND id = ("
            + find.replace(":tid", "CAST(:tid AS varchar)").replace(
                ":client", "CAST(:client AS varchar)")
            + " AND detail->>'minute' = :minute ORDER BY id DESC LIMIT 1)"
        )
    return bool(session.execute(text(sql), params).rowcount)


def _json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """The detail as the JSON column will return it, so the leaf bytes never change."""
    return json.loads(canonical_json(value))


# --- the canonical leaf -----------------------------------------------------------------------


def leaf_fields(e: Any) -> dict[str, Any]:
    """The fields an entry's leaf commits to (docs/audit.md: "The leaf")."""
    return {
        "v": LEAF_VERSION,
        "id": e.id,
        "time": e.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": e.actor_id,
        "actor_name": e.actor_name,
        "token_id": e.token_id,
        "client": e.client,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "org_id": e.org_id,
        "digest": e.digest,
        "detail": e.detail if e.detail is not None else {},
    }


def leaf_bytes(e: Any) -> bytes:
    return canonical_json(leaf_fields(e))


# --- keys and the log's identity --------------------------------------------------------------


@dataclass(frozen=True)
class LogKey:
    """The log's signing key and the origin a new log takes (from ZHIHUI_SITE_URL)."""

    home: Path
    default_origin: str

    def signer(self, origin: str) -> Signer:
        return Signer(origin, load_key(self.home))


@lru_cache(maxsize=16)
def _log_key(home: str, site_url: str) -> LogKey:
    return LogKey(Path(home), origin_for(site_url))


def log_key(settings: Any) -> LogKey:
    return _log_key(str(Path(settings.home).resolve()), settings.site_url)


def _state(session: Session) -> AuditLogState | None:
    return session.get(AuditLogState, 1, populate_existing=True)


def origin(session: Session, key: LogKey) -> str:
    state = _state(session)
    return state.origin if state else key.default_origin


def verifier(session: Session, key: LogKey) -> Verifier:
    return key.signer(origin(session, key)).verifier


def tree_size(session: Session) -> int:
    state = _state(session)
    return state.tree_size if state else 0


# --- the sequencer ----------------------------------------------------------------------------


def _lock(session: Session) -> None:
    """One sequencer at a time: PostgreSQL's advisory lock, SQLite's write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})
    else:
        # Any write takes SQLite's one write lock until commit, even one matching no row.
        session.execute(update(AuditLogState).where(AuditLogState.id == 1)
                        .values(tree_size=AuditLogState.tree_size))


def pending(session: Session) -> int:
    """Committed entries not yet in the tree."""
    return session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.leaf_index.is_(None))
    ) or 0


def _nodes(session: Session, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
    by_level: dict[int, list[int]] = {}
    for level, idx in keys:
        by_level.setdefault(level, []).append(idx)
    if not by_level:
        return {}
    cond = or_(*[and_(AuditNode.level == lvl, AuditNode.idx.in_(idxs))
                 for lvl, idxs in by_level.items()])
    rows = session.execute(select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(cond))
    return {(lvl, idx): bytes(h) for lvl, idx, h in rows}


def integrate(session: Session, key: LogKey, *, limit: int | None = None) -> AuditCheckpoint:
    """Append the committed, not yet integrated entries as leaves, in id order, and sign a
    checkpoint if the tree grew (or none exists). The caller commits."""
    _lock(session)
    state = _state(session)
    if state is None:
        state = AuditLogState(id=1, origin=key.default_origin, tree_size=0, updated=utcnow())
        session.add(state)
        session.flush()
    size = state.tree_size
    frontier = _nodes(session, merkle.root_plan(size))
    tree = merkle.CompactRange(size, [frontier[k] for k in merkle.root_plan(size)])
    table = AuditEntry.__table__
    while limit is None or tree.size - size < limit:
        chunk = INTEGRATE_CHUNK if limit is None else min(INTEGRATE_CHUNK,
                                                          limit - (tree.size - size))
        # FOR UPDATE (PostgreSQL): an open read tally cannot change under us.
        entries = session.execute(
            select(table).where(table.c.leaf_index.is_(None)).order_by(table.c.id)
            .limit(chunk).with_for_update()
        ).all()
        if not entries:
            break
        leaves, nodes = [], []
        for e in entries:
            leaves.append({"entry_id": e.id, "index": tree.size})
            for level, idx, h in tree.append(merkle.leaf_hash(leaf_bytes(e))):
                nodes.append({"level": level, "idx": idx, "hash": h})
        conn = session.connection()
        conn.execute(update(table).where(table.c.id == bindparam("entry_id"))
                     .values(leaf_index=bindparam("index")), leaves)
        conn.execute(insert(AuditNode.__table__), nodes)
    latest = latest_checkpoint(session)
    if latest is not None and latest.tree_size == tree.size:
        return latest
    root = tree.root()
    signer = key.signer(state.origin)
    cp = AuditCheckpoint(tree_size=tree.size, root_hash=root, created=utcnow(),
                         note=signer.sign(checkpoint_text(state.origin, tree.size, root)))
    session.add(cp)
    state.tree_size = tree.size
    state.updated = utcnow()
    session.flush()
    return cp


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc(),
                                         AuditCheckpoint.id.desc()).limit(1)
    )


def current_checkpoint(session: Session, key: LogKey) -> AuditCheckpoint:
    """The latest checkpoint; the first one is signed on demand (and committed)."""
    cp = latest_checkpoint(session)
    if cp is None:
        cp = integrate(session, key)
        session.commit()
    return cp


# --- reading entries and proofs ---------------------------------------------------------------


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _size_error(key: str, **params: Any) -> BadRequest:
    return BadRequest(f"audit.error.{key}", **params)


def entries(session: Session, actor: Actor, start: int, end: int | None = None) -> list[dict]:
    """Leaves [start, end) (at most 1000): every leaf hash; the canonical bytes and the
    fields only where ``audit.read_entry`` allows, so anyone can rebuild the tree."""
    size = tree_size(session)
    if start < 0 or start >= size:
        raise _size_error("start_range", start=start, size=size)
    if end is None:
        end = start + 100
    if end <= start:
        raise _size_error("end_before_start", start=start, end=end)
    end = min(end, size, start + MAX_ENTRIES_PER_PAGE)
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.leaf_index >= start, AuditEntry.leaf_index < end)
        .order_by(AuditEntry.leaf_index)
    ).all()
    stored = {
        idx: bytes(h) for idx, h in session.execute(
            select(AuditNode.idx, AuditNode.hash).where(
                AuditNode.level == 0, AuditNode.idx >= start, AuditNode.idx < end))
    }
    by_index = {e.leaf_index: e for e in rows}
    out = []
    for i in range(start, end):
        item: dict[str, Any] = {"index": i, "leaf_hash": _b64(stored.get(i, b""))}
        e = by_index.get(i)
        if e is not None and authz.can(actor, "audit.read_entry", e):
            item["leaf"] = _b64(leaf_bytes(e))
            item.update(leaf_fields(e))
        else:
            item["redacted"] = True
        out.append(item)
    return out


def inclusion_proof(session: Session, index: int, size: int | None = None) -> dict[str, Any]:
    current = tree_size(session)
    if size is None:
        size = current
    if size <= 0:
        raise _size_error("size_zero")
    if size > current:
        raise _size_error("size_ahead", size=size, current=current)
    if not 0 <= index < size:
        raise _size_error("index_range", index=index, size=size)
    plan = merkle.inclusion_plan(index, size)
    nodes = _nodes(session, merkle.plan_keys(plan) | {(0, index)})
    return {"index": index, "tree_size": size, "leaf_hash": _b64(nodes[(0, index)]),
            "proof": [_b64(h) for h in merkle.resolve(plan, nodes)]}


def consistency_proof(session: Session, first: int, second: int) -> dict[str, Any]:
    current = tree_size(session)
    if first <= 0 or second <= 0:
        raise _size_error("size_zero")
    if first > second:
        raise _size_error("sizes_reversed", first=first, second=second)
    if second > current:
        raise _size_error("size_ahead", size=second, current=current)
    plan = merkle.consistency_plan(first, second)
    nodes = _nodes(session, merkle.plan_keys(plan))
    return {"first": first, "second": second,
            "proof": [_b64(h) for h in merkle.resolve(plan, nodes)]}


def root_at(session: Session, size: int) -> bytes:
    keys = merkle.root_plan(size)
    nodes = _nodes(session, keys)
    return merkle.fold([nodes[k] for k in keys]) if keys else merkle.EMPTY_ROOT


def entries_about(session: Session, actor: Actor, limit: int = 50) -> list[AuditEntry]:
    """The latest entries the actor may read: all for the operator and auditors, else those
    about the actor's organisations' resources and the actor's own."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if not authz.can(actor, "audit.read_all"):
        conds = []
        if actor.memberships:
            conds.append(AuditEntry.org_id.in_(list(actor.memberships)))
        if actor.user_id:
            conds.append(AuditEntry.actor_id == actor.user_id)
        if not conds:
            return []
        q = q.where(or_(*conds))
    return list(session.scalars(q))


# --- verification -----------------------------------------------------------------------------


@dataclass
class VerifyReport:
    tree_size: int = 0
    pending: int = 0
    checkpoints: int = 0
    problems: list[Message] = field(default_factory=list)
    first_bad_entry: int | None = None  # entry id
    first_bad_index: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, key: str, **params: Any) -> None:
        self.problems.append(Message(f"audit.verify.{key}", params))


def verify_log(session: Session, key: LogKey, chunk: int = 10000) -> VerifyReport:
    """Rebuild the tree from the entries; compare every leaf and interior hash stored, and
    every stored checkpoint's signature and root. Names the first entry that differs."""
    report = VerifyReport(tree_size=tree_size(session), pending=pending(session))
    vk = verifier(session, key)
    checkpoints = list(session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size, AuditCheckpoint.id)))
    report.checkpoints = len(checkpoints)
    due: dict[int, list[AuditCheckpoint]] = {}
    for cp in checkpoints:
        try:
            signed = open_checkpoint(cp.note, vk)
        except NoteError:
            report.add("checkpoint_signature", id=cp.id, size=cp.tree_size)
            continue
        if signed.size != cp.tree_size or signed.root != bytes(cp.root_hash):
            report.add("checkpoint_columns", id=cp.id, size=cp.tree_size)
        due.setdefault(signed.size, []).append(cp)

    def check_roots(size: int, root: bytes) -> None:
        for cp in due.pop(size, []):
            if bytes(cp.root_hash) != root:
                report.add("checkpoint_root", id=cp.id, size=size)

    tree = merkle.CompactRange()
    made: dict[merkle.Key, bytes] = {}

    def append(leaf: bytes) -> None:
        for level, idx, h in tree.append(leaf):
            if level:
                made[(level, idx)] = h
        if tree.size in due:
            check_roots(tree.size, tree.root())

    check_roots(0, tree.root())
    table = AuditEntry.__table__
    expected = 0
    while True:
        rows = session.execute(
            select(table).where(table.c.leaf_index >= expected)
            .order_by(table.c.leaf_index).limit(chunk)
        ).all()
        if not rows:
            break
        stored = {
            idx: bytes(h) for idx, h in session.execute(
                select(AuditNode.idx, AuditNode.hash).where(
                    AuditNode.level == 0, AuditNode.idx >= expected,
                    AuditNode.idx <= rows[-1].leaf_index))
        }
        made.clear()
        for e in rows:
            while expected < e.leaf_index:  # a leaf whose entry is gone
                report.add("entry_missing", index=expected)
                _note_first(report, None, expected)
                append(stored.get(expected, b""))
                expected += 1
            h = merkle.leaf_hash(leaf_bytes(e))
            if stored.get(e.leaf_index) != h:
                report.add("entry_differs", id=e.id, index=e.leaf_index)
                _note_first(report, e.id, e.leaf_index)
            append(h)
            expected += 1
        _check_interior(session, made, report)
    if expected < report.tree_size:
        report.add("entries_short", have=expected, size=report.tree_size)
        _note_first(report, None, expected)
    for size in sorted(due):
        report.add("checkpoint_ahead", size=size, have=tree.size)
    if tree.size == report.tree_size and report.tree_size and (
        root_at(session, report.tree_size) != tree.root()
    ):
        report.add("stored_root")
    return report


def _note_first(report: VerifyReport, entry_id: int | None, index: int) -> None:
    if report.first_bad_index is None or index < report.first_bad_index:
        report.first_bad_index, report.first_bad_entry = index, entry_id


def _check_interior(session: Session, made: dict[merkle.Key, bytes],
                    report: VerifyReport) -> None:
    """Compare the interior hashes rebuilt from this chunk with the stored ones."""
    by_level: dict[int, list[int]] = {}
    for level, idx in made:
        by_level.setdefault(level, []).append(idx)
    for level, idxs in sorted(by_level.items()):
        rows = session.execute(select(AuditNode.idx, AuditNode.hash).where(
            AuditNode.level == level, AuditNode.idx >= min(idxs), AuditNode.idx <= max(idxs)))
        stored = {idx: bytes(h) for idx, h in rows}
        for idx in sorted(idxs):
            if stored.get(idx) != made[(level, idx)]:
                report.add("node_differs", level=level, index=idx)
                break


def verify_checkpoint(session: Session, key: LogKey, note: str) -> VerifyReport:
    """Is a checkpoint saved earlier (by anyone) consistent with today's log?"""
    report = VerifyReport(tree_size=tree_size(session), pending=pending(session))
    ours = verifier(session, key)
    try:
        cp, _, signatures = parse_checkpoint(note)
    except NoteError as exc:
        report.add("note_malformed", reason=str(exc))
        return report
    if cp.origin != ours.name or not any(n == ours.name and k == ours.key_id
                                         for n, k, _ in signatures):
        report.add("other_log", origin=cp.origin, ours=ours.name)
        return report
    try:
        open_checkpoint(note, ours)
    except NoteError:
        report.add("note_signature")
        return report
    report.checkpoints = 1
    current = report.tree_size
    if cp.size > current:
        report.add("checkpoint_ahead", size=cp.size, have=current)
        return report
    if cp.size == 0:
        return report
    if root_at(session, cp.size) != cp.root:
        report.add("inconsistent", size=cp.size)
        return report
    proof = [base64.b64decode(p) for p in consistency_proof(session, cp.size, current)["proof"]]
    if not merkle.verify_consistency(cp.size, current, cp.root, root_at(session, current), proof):
        report.add("inconsistent", size=cp.size)
    return report


def decode_proof(items: Sequence[str]) -> list[bytes]:
    return [base64.b64decode(p) for p in items]


def sequence_once(database: Any, key: LogKey) -> AuditCheckpoint | None:
    """One round of the sequencer in its own transaction, if entries wait."""
    with database.session() as s:
        if not pending(s):
            return None
        return integrate(s, key)
