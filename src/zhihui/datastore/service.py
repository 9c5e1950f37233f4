"""The datastore's rules for reading: versions that never change, read only where
``resource.read`` allows (the public sees the rows of opened resources only, Art. 48), every
read audited. Making versions (ingest) is in ``versions.py``; its names are re-exported here.

The ``resource_id`` of the CKAN DataStore API is a distribution's id (CKAN: resource)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource
from zhihui.core import audit
from zhihui.core.authz import Actor, can
from zhihui.core.errors import BadRequest, NotFound, ValidationFailed
from zhihui.datastore import infer, query
from zhihui.datastore import ingest as reading
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import Storage
from zhihui.datastore.versions import IngestOptions, distribution_for, ingest
from zhihui.db import new_id

__all__ = ["IngestOptions", "distribution_for", "ingest"]

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
