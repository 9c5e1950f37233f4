"""Making versions: one ``ingest`` for every door (CLI, CKAN upload, /api/v1, background
jobs). The files are written under a temporary name and published atomically; the version row,
``datastore_active``, the resource's data items and the audit entry join the caller's
transaction, and ``datastore.version_published`` is announced to the modules that listen
(privacy scans it, exchange tells subscribers). A failure leaves the previous version current."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource
from zhihui.core import audit, events
from zhihui.core.authz import Actor, require
from zhihui.core.errors import ValidationFailed
from zhihui.datastore import infer, query
from zhihui.datastore import ingest as reading
from zhihui.datastore.ingest import Loaded, Progress, bad_file
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import DATA_FILE, Storage
from zhihui.db import new_id, utcnow

SAMPLE_ROWS = 10_000
INGEST_MEMORY = "1GB"  # DuckDB spills to the work folder beyond this: bounded memory
MAX_DATA_ITEMS = 500  # catalog.schemas.ResourceIn.data_items


@dataclass
class IngestOptions:
    """How to read an upload; every field has a detected default."""

    format: str | None = None  # csv tsv xlsx xls json ndjson parquet
    sheet: str | int | None = None  # XLSX/XLS: name or 1-based number; default the first
    encoding: str | None = None  # default: detected (utf-8, utf-8-sig, gb18030, big5, utf-16)
    delimiter: str | None = None  # default: sniffed
    header_row: int | None = None  # 1-based; default: detected under title rows
    types: dict[str, str] = field(default_factory=dict)  # column -> type: an editor's override
    max_rejected: float = 0.01  # share of unreadable rows above which the upload fails
    progress: Progress | None = None


# --- ingest ----------------------------------------------------------------------------------


def ingest(
    session: Session, actor: Actor, resource_id: str, source: Path | str | BinaryIO,
    filename: str = "", options: IngestOptions | None = None, *, data_root: Path,
    distribution: dict[str, Any] | None = None,
) -> DatastoreVersion:
    """Read an upload into a new immutable version of the distribution ``resource_id``.

    The files are written under a temporary name and renamed into place; the version row (and
    ``datastore_active``, the resource's data items, the audit entry) are added to the
    caller's transaction afterwards. A failure leaves the previous version current."""
    options = options or IngestOptions()
    d, r = catalog.get_distribution(session, actor, resource_id)
    require(actor, "resource.update", r)
    for name, kind in options.types.items():
        if kind not in infer.TYPES:
            raise ValidationFailed(fields={f"types.{name}"[:100]: [
                reading.Message("field.choice", {"choices": ", ".join(infer.TYPES)})]})
    storage = Storage(data_root)
    work = storage.work_dir()
    published: str | None = None
    con = duckdb.connect(":memory:", config={
        "memory_limit": INGEST_MEMORY, "temp_directory": str(work / "spill"),
        "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        progress = options.progress
        if isinstance(source, str | Path):
            with open(source, "rb") as f:
                upload, sha256, size = _receive(storage, f, work, progress, Path(source))
            filename = filename or Path(source).name
        else:
            upload, sha256, size = _receive(storage, source, work, progress, None)
        fmt = reading.detect_format(upload, filename, options.format)
        loaded = _load(con, upload, work, fmt, options, size)
        rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
        _check_rejects(loaded, rows, options.max_rejected)
        if progress:
            progress("infer", 0, 0)
        kinds = _infer(con, loaded.names, options.types)
        out = work / "version"
        out.mkdir()
        stats, cell_rejects = _write(con, loaded.names, kinds, out / DATA_FILE)
        columns = [
            {"id": name, "type": kinds[i], "item_type": infer.ITEM_TYPE[kinds[i]],
             "length": stats[i]["max_length"] or None}
            for i, name in enumerate(loaded.names)
        ]
        report = _report(loaded, rows, columns, stats, cell_rejects)
        con.close()

        number = (session.scalar(select(func.max(DatastoreVersion.number)).where(
            DatastoreVersion.distribution_id == d.id)) or 0) + 1
        version_id = new_id()
        published = storage.publish(out, d.id, version_id)
        storage.keep_original(upload, sha256)
        version = DatastoreVersion(
            id=version_id, distribution_id=d.id, resource_id=r.id, number=number,
            sha256=sha256, filename=(filename or "")[:300], source_format=loaded.source_format,
            encoding=loaded.encoding, size=size, rows=rows, columns=columns, report=report,
            path=published, created=utcnow(), actor_id=actor.user_id, actor_name=actor.name)
        session.add(version)
        session.flush()
        catalog.datastore_published(
            session, actor, d.id, _data_items(r, columns),
            size=size, hash=f"sha256:{sha256}", **(distribution or {}))
        audit.record(session, actor, "datastore.ingest", "distribution", d.id,
                     org_id=r.owner_org_id,
                     content={"sha256": sha256, "columns": columns, "rows": rows},
                     detail={"version": number, "resource_id": r.id,
                             "filename": (filename or "")[:200], "rows": rows,
                             "rows_rejected": report["rows_rejected"]})
        session.flush()
        events.emit(session, "datastore.version_published", actor=actor, version=version,
                    resource=r, data_root=data_root)
        return version
    except duckdb.Error as exc:
        if published:
            storage.discard(published)
        raise bad_file("datastore.unreadable", detail=str(exc).splitlines()[0][:200]) from None
    except BaseException:
        if published:
            storage.discard(published)
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()
        shutil.rmtree(work, ignore_errors=True)


def _receive(storage: Storage, f: BinaryIO, work: Path, progress: Progress | None,
             path: Path | None) -> tuple[Path, str, int]:
    total = path.stat().st_size if path else 0
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("receive", done, total)

    return storage.receive(f, work, step)


def _load(con: duckdb.DuckDBPyConnection, path: Path, work: Path, fmt: str,
          options: IngestOptions, size: int) -> Loaded:
    if fmt in ("csv", "tsv"):
        return reading.load_csv(con, path, work, tsv=fmt == "tsv", encoding=options.encoding,
                                delimiter=options.delimiter, header_row=options.header_row,
                                progress=options.progress, size=size)
    if fmt == "xlsx":
        return reading.load_xlsx(con, path, sheet=options.sheet, header_row=options.header_row,
                                 progress=options.progress)
    if fmt == "xls":
        return reading.load_xls(con, path, sheet=options.sheet, header_row=options.header_row,
                                progress=options.progress)
    if fmt in ("json", "ndjson"):
        return reading.load_json(con, path, fmt, options.progress)
    return reading.load_parquet(con, path)


def _check_rejects(loaded: Loaded, rows: int, max_rejected: float) -> None:
    read = rows + loaded.rows_rejected
    if rows == 0 and not loaded.rows_rejected:
        raise bad_file("datastore.no_rows")
    if loaded.rows_rejected and loaded.rows_rejected > max_rejected * read:
        first = loaded.rejected[0]
        raise bad_file(f"datastore.row_{first['reason']}", row=first["row"],
                       count=loaded.rows_rejected, column=first.get("column") or "",
                       width=len(loaded.names))


def _infer(con: duckdb.DuckDBPyConnection, names: list[str], overrides: dict[str, str]
           ) -> list[str]:
    """Each column's type: candidates from a sample, verified over the whole column."""
    width = len(names)
    exprs = []
    for i in range(width):
        v = infer.cell(f"c{i}")
        exprs.append(f"count({v})")
        exprs.append(f"count(*) FILTER (WHERE {v} IS NOT NULL AND {infer.mobile(v)})")
        for kind in infer.PREFERENCE[:-1]:
            exprs.append(f"count(*) FILTER (WHERE {v} IS NOT NULL AND {infer.matches(kind, v)})")
    per = 2 + len(infer.PREFERENCE) - 1
    sample = con.execute(
        f"SELECT {', '.join(exprs)} FROM (SELECT * FROM raw LIMIT {SAMPLE_ROWS})").fetchone()
    options: list[list[str]] = []
    for i, name in enumerate(names):
        got = sample[i * per:(i + 1) * per]
        counts = dict(zip(infer.PREFERENCE[:-1], got[2:], strict=True))
        options.append(infer.candidates(name, counts, got[0], got[1]))
    chosen = [opts[0] for opts in options]
    for i, name in enumerate(names):
        if name in overrides:
            chosen[i] = overrides[name]
            options[i] = [overrides[name]]
    # verify over every row; a column broken by a later cell falls to its next candidate
    while True:
        checks = [(i, chosen[i]) for i in range(width)
                  if chosen[i] != "text" and names[i] not in overrides]
        if not checks:
            return chosen
        exprs = []
        for i, kind in checks:
            v = infer.cell(f"c{i}")
            exprs.append(f"count(*) FILTER (WHERE {v} IS NOT NULL AND NOT "
                         f"{infer.matches(kind, v)})")
        failures = con.execute(f"SELECT {', '.join(exprs)} FROM raw").fetchone()
        broken = [i for (i, _), n in zip(checks, failures, strict=True) if n]
        if not broken:
            return chosen
        for i in broken:
            options[i] = options[i][1:] or ["text"]
            chosen[i] = options[i][0]


def _write(con: duckdb.DuckDBPyConnection, names: list[str], kinds: list[str], target: Path
           ) -> tuple[list[dict[str, int]], list[dict[str, Any]]]:
    """Statistics per column, cells an override could not read, then the Parquet file."""
    width = len(names)
    exprs = []
    for i in range(width):
        v = infer.cell(f"c{i}")
        exprs += [f"count({v})", f"approx_count_distinct({v})",
                  f"coalesce(max(length(c{i})), 0)"]
    got = con.execute(f"SELECT count(*), {', '.join(exprs)} FROM raw").fetchone()
    rows = got[0]
    stats = []
    for i in range(width):
        non_null, distinct, max_length = got[1 + 3 * i: 4 + 3 * i]
        distinct = min(distinct, non_null)
        stats.append({"nulls": rows - non_null, "distinct": distinct,
                      "duplicates": max(0, non_null - distinct), "max_length": max_length})
    cell_rejects: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        if kind == "text":
            continue
        v = infer.cell(f"c{i}")
        bad = con.execute(
            f"SELECT rowid + 1, c{i} FROM raw WHERE {v} IS NOT NULL AND "
            f"{infer.cast(kind, v, f'c{i}')} IS NULL ORDER BY rowid LIMIT "
            f"{reading.MAX_REJECTS_LISTED}").fetchall()
        for record, value in bad:
            cell_rejects.append({"record": record, "column": names[i], "value": value[:200],
                                 "reason": f"not_{kind}"})
    selects = ["rowid + 1 AS _id"] + [
        f"{infer.cast(kind, infer.cell(f'c{i}'), f'c{i}')} AS {infer.quote(names[i])}"
        for i, kind in enumerate(kinds)]
    con.execute(f"COPY (SELECT {', '.join(selects)} FROM raw ORDER BY rowid) TO "
                f"{query._literal(str(target))} (FORMAT parquet, COMPRESSION zstd)")
    return stats, cell_rejects


def _report(loaded: Loaded, rows: int, columns: list[dict[str, Any]],
            stats: list[dict[str, int]], cell_rejects: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rows_read": rows + loaded.rows_rejected,
        "rows_loaded": rows,
        "rows_rejected": loaded.rows_rejected,
        "rejected": loaded.rejected,
        "cells_rejected": cell_rejects,
        "columns": [{**c, **s} for c, s in zip(columns, stats, strict=True)],
        "source": {"format": loaded.source_format, "encoding": loaded.encoding,
                   "delimiter": loaded.delimiter, "header_row": loaded.header_row,
                   "sheet": loaded.sheet, "sheets": loaded.sheets},
    }


def _data_items(r: Resource, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The columns as 信息项, keeping what an editor wrote about a column of the same name."""
    known = {i.get("name"): i for i in r.data_items or []}
    items = []
    for c in columns[:MAX_DATA_ITEMS]:
        before = known.get(c["id"][:100], {})
        items.append({"name": c["id"][:100], "name_en": before.get("name_en", ""),
                      "type": c["item_type"],
                      "length": min(c["length"], 100000) if c["length"] else None,
                      "description": before.get("description", "")})
    return items


def distribution_for(session: Session, actor: Actor, id_or_name: str, filename: str) -> str:
    """The distribution an upload goes to: ``id_or_name`` itself if it is one; for a catalogue
    resource, its only file distribution, or a new one named after the file."""
    from zhihui.catalog.schemas import DistributionIn

    if session.get(Distribution, id_or_name) is not None:
        return id_or_name
    r = catalog.get_resource(session, actor, id_or_name)
    files = [d for d in r.distributions if d.kind == "file"]
    if len(files) == 1:
        return files[0].id
    if files:
        raise ValidationFailed("datastore.distribution_ambiguous",
                               choices=", ".join(f"{d.id} ({d.name})" for d in files))
    fmt = filename.rsplit(".", 1)[1].upper() if "." in filename else ""
    d = catalog.add_distribution(session, actor, r.id, DistributionIn(
        name=filename[:300], kind="file", format=fmt[:40]))
    return d.id
