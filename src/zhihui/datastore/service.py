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

from zhihui.core import audit
from zhihui.core.authz import Actor, can
from zhihui.core.errors import BadRequest, NotFound, ValidationFailed
from zhihui.datastore import access, index, infer, query
from zhihui.datastore import ingest as reading
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import Storage
from zhihui.datastore.versions import IngestOptions, distribution_for, ingest
from zhihui.db import new_id

__all__ = ["IngestOptions", "distribution_for", "ingest"]

# --- reads -----------------------------------------------------------------------------------


def get_version(session: Session, actor: Actor, resource_id: str, number: int | None = None
                ) -> DatastoreVersion:
    """The current (newest) version, or the one numbered, of a readable distribution (its
    metadata; the rows are read through ``access.view``)."""
    d, _r = access.readable(session, actor, resource_id)
    return access.version_of(session, d, number, resource_id)


def list_versions(session: Session, actor: Actor, resource_id: str) -> list[DatastoreVersion]:
    d, _r = access.readable(session, actor, resource_id)
    return list(session.scalars(select(DatastoreVersion).where(
        DatastoreVersion.distribution_id == d.id).order_by(DatastoreVersion.number.desc())))


def version_dict(v: DatastoreVersion, *, examples: bool = True) -> dict[str, Any]:
    """A version and its validation report; without ``examples`` the report keeps its counts
    but not the rejected rows' and cells' values, which quote the original data (for readers
    who see the data only through a protected view, Art. 50)."""
    report = v.report
    if not examples:
        report = {**report, **{key: [{k: x for k, x in r.items() if k != "value"}
                                     for r in report.get(key, [])]
                               for key in ("rejected", "cells_rejected")}}
    return {"id": v.id, "resource_id": v.distribution_id, "package_id": v.resource_id,
            "number": v.number, "sha256": v.sha256, "filename": v.filename,
            "source_format": v.source_format, "encoding": v.encoding, "size": v.size,
            "rows": v.rows, "columns": v.columns, "report": report,
            "created": v.created.isoformat(), "actor": v.actor_name}


def versions(session: Session, actor: Actor, resource_id: str) -> list[dict[str, Any]]:
    """Every version, newest first; the report's quoted values only for the resource's
    editors (who may read the original)."""
    _d, r = access.readable(session, actor, resource_id)
    examples = can(actor, "resource.update", r)
    return [version_dict(v, examples=examples)
            for v in list_versions(session, actor, resource_id)]


def _columns(view: access.View) -> dict[str, str]:
    return {"_id": "integer", **{c["id"]: c["type"] for c in view.columns}}


def _source(view: access.View) -> query.Source:
    return query.Source(view.path, ["_id", *[c["id"] for c in view.columns]], view.where)


def info(session: Session, actor: Actor, resource_id: str, *, data_root: Path,
         number: int | None = None) -> dict[str, Any]:
    """CKAN datastore_info: the table's fields and size, and our version."""
    view = access.view(session, actor, resource_id, number, data_root=data_root)
    v = view.version
    count = v.rows if not view.restricted else _count(view)
    return {
        "meta": {"id": v.distribution_id, "count": count, "table_type": "BASE TABLE",
                 "version": v.number, "versions": _count_versions(session, v),
                 "sha256": v.sha256, "created": v.created.isoformat(),
                 **_readiness(view), "restricted": sorted(view.notes)},
        "fields": [{"id": c["id"], "type": infer.CKAN_TYPE[c["type"]],
                    "schema": {"native_type": infer.DUCKDB_TYPE[c["type"]]},
                    "info": {"type": c["type"], "item_type": c["item_type"]}}
                   for c in view.columns],
    }


def _readiness(view: access.View) -> dict[str, bool]:
    """``q_ready``: ``q`` is answered from the text index (built after publishing), or the
    table is small enough that a scan is as fast; until then ``q`` is answered by a scan,
    with the same results, slower. ``index_ready``: the same for filtered pages."""
    if view.where is not None:  # a grant's rows: DuckDB answers, scanning
        small = view.version.rows < index.INDEX_MIN_ROWS
        return {"index_ready": small, "q_ready": small}
    return index.status(view.path, view.version.rows)


def _count(view: access.View) -> int:
    con = query.connect({view.table: _source(view)})
    try:
        return con.execute(f"SELECT count(*) FROM {infer.quote(view.table)}").fetchone()[0]
    finally:
        con.close()


def _count_versions(session: Session, v: DatastoreVersion) -> int:
    return session.scalar(select(func.count()).select_from(DatastoreVersion).where(
        DatastoreVersion.distribution_id == v.distribution_id)) or 0


def _log_read(session: Session, actor: Actor, view: access.View, action: str, *,
              rows: int, content: Any) -> None:
    """Art. 50: every read of data is in the audit log, in the caller's transaction (the
    door commits it); anonymous reads of open data are tallied per client and minute."""
    v = view.version
    detail: dict[str, Any] = {"resource": v.resource_id, "version": v.number}
    if view.notes:
        detail["through"] = view.notes
    audit.record_read(session, actor, "distribution", v.distribution_id,
                      org_id=view.resource.owner_org_id, content=content, rows=rows,
                      action=action, detail=detail)


def search(session: Session, actor: Actor, resource_id: str, params: query.Search, *,
           data_root: Path, number: int | None = None) -> dict[str, Any]:
    """CKAN datastore_search over the current (or a numbered) version."""
    view = access.view(session, actor, resource_id, number, data_root=data_root)
    ix = index.for_view(view.path, view.version.rows, view.where)
    con = query.connect({view.table: _source(view)})
    try:
        out = query.search(con, view.table, _columns(view), params, ix)
    finally:
        con.close()
        if ix is not None:
            ix.close()
    if ix is not None:  # what the status of the files would say, without opening them again
        small = view.version.rows < index.INDEX_MIN_ROWS
        ready = {"index_ready": True, "q_ready": ix.text_db is not None or small}
    else:
        ready = _readiness(view)
    meta = {**ready, "answered_by": out.pop("answered_by")}
    records = out.get("records")
    _log_read(session, actor, view, "data.search",
              rows=len(records) if isinstance(records, list) else 0, content=records)
    return {"resource_id": view.table, "version": view.version.number,
            "include_total": params.include_total, **out, "meta": meta,
            "disputed": sorted(_disputed(session, view))}


def _disputed(session: Session, view: access.View) -> set[int]:
    """Art. 50 (异议标注): the ``_id`` of the records under an open request that this view
    shows; a reader whose rows are narrowed (a grant's row filter) learns nothing of the
    others."""
    from zhihui.privacy.requests.service import disputed

    marks = disputed(session, view.table)
    if not marks or view.where is None:
        return marks
    con = query.connect({view.table: _source(view)})
    try:
        ids = ", ".join(str(int(i)) for i in sorted(marks))
        return {int(r[0]) for r in con.execute(
            f'SELECT "_id" FROM "{view.table}" WHERE "_id" IN ({ids})').fetchall()}
    finally:
        con.close()


def search_sql(session: Session, actor: Actor, sql: str, *, data_root: Path,
               rows_max: int = query.SQL_ROWS_MAX, seconds: float = query.SQL_SECONDS
               ) -> dict[str, Any]:
    """CKAN datastore_search_sql: one read-only SELECT over resource tables named by their
    (distribution) ids, each the current version as the caller may see it."""
    names = query.tables_of(sql)
    if not names:
        raise BadRequest("datastore.sql_no_table")
    views = {}
    for name in names:
        try:
            views[name] = access.view(session, actor, name, data_root=data_root)
        except NotFound:
            raise BadRequest("datastore.sql_table", table=name[:100]) from None
    con = query.connect({name: _source(view) for name, view in views.items()})
    try:
        out = query.run_sql(con, sql, rows_max=rows_max, seconds=seconds)
    finally:
        con.close()
    for view in views.values():
        _log_read(session, actor, view, "data.sql",
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
    view = access.view(session, actor, resource_id, number, data_root=data_root)
    v = view.version
    # The whole version leaves: its digest (the version's sha256) and row count are logged.
    _log_read(session, actor, view, "data.download", rows=v.rows,
              content={"sha256": v.sha256, "format": fmt, "encoding": enc})
    source = _source(view)
    stem = f"{v.distribution_id}-v{v.number}"
    if fmt == "parquet" and not view.restricted:
        return Dump(DUMP_FORMATS[fmt], f"{stem}.parquet", path=view.path)
    names = ["_id", *[c["id"] for c in view.columns]]
    select = f"SELECT * FROM {infer.quote(v.distribution_id)} ORDER BY _id"
    if fmt == "parquet":  # a narrowed view: written out like XLSX, never the original file
        file = _parquet(source, v.distribution_id, select, data_root)
        return Dump(DUMP_FORMATS[fmt], f"{stem}.parquet", path=file,
                    cleanup=lambda: file.unlink(missing_ok=True))
    if fmt == "xlsx":
        if v.rows > XLSX_ROWS_MAX:
            raise BadRequest("datastore.xlsx_too_many_rows", rows=v.rows, max=XLSX_ROWS_MAX)
        file = _xlsx(source, v.distribution_id, names, select, data_root)
        return Dump(DUMP_FORMATS[fmt], f"{stem}.xlsx", path=file,
                    cleanup=lambda: file.unlink(missing_ok=True))
    charset = "; charset=gbk" if enc == "gb18030" else "; charset=utf-8"

    def rows() -> Iterator[bytes]:
        con = query.connect({v.distribution_id: source})
        try:
            if fmt == "json":
                yield from _json_chunks(con, names, view, select)
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


def _json_chunks(con: duckdb.DuckDBPyConnection, names: list[str], view: access.View,
                 select: str) -> Iterator[bytes]:
    import json

    fields = [{"id": "_id", "type": "int"}] + [
        {"id": c["id"], "type": infer.CKAN_TYPE[c["type"]]} for c in view.columns]
    yield ('{"fields": ' + json.dumps(fields, ensure_ascii=False) + ', "records": [').encode()
    first = True
    for batch in query.batches(con, select):
        parts = [json.dumps([query.json_value(x) for x in row], ensure_ascii=False)
                 for row in batch]
        if parts:
            yield (("" if first else ",\n") + ",\n".join(parts)).encode()
            first = False
    yield b"]}\n"


def _parquet(source: query.Source, table: str, select: str, data_root: Path) -> Path:
    """The locked connection may write no file: batches go to pyarrow's writer instead."""
    import pyarrow.parquet as pq

    target = Storage(data_root).tmp / f"dump-{new_id()}.parquet"
    con = query.connect({table: source})
    try:
        reader = con.sql(select).to_arrow_reader(100_000)
        with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return target


def _xlsx(source: query.Source, table: str, names: list[str], select: str, data_root: Path
          ) -> Path:
    """Written to a work file (the format is a zip: it cannot be streamed row by row)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(names)
    con = query.connect({table: source})
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
