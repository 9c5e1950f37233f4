"""The datastore's rules: one ``ingest`` for every door (CLI, CKAN upload, /api/v1), versions
that never change, and reads that respect ``resource.read`` (the public sees the rows of
opened resources only, Art. 48). Every upload is audited in the transaction that records it.

The ``resource_id`` of the CKAN DataStore API is a distribution's id (CKAN: resource)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource
from zhihui.core import audit
from zhihui.core.authz import Actor, can, require
from zhihui.core.errors import BadRequest, NotFound, ValidationFailed
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


# --- reads -----------------------------------------------------------------------------------


def _readable(session: Session, actor: Actor, resource_id: str
              ) -> tuple[Distribution, Resource]:
    d, r = catalog.get_distribution(session, actor, resource_id)  # 404 unless resource.read
    if not can(actor, "resource.read", r):
        raise NotFound("error.distribution_not_found", id=resource_id[:100])
    return d, r


def get_version(session: Session, actor: Actor, resource_id: str, number: int | None = None
                ) -> DatastoreVersion:
    """The current (newest) version, or the one numbered, of a readable distribution."""
    d, _r = _readable(session, actor, resource_id)
    q = select(DatastoreVersion).where(DatastoreVersion.distribution_id == d.id)
    if number is not None:
        q = q.where(DatastoreVersion.number == number)
    version = session.scalar(q.order_by(DatastoreVersion.number.desc()).limit(1))
    if version is None:
        if number is not None:
            raise NotFound("datastore.version_not_found", id=resource_id[:100], number=number)
        raise NotFound("datastore.not_active", id=resource_id[:100])
    return version


def list_versions(session: Session, actor: Actor, resource_id: str) -> list[DatastoreVersion]:
    d, _r = _readable(session, actor, resource_id)
    return list(session.scalars(select(DatastoreVersion).where(
        DatastoreVersion.distribution_id == d.id).order_by(DatastoreVersion.number.desc())))


def version_dict(v: DatastoreVersion) -> dict[str, Any]:
    return {"id": v.id, "resource_id": v.distribution_id, "package_id": v.resource_id,
            "number": v.number, "sha256": v.sha256, "filename": v.filename,
            "source_format": v.source_format, "encoding": v.encoding, "size": v.size,
            "rows": v.rows, "columns": v.columns, "report": v.report,
            "created": v.created.isoformat(), "actor": v.actor_name}


def _columns(v: DatastoreVersion) -> dict[str, str]:
    return {"_id": "integer", **{c["id"]: c["type"] for c in v.columns}}


def info(session: Session, actor: Actor, resource_id: str, *, data_root: Path,
         number: int | None = None) -> dict[str, Any]:
    """CKAN datastore_info: the table's fields and size, and our version."""
    v = get_version(session, actor, resource_id, number)
    return {
        "meta": {"id": v.distribution_id, "count": v.rows, "table_type": "BASE TABLE",
                 "version": v.number, "versions": _count_versions(session, v),
                 "sha256": v.sha256, "created": v.created.isoformat(), "q_ready": True},
        "fields": [{"id": c["id"], "type": infer.CKAN_TYPE[c["type"]],
                    "schema": {"native_type": infer.DUCKDB_TYPE[c["type"]]},
                    "info": {"type": c["type"], "item_type": c["item_type"]}}
                   for c in v.columns],
    }


def _count_versions(session: Session, v: DatastoreVersion) -> int:
    return session.scalar(select(func.count()).select_from(DatastoreVersion).where(
        DatastoreVersion.distribution_id == v.distribution_id)) or 0


def _path(data_root: Path, v: DatastoreVersion) -> Path:
    return Storage(data_root).data_file(v.path)


def _log_read(session: Session, actor: Actor, v: DatastoreVersion, action: str, *,
              rows: int, content: Any) -> None:
    """Art. 50: every read of data is in the audit log, in the caller's transaction (the
    door commits it); anonymous reads of open data are tallied per client and minute."""
    org_id = session.scalar(select(Resource.owner_org_id).where(Resource.id == v.resource_id))
    audit.record_read(session, actor, "distribution", v.distribution_id, org_id=org_id,
                      content=content, rows=rows, action=action,
                      detail={"resource": v.resource_id, "version": v.number})


def search(session: Session, actor: Actor, resource_id: str, params: query.Search, *,
           data_root: Path, number: int | None = None) -> dict[str, Any]:
    """CKAN datastore_search over the current (or a numbered) version."""
    v = get_version(session, actor, resource_id, number)
    con = query.connect({v.distribution_id: _path(data_root, v)})
    try:
        out = query.search(con, v.distribution_id, _columns(v), params)
    finally:
        con.close()
    records = out.get("records")
    _log_read(session, actor, v, "data.search",
              rows=len(records) if isinstance(records, list) else 0, content=records)
    return {"resource_id": v.distribution_id, "version": v.number,
            "include_total": params.include_total, **out}


def search_sql(session: Session, actor: Actor, sql: str, *, data_root: Path,
               rows_max: int = query.SQL_ROWS_MAX, seconds: float = query.SQL_SECONDS
               ) -> dict[str, Any]:
    """CKAN datastore_search_sql: one read-only SELECT over resource tables named by their
    (distribution) ids, each the current version, each readable by the caller."""
    names = query.tables_of(sql)
    if not names:
        raise BadRequest("datastore.sql_no_table")
    tables = {}
    for name in names:
        try:
            v = get_version(session, actor, name)
        except NotFound:
            raise BadRequest("datastore.sql_table", table=name[:100]) from None
        tables[name] = _path(data_root, v)
    con = query.connect(tables)
    try:
        out = query.run_sql(con, sql, rows_max=rows_max, seconds=seconds)
    finally:
        con.close()
    for name in tables:
        _log_read(session, actor, get_version(session, actor, name), "data.sql",
                  rows=len(out.get("records", [])), content={"sql": sql, "result": out})
    return out


# --- downloads -------------------------------------------------------------------------------

DUMP_FORMATS = {"csv": "text/csv", "tsv": "text/tab-separated-values",
                "json": "application/json",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "parquet": "application/vnd.apache.parquet"}
XLSX_ROWS_MAX = 1_048_575


@dataclass
class Dump:
    media_type: str
    filename: str
    chunks: Iterator[bytes] | None = None  # streamed body
    path: Path | None = None  # or a file to send as it is
    cleanup: Callable[[], None] | None = None


def dump(session: Session, actor: Actor, resource_id: str, *, data_root: Path,
         fmt: str = "csv", bom: bool = False, encoding: str = "utf-8",
         number: int | None = None) -> Dump:
    """A version as a file: CSV (UTF-8; with a BOM or in GBK for Excel), TSV, JSON, XLSX or
    Parquet, streamed. Text that a spreadsheet would run as a formula is neutralised."""
    fmt = (fmt or "csv").lower()
    if fmt not in DUMP_FORMATS:
        raise ValidationFailed(fields={"format": [reading.Message(
            "field.choice", {"choices": ", ".join(DUMP_FORMATS)})]})
    enc = (encoding or "utf-8").lower()
    if enc in ("gbk", "gb2312", "gb18030"):
        enc = "gb18030"
    elif enc in ("utf-8", "utf8"):
        enc = "utf-8"
    else:
        raise ValidationFailed(fields={"encoding": [reading.Message(
            "field.choice", {"choices": "utf-8, gbk"})]})
    v = get_version(session, actor, resource_id, number)
    # The whole version leaves: its digest (the version's sha256) and row count are logged.
    _log_read(session, actor, v, "data.download", rows=v.rows,
              content={"sha256": v.sha256, "format": fmt, "encoding": enc})
    path = _path(data_root, v)
    stem = f"{v.distribution_id}-v{v.number}"
    if fmt == "parquet":
        return Dump(DUMP_FORMATS[fmt], f"{stem}.parquet", path=path)
    names = ["_id", *[c["id"] for c in v.columns]]
    select = f"SELECT * FROM {infer.quote(v.distribution_id)} ORDER BY _id"
    if fmt == "xlsx":
        if v.rows > XLSX_ROWS_MAX:
            raise BadRequest("datastore.xlsx_too_many_rows", rows=v.rows, max=XLSX_ROWS_MAX)
        file = _xlsx(path, v.distribution_id, names, select, data_root)
        return Dump(DUMP_FORMATS[fmt], f"{stem}.xlsx", path=file,
                    cleanup=lambda: file.unlink(missing_ok=True))
    charset = "; charset=gbk" if enc == "gb18030" else "; charset=utf-8"

    def rows() -> Iterator[bytes]:
        con = query.connect({v.distribution_id: path})
        try:
            if fmt == "json":
                yield from _json_chunks(con, names, v, select)
                return
            yield from _delimited(con, names, select, "," if fmt == "csv" else "\t", enc, bom)
        finally:
            con.close()

    return Dump(DUMP_FORMATS[fmt] + charset, f"{stem}.{fmt}", chunks=rows())


def _delimited(con: duckdb.DuckDBPyConnection, names: list[str], select: str, delimiter: str,
               enc: str, bom: bool) -> Iterator[bytes]:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([query.neutral(n) for n in names])
    head = buf.getvalue()
    prefix = "\ufeff" if bom and enc == "utf-8" else ""
    yield (prefix + head).encode(enc, errors="replace")
    for batch in query.batches(con, select):
        buf.seek(0)
        buf.truncate()
        writer.writerows([[_csv_value(x) for x in row] for row in batch])
        yield buf.getvalue().encode(enc, errors="replace")


def _csv_value(value: Any) -> Any:
    value = query.json_value(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return query.neutral(value)


def _json_chunks(con: duckdb.DuckDBPyConnection, names: list[str], v: DatastoreVersion,
                 select: str) -> Iterator[bytes]:
    import json

    fields = [{"id": "_id", "type": "int"}] + [
        {"id": c["id"], "type": infer.CKAN_TYPE[c["type"]]} for c in v.columns]
    yield ('{"fields": ' + json.dumps(fields, ensure_ascii=False) + ', "records": [').encode()
    first = True
    for batch in query.batches(con, select):
        parts = [json.dumps([query.json_value(x) for x in row], ensure_ascii=False)
                 for row in batch]
        if parts:
            yield (("" if first else ",\n") + ",\n".join(parts)).encode()
            first = False
    yield b"]}\n"


def _xlsx(path: Path, table: str, names: list[str], select: str, data_root: Path) -> Path:
    """Written to a work file (the format is a zip: it cannot be streamed row by row)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(names)
    con = query.connect({table: path})
    try:
        for batch in query.batches(con, select):
            for row in batch:
                cells = []
                for value in row:
                    if isinstance(value, str):
                        # a string cell, never a formula: openpyxl reads "=…" as one
                        cell = WriteOnlyCell(ws, value=value)
                        cell.data_type = "s"
                        cells.append(cell)
                    else:
                        cells.append(value)
                ws.append(cells)
    finally:
        con.close()
    target = Storage(data_root).tmp / f"dump-{new_id()}.xlsx"
    wb.save(target)
    return target
