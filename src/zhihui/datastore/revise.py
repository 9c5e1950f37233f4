"""Making a version from the previous one with some records corrected or deleted (Art. 50: an
accepted request to correct or delete becomes a new version of the data).

The current version's Parquet is read in DuckDB, the change applied by ``_id`` (which a
revision keeps, so a record is the same record in both versions), and the result written as a
new version through ``versions.publish_version``, the same atomic publish as an ingest: the
version row, the distribution's facts, the audit entry and ``datastore.version_published``
join the caller's transaction. The previous versions stay as they were (immutable)."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.core.authz import Actor, require
from zhihui.core.errors import Conflict, FieldErrors, NotFound
from zhihui.datastore import infer, query, versions
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import DATA_FILE, Storage, relation

MEMORY = "1GB"


def current_version(session: Session, distribution_id: str) -> DatastoreVersion:
    v = session.scalar(select(DatastoreVersion).where(
        DatastoreVersion.distribution_id == distribution_id)
        .order_by(DatastoreVersion.number.desc()).limit(1))
    if v is None:
        raise NotFound("datastore.not_active", id=distribution_id[:100])
    return v


def typed_values(columns: list[dict[str, Any]], values: Mapping[str, Any],
                 field_prefix: str = "corrections") -> dict[str, Any]:
    """Text from a person, as values of the columns' types (an empty text is NULL); a value
    that is not one, or a column that does not exist, is a field error naming it."""
    kinds = {c["id"]: c["type"] for c in columns}
    errors = FieldErrors()
    out: dict[str, Any] = {}
    con = duckdb.connect(":memory:")
    try:
        for name, raw in values.items():
            field = f"{field_prefix}.{name}"[:100]
            if name == "_id" or name not in kinds:
                errors.add(field, "datastore.field_unknown", field=name[:100])
                continue
            text = "" if raw is None else str(raw).strip()
            if text == "":
                out[name] = None
                continue
            kind = kinds[name]
            value = con.execute(f"SELECT {infer.cast(kind, 'v', 'v')} FROM (SELECT ?::VARCHAR "
                                "AS v)", [text]).fetchone()[0]
            if value is None:
                errors.add(field, "datastore.filter_value", column=name[:100], type=kind,
                           value=text[:100])
                continue
            out[name] = value
    finally:
        con.close()
    errors.raise_if_any()
    return out


def revise(
    session: Session, actor: Actor, distribution_id: str, *, data_root: Path,
    corrections: Mapping[int, Mapping[str, Any]] | None = None,
    deletions: Iterable[int] = (), reason: str, link: dict[str, Any] | None = None,
    expect_version: int | None = None,
) -> DatastoreVersion:
    """A new version of ``distribution_id``: the records ``_id`` in ``deletions`` removed, and
    for each ``_id`` in ``corrections`` the named columns set to the given values (text,
    converted to the column's type). ``reason`` and ``link`` (e.g. the request it answers) go
    into the version's report and the audit entry. With ``expect_version``, refuses (409) if
    the current version is no longer that one. Every ``_id`` must exist in the current
    version (409 otherwise): nothing is half-applied."""
    corrections = {int(k): dict(v) for k, v in (corrections or {}).items()}
    deletions = sorted({int(i) for i in deletions})
    d, r = catalog.get_distribution(session, actor, distribution_id)
    require(actor, "resource.update", r)
    previous = current_version(session, d.id)
    if expect_version is not None and previous.number != expect_version:
        raise Conflict("datastore.revise_stale", expected=expect_version,
                       current=previous.number)
    typed = {i: typed_values(previous.columns, v) for i, v in corrections.items()}
    storage = Storage(data_root)
    source = storage.data_file(previous.path)
    work = storage.work_dir()
    con = duckdb.connect(":memory:", config={
        "memory_limit": MEMORY, "temp_directory": str(work / "spill"),
        "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute(f"CREATE TABLE t AS SELECT * FROM {relation(source)}")
        wanted = sorted(set(deletions) | set(typed))
        if wanted:
            found = {row[0] for row in con.execute(
                "SELECT _id FROM t WHERE _id IN (SELECT unnest(?::BIGINT[]))",
                [wanted]).fetchall()}
            missing = [i for i in wanted if i not in found]
            if missing:
                raise Conflict("datastore.revise_missing", ids=", ".join(map(str, missing[:20])),
                               version=previous.number)
        if deletions:
            con.execute("DELETE FROM t WHERE _id IN (SELECT unnest(?::BIGINT[]))", [deletions])
        for record_id, values in typed.items():
            if record_id in deletions:
                continue
            for column, value in values.items():
                con.execute(f"UPDATE t SET {infer.quote(column)} = ? WHERE _id = ?",
                            [value, record_id])
        out = work / "version"
        out.mkdir()
        target = out / DATA_FILE
        con.execute(f"COPY (SELECT * FROM t ORDER BY _id) TO {query._literal(str(target))} "
                    "(FORMAT parquet, COMPRESSION zstd)")
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
        con.close()
        sha256 = _sha256(target)
        size = target.stat().st_size
        storage.keep_original(target, sha256)
        changed = sorted(i for i in typed if i not in deletions)
        revision = {"reason": reason[:500], "previous_version": previous.number,
                    "corrected": changed, "deleted": deletions,
                    "columns": sorted({c for i in changed for c in typed[i]}),
                    **({"link": link} if link else {})}
        before = previous.report or {}
        report = {"rows_read": rows, "rows_loaded": rows, "rows_rejected": 0, "rejected": [],
                  "cells_rejected": [], "columns": before.get("columns", []),
                  "source": {"format": "revision", "previous_version": previous.number},
                  "revision": revision}
        return versions.publish_version(
            session, actor, d, r, out, data_root=data_root, sha256=sha256,
            filename=f"revision-of-v{previous.number}.parquet", source_format="parquet",
            encoding="", size=size, rows=rows, columns=list(previous.columns), report=report,
            data_items=None, action="datastore.revise",
            content={"sha256": sha256, "revision": revision},
            detail={"rows": rows, "reason": reason[:200], "previous_version": previous.number,
                    "corrected": len(changed), "deleted": len(deletions),
                    **({"link": link} if link else {})})
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()
        shutil.rmtree(work, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
