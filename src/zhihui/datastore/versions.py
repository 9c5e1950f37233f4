"""Making versions: one ``ingest`` for every door (CLI, CKAN upload, /api/v1, background
jobs). The files are written under a temporary name and published atomically; the version row,
``datastore_active``, the resource's data items and the audit entry join the caller's
transaction, and ``datastore.version_published`` is announced to the modules that listen
(privacy scans it, exchange tells subscribers). A failure leaves the previous version current.

Ingest streams, in one scan of the source: the types come from a sample (the first
``SAMPLE_ROWS`` rows); the write then reads the whole file once with DuckDB's parallel CSV
reader, checks every cell against its column's type while casting it, and writes the typed
Parquet. A cell that breaks its column's type stops that scan (``error()`` in the SQL, naming
the column), the column falls back to the full check or to its next candidate type, and the
write starts again: clean files are read once, files whose sample lied are read again. The
statistics are then read from the Parquet (columnar, fast), and the upload is hashed and kept
by a thread while DuckDB reads it. DuckDB's memory is capped (``INGEST_MEMORY``); beyond it, it
spills to the work folder, so a file of any size goes through in bounded memory."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
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
from zhihui.datastore.storage import CHUNK, DATA_FILE, POSITION, Storage
from zhihui.db import new_id, utcnow

SAMPLE_ROWS = 10_000
INGEST_MEMORY = "512MB"  # DuckDB spills to the work folder beyond this: bounded memory
INGEST_THREADS = 2
COMPRESSION = "snappy"  # zstd: files ~30% smaller, the write ~30% slower (benchmarks/)
# rows per Parquet row group: a page of 100 rows is read from one or two groups of this size
# (query._page), not from 122,880 rows (DuckDB's default) of every column
ROW_GROUP_ROWS = 16_384
BAD_CELL = "zhihui-bad-cell:"  # the error() a cell that breaks its column's type raises
PROGRESS_SECONDS = 0.5
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
    keeper: _Keeper | None = None
    loaded: Loaded | None = None
    con = duckdb.connect(":memory:", config={
        "memory_limit": INGEST_MEMORY, "threads": INGEST_THREADS,
        "temp_directory": str(work / "spill"), "preserve_insertion_order": True,
        "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        progress = options.progress
        if isinstance(source, str | Path):
            # read in place; a thread hashes it and copies it into the work folder meanwhile
            upload = Path(source)
            size = upload.stat().st_size
            if progress:
                progress("receive", 0, size)
            keeper = _Keeper(upload, work / "upload", link=upload.resolve().is_relative_to(
                storage.tmp))
            keeper.start()
            filename = filename or upload.name
        else:
            upload, sha256, size = _receive(storage, source, work, progress, None)
        fmt = reading.detect_format(upload, filename, options.format)
        loaded = _load(con, upload, work, fmt, options, size)
        out = work / "version"
        out.mkdir()
        kinds, rows, cell_rejects = _write(con, loaded, options.types, out / DATA_FILE,
                                           progress)
        _check_rejects(loaded, rows, options.max_rejected)
        stats = _stats(con, out / DATA_FILE, loaded.names, kinds, rows)
        columns = [
            {"id": name, "type": kinds[i], "item_type": infer.ITEM_TYPE[kinds[i]],
             "length": stats[i]["max_length"] or None}
            for i, name in enumerate(loaded.names)
        ]
        report = _report(loaded, rows, columns, stats, cell_rejects)
        con.close()
        if keeper is not None:
            sha256 = keeper.result()
        storage.keep_original(work / "upload", sha256, move=True)
        return publish_version(
            session, actor, d, r, out, data_root=data_root, sha256=sha256,
            filename=filename, source_format=loaded.source_format, encoding=loaded.encoding,
            size=size, rows=rows, columns=columns, report=report,
            data_items=_data_items(r, columns), distribution=distribution,
            action="datastore.ingest",
            content={"sha256": sha256, "columns": columns, "rows": rows},
            detail={"filename": (filename or "")[:200], "rows": rows,
                    "rows_rejected": report["rows_rejected"]})
    except duckdb.Error as exc:
        raise bad_file("datastore.unreadable", detail=str(exc).splitlines()[0][:200]) from None
    finally:
        if loaded is not None and loaded.pipe is not None:
            loaded.pipe.abort()
        with contextlib.suppress(duckdb.Error):
            con.close()
        if keeper is not None:
            keeper.join()
        shutil.rmtree(work, ignore_errors=True)


def publish_version(
    session: Session, actor: Actor, d: Distribution, r: Resource, folder: Path, *,
    data_root: Path, sha256: str, filename: str, source_format: str, encoding: str,
    size: int, rows: int, columns: list[dict[str, Any]], report: dict[str, Any],
    data_items: list[dict[str, Any]] | None, action: str, content: dict[str, Any],
    detail: dict[str, Any], distribution: dict[str, Any] | None = None,
) -> DatastoreVersion:
    """Make a finished version folder the distribution's next version: the folder is renamed
    into place, then its row, the distribution's facts (``datastore_active``, size, hash,
    the resource's data items unless None), the audit entry ``action`` and
    ``datastore.version_published`` join the caller's transaction. Every way a version is
    made (an upload, a revision) ends here. If anything fails, the published folder is
    removed again; a folder whose row is never committed is never read (storage.py)."""
    storage = Storage(data_root)
    number = (session.scalar(select(func.max(DatastoreVersion.number)).where(
        DatastoreVersion.distribution_id == d.id)) or 0) + 1
    version_id = new_id()
    published = storage.publish(folder, d.id, version_id)
    try:
        version = DatastoreVersion(
            id=version_id, distribution_id=d.id, resource_id=r.id, number=number,
            sha256=sha256, filename=(filename or "")[:300], source_format=source_format,
            encoding=encoding, size=size, rows=rows, columns=columns, report=report,
            path=published, created=utcnow(), actor_id=actor.user_id, actor_name=actor.name)
        session.add(version)
        session.flush()
        catalog.datastore_published(session, actor, d.id, data_items, size=size,
                                    hash=f"sha256:{sha256}", **(distribution or {}))
        audit.record(session, actor, action, "distribution", d.id, org_id=r.owner_org_id,
                     content=content,
                     detail={"version": number, "resource_id": r.id, **detail})
        session.flush()
        events.emit(session, "datastore.version_published", actor=actor, version=version,
                    resource=r, data_root=data_root)
        return version
    except BaseException:
        storage.discard(published)
        raise


class _Keeper(threading.Thread):
    """Copies a file into the work folder (to be kept as the original) and hashes the copy
    while DuckDB reads the file, on the other core. The copy is the kernel's
    (``shutil.copyfile``: copy_file_range/sendfile, ~6x less CPU than copying through Python
    chunks, which took CPU from the scan), or a hard link when the file is the platform's own
    work file (a background job's stored upload, which nobody changes and which is removed
    after the job). The copy is hashed, not the file, so what is kept is what was hashed.
    ``hashlib`` releases the GIL on large chunks."""

    def __init__(self, path: Path, target: Path, *, link: bool = False) -> None:
        super().__init__(daemon=True)
        self.path, self.target, self.link = path, target, link
        self.sha256 = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            linked = False
            if self.link:
                with contextlib.suppress(OSError):
                    os.link(self.path, self.target)
                    linked = True
            if not linked:
                shutil.copyfile(self.path, self.target)
            digest = hashlib.sha256()
            with open(self.target, "rb") as kept:
                while chunk := kept.read(CHUNK):
                    digest.update(chunk)
            self.sha256 = digest.hexdigest()
        except BaseException as exc:  # handed to the ingest, which raises it
            self.error = exc

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        return self.sha256


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


def _sample(con: duckdb.DuckDBPyConnection, loaded: Loaded
            ) -> tuple[list[list[str]], list[dict[str, bool]]]:
    """Per column, the types every sampled cell satisfies (most specific first, text last),
    and for each type whether every sampled cell is written the plain way (``infer.plain``)."""
    width = len(loaded.names)
    # each cell trimmed and null-token-checked once, into its own column: the checks below
    # then refer to it by name; written inline, DuckDB plans ~150 copies of that expression
    # (~0.3 s of fixed cost, more than the 10,000 rows take)
    trimmed = [f"{infer.cell(f'c{i}')} AS v{i}" for i in range(width)]
    # a table, not a TEMP one, so that a second cursor sees it (below)
    con.execute(f"CREATE TABLE sample AS SELECT *{''.join(', ' + t for t in trimmed)} "
                f"FROM {loaded.source(SAMPLE_ROWS)}")
    # first what each column holds: its values, its mobile numbers and the cells that only
    # text can hold (a character no number or date has); the types are tried only where
    # such cells are absent (boolean words, 是/否, are tried everywhere)
    if not width:
        con.execute("DROP TABLE sample")
        return [], []
    first = [f"count(*) FILTER (WHERE v{i} IS NOT NULL AND {cond})" for i in range(width)
             for cond in ("true", infer.mobile(f"v{i}"), f"NOT {infer.numeric_shape(f'v{i}')}")]
    got = con.execute(f"SELECT {', '.join(first)} FROM sample").fetchone()
    tried = [[k for k in infer.PREFERENCE[:-1] if k == "boolean" or not got[3 * i + 2]]
             for i in range(width)]
    # two statements, not one: DuckDB evaluates one with ~150 filtered counts 3x slower;
    # and at once, on two cursors: 10,000 rows are one row group, which DuckDB scans on one
    # thread (measured: 30 ms less per upload)
    match: list[str] = []
    unplain: list[str] = []
    for i in range(width):
        c, v = f"c{i}", f"v{i}"
        match += [f"count(*) FILTER (WHERE {v} IS NOT NULL AND {infer.matches(k, v)})"
                  for k in tried[i]]
        unplain += [f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT {infer.plain(k, c)})"
                    for k in tried[i]]
    with con.cursor() as other, ThreadPoolExecutor(1) as pool:
        second = pool.submit(
            lambda: other.execute(f"SELECT {', '.join(unplain)} FROM sample").fetchone())
        matched = iter(con.execute(f"SELECT {', '.join(match)} FROM sample").fetchone())
        unplained = iter(second.result())
    options: list[list[str]] = []
    plain: list[dict[str, bool]] = []
    for i, name in enumerate(loaded.names):
        counts = {k: next(matched) for k in tried[i]}
        options.append(infer.candidates(name, counts, got[3 * i], got[3 * i + 1]))
        plain.append({k: next(unplained) == 0 for k in tried[i]})
    con.execute("DROP TABLE sample")
    return options, plain


def _column(i: int, kind: str, mode: str) -> str:
    """SQL for column ``i`` of the source as ``kind``. ``plain``/``full``: a cell that is
    not a value of ``kind`` stops the scan with ``BAD_CELL`` and the column's number;
    ``override`` (an editor's type): such a cell is NULL, and reported."""
    c = infer.quote(f"c{i}")
    if kind == "text":
        return c
    if mode == "override":
        return infer.cast(kind, infer.cell(f"c{i}"), c)
    bad = f"error('{BAD_CELL}{i}')"
    if mode == "plain":
        return (f"CASE WHEN {c} IS NULL THEN NULL "
                f"ELSE coalesce({infer.plain_value(kind, c)}, {bad}) END")
    v = infer.cell(f"c{i}")
    return f"CASE WHEN {v} IS NULL THEN NULL ELSE coalesce({infer.value(kind, v)}, {bad}) END"


def _write(con: duckdb.DuckDBPyConnection, loaded: Loaded, overrides: dict[str, str],
           target: Path, progress: Progress | None
           ) -> tuple[list[str], int, list[dict[str, Any]]]:
    """Infer the types from a sample, then write the typed Parquet in one scan of the source,
    checking every cell on the way: (types, rows written, cells an override could not read).

    A column starts with the cheap ``plain`` check when its sample allows; a cell that fails
    it sends the column to the ``full`` check, and a cell that fails that one demotes the
    column to its next candidate type (text last, which takes anything)."""
    names = loaded.names
    stream = loaded.pipe is not None  # the first scan reads the transcoder's FIFO
    if progress and not stream:  # (while transcoding, the progress is the transcoder's)
        progress("parse", 0, 0)
    options, plain = _sample(con, loaded)
    chosen = [opts[0] for opts in options]
    modes = []
    for i, name in enumerate(names):
        if name in overrides:
            chosen[i] = overrides[name]
            options[i] = [overrides[name]]
            modes.append("override")
        else:
            modes.append("plain" if plain[i].get(chosen[i], False) else "full")
    # the rows' ``_id`` is their position in the file (storage.relation): numbering them here
    # would run the scan on one thread; a column that DuckDB would confuse with the position
    # gets the numbers written
    numbered = not names or any(name.lower() == POSITION for name in names)
    while True:
        selects = ["row_number() OVER () AS _id"] if numbered else []
        selects += [f"{_column(i, chosen[i], modes[i])} AS {infer.quote(name)}"
                    for i, name in enumerate(names)]
        if loaded.csv:
            with contextlib.suppress(duckdb.CatalogException):
                con.execute("DELETE FROM reject_errors")
        sql = (f"COPY (SELECT {', '.join(selects)} FROM {loaded.source(stream=stream)}) TO "
               f"{query._literal(str(target))} (FORMAT parquet, COMPRESSION {COMPRESSION}, "
               f"ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
        try:
            rows = _run(con, sql, progress, loaded.pipe if stream else None)
        except duckdb.Error as exc:
            if stream and loaded.pipe is not None:
                # later scans read the file; a transcoding error (which cut the stream
                # short) is the real reason, raised before DuckDB's
                stream = False
                loaded.pipe.stop_streaming()
                loaded.pipe.finish()
            broken = re.search(re.escape(BAD_CELL) + r"(\d+)", str(exc)) if isinstance(
                exc, duckdb.InvalidInputException) else None
            if not broken:
                raise
            i = int(broken[1])
            if modes[i] == "plain":
                modes[i] = "full"
            else:
                options[i] = options[i][1:] or ["text"]
                chosen[i] = options[i][0]
                modes[i] = "plain" if plain[i].get(chosen[i], False) else "full"
            continue
        if stream and loaded.pipe is not None:
            # the scan read the stream to its end; it is whole only if the transcoder
            # finished without an error
            loaded.pipe.stop_streaming()
            loaded.pipe.finish()
        break
    if loaded.csv:
        reading.csv_rejects(con, loaded)
    return chosen, rows, _cell_rejects(con, loaded, chosen, modes)


def _run(con: duckdb.DuckDBPyConnection, sql: str, progress: Progress | None,
         pipe: reading.Transcoder | None = None) -> int:
    """Run the COPY; with a progress callback, in a thread, telling DuckDB's own progress
    (percent) from this one, so the callback stays on the caller's thread. While it reads a
    transcoder's FIFO, the progress is the transcoder's (bytes of the upload), then
    DuckDB's."""
    if not progress:
        return con.execute(sql).fetchone()[0]
    result: dict[str, Any] = {}

    def copy() -> None:
        try:
            result["rows"] = con.execute(sql).fetchone()[0]
        except BaseException as exc:  # raised again on the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=copy, daemon=True)
    worker.start()
    if pipe is not None:
        progress("transcode", 0, pipe.total)
    else:
        progress("infer", 0, 100)
    while worker.is_alive():
        worker.join(PROGRESS_SECONDS)
        if not worker.is_alive():
            break
        if pipe is not None and pipe.is_alive():
            progress("transcode", pipe.done, pipe.total)
            continue
        if pipe is not None:
            progress("transcode", pipe.total, pipe.total)
            pipe = None
        with contextlib.suppress(duckdb.Error):
            done = con.query_progress()
            if done >= 0:
                progress("infer", int(done), 100)
    if "error" in result:
        raise result["error"]
    if pipe is not None and pipe.error is None:
        progress("transcode", pipe.total, pipe.total)
    progress("infer", 100, 100)
    return result["rows"]


def _cell_rejects(con: duckdb.DuckDBPyConnection, loaded: Loaded, kinds: list[str],
                  modes: list[str]) -> list[dict[str, Any]]:
    """The first cells an editor's type could not read (one more scan, only for overrides)."""
    out: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        if modes[i] != "override" or kind == "text":
            continue
        v = infer.cell(f"c{i}")
        bad = con.execute(
            f"SELECT _id, c{i} FROM (SELECT row_number() OVER () AS _id, * FROM "
            f"{loaded.source()}) WHERE {v} IS NOT NULL AND "
            f"{infer.cast(kind, v, f'c{i}')} IS NULL ORDER BY _id LIMIT "
            f"{reading.MAX_REJECTS_LISTED}").fetchall()
        for record, value in bad:
            out.append({"record": record, "column": loaded.names[i], "value": value[:200],
                        "reason": f"not_{kind}"})
    return out


def _stats(con: duckdb.DuckDBPyConnection, target: Path, names: list[str], kinds: list[str],
           rows: int) -> list[dict[str, int]]:
    """Nulls, distinct values (HyperLogLog) and the longest value per column, read from the
    written Parquet: columnar, so one fast pass over typed values, not over the text."""
    if not kinds:
        return []
    exprs = []
    for i, kind in enumerate(kinds):
        c = infer.quote(names[i])
        if kind == "text":
            length = f"max(length({c}))"
        elif kind == "decimal":
            length = f"max(length(CAST({c} AS VARCHAR)))"
        else:  # the longest integer, date or time is the smallest or the largest
            length = (f"greatest(length(CAST(min({c}) AS VARCHAR)), "
                      f"length(CAST(max({c}) AS VARCHAR)))")
        exprs += [f"count({c})", f"approx_count_distinct({c})", f"coalesce({length}, 0)"]
    got = con.execute(f"SELECT {', '.join(exprs)} FROM "
                      f"read_parquet({query._literal(str(target))})").fetchone()
    stats = []
    for i in range(len(kinds)):
        non_null, distinct, max_length = got[3 * i: 3 * i + 3]
        distinct = min(distinct, non_null)
        stats.append({"nulls": rows - non_null, "distinct": distinct,
                      "duplicates": max(0, non_null - distinct), "max_length": max_length})
    return stats


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
