"""Indexes of a version's table, built after it is published, so that uploads stay fast and
reads of large tables do not scan (issue 3).

A Parquet file is a columnar store: DuckDB over it answers aggregates quickly, but a filtered
page of 100 rows of 10 M reads whole row groups (measured: 50-100 ms; see
``benchmarks/RESULTS.md``), and ``q`` scans every text cell. Beside each file that a reader
reads (a version's ``data.parquet``, or a privacy-protected copy) two SQLite files are built:

- ``<name>.rows.sqlite``, the **row index**: every row as a JSON array, in LZ4-compressed
  blocks of ``ROW_BLOCK`` consecutive ``_id`` (a page is fetched by the blocks' primary
  key), and for each column with few distinct values (at most one
  per ``DISTINCT_SHARE`` rows) its values' posting lists: the sorted ``_id`` of the rows
  holding each value, in chunks of ``CHUNK``, with a count per value (a filtered total is a
  lookup, not a scan);
- ``<name>.text.sqlite``, the **text index** for ``q``: an FTS5 table of each text column's
  character pairs (二元组), so that a word of two or more characters is a phrase of its pairs,
  exactly a substring (交通 finds 城市交通流量; MEASUREMENTS.md: jieba words and trigrams both
  fail). Characters are mapped so that every pair is one token of FTS5's ``ascii`` tokenizer
  with nothing folded: ASCII characters become private-use characters (U+E000 + code), and a
  table whose text holds such characters, or NUL, gets no text index (``q`` stays a scan).

Both are written under a temporary name and renamed into place (a reader never sees half an
index), the row index first. A reader uses an index only when it answers the search exactly as
the scan does (``query.search`` falls back otherwise, and ``tests/datastore/
test_query_index.py`` checks that both give the same results), and never for a view narrowed
by a row filter (``access.View.where``: a grant's rows), which DuckDB applies.

Building runs in a background thread of the process (``request_build``): after the commit
that publishes a version (``datastore.version_published``), or when a read finds a large file
without its index (a protected copy, a version from before this code). A lock file beside the
Parquet keeps two processes sharing the data root from building the same index."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import socket
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import event
from sqlalchemy.orm import Session

from zhihui.core import events
from zhihui.datastore.infer import quote
from zhihui.datastore.storage import ROW_ID, positional, relation

log = logging.getLogger(__name__)

FORMAT = 2  # written to the index's meta table; an index of another format is not read
ROW_BLOCK = 32  # rows to a compressed block of the row store
ROW_CODEC = pa.Codec("lz4")
INDEX_MIN_ROWS = 200_000  # smaller tables are scanned in a few milliseconds: no index
DISTINCT_SHARE = 64  # a column gets posting lists with at most rows / 64 distinct values
CHUNK = 65_536  # row ids per posting chunk
# row ids a search may hold (8 bytes each) to intersect conditions; beyond it DuckDB scans
MATERIALIZE_MAX = 4_000_000
LOCK_STALE_SECONDS = 6 * 3600  # a lock file this old belongs to a build that died
BATCH = 65_536
BUILD_MEMORY = "512MB"

# ASCII characters (and NUL) are given private-use code points, so that FTS5's ascii
# tokenizer treats every character as part of a token and folds nothing
_ENCODE = {i: 0xE000 + i for i in range(1, 128)}
RESERVED = "[\\x00\ue000-\ue07f]"  # text holding these gets no text index

KINDS = {  # Parquet (arrow) types as the datastore's column types
    "int64": "integer", "int32": "integer", "int16": "integer", "int8": "integer",
    "double": "decimal", "float": "decimal", "bool": "boolean", "date32[day]": "date",
    "string": "text", "large_string": "text",
}


def kind_of(arrow_type: pa.DataType) -> str | None:
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return "datetime"
    return KINDS.get(str(arrow_type))


def rows_path(parquet: Path) -> Path:
    return parquet.with_name(f"{parquet.stem}.rows.sqlite")


def text_path(parquet: Path) -> Path:
    return parquet.with_name(f"{parquet.stem}.text.sqlite")


def _lock_path(parquet: Path) -> Path:
    return parquet.with_name(f"{parquet.stem}.index.lock")


# --- values as the index stores them -----------------------------------------------------------


def stored(kind: str, value: Any) -> Any:
    """A typed filter value (``query._typed``) as the row index stores it: dates and times
    as fixed-width ISO text (their order is the text's order), booleans as 0/1."""
    if kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    if kind == "boolean":
        return int(bool(value))
    return value


def _stored_sql(kind: str, column: str) -> str:
    col = quote(column)
    if kind == "datetime":
        return f"strftime({col}, '%Y-%m-%d %H:%M:%S.%f')"
    if kind == "date":
        return f"strftime({col}, '%Y-%m-%d')"
    if kind == "boolean":
        return f"{col}::INTEGER"
    return col


def _from_json(kind: str, value: Any) -> Any:
    """A cell of the row index's JSON as the value DuckDB returns for its type."""
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value


def fts_phrase(word: str) -> str | None:
    """A word as an FTS5 phrase of its character pairs; None when the text index cannot
    answer it exactly (one character, or a reserved one)."""
    if len(word) < 2 or any(c == "\x00" or 0xE000 <= ord(c) <= 0xE07F for c in word):
        return None
    enc = word.translate(_ENCODE)
    return '"' + " ".join(enc[i:i + 2] for i in range(len(enc) - 1)) + '"'


# --- building ----------------------------------------------------------------------------------


@dataclass
class Built:
    rows_seconds: float = 0.0
    text_seconds: float = 0.0
    indexed_columns: tuple[str, ...] = ()
    text: bool = False


def _schema(parquet: Path) -> list[tuple[str, str | None]]:
    """The columns of ``relation(parquet)``: ``_id`` first, stored or positional."""
    fields = [(f.name, kind_of(f.type)) for f in pq.read_schema(parquet)]
    return [(ROW_ID, "integer"), *fields] if positional(parquet) else fields


def _duck(spill: Path) -> duckdb.DuckDBPyConnection:
    """A connection for one build: 2 threads, bounded memory, spilling (the postings' sort)
    into ``spill``, a folder beside the file, removed after the build."""
    return _track(duckdb.connect(":memory:", config={
        "threads": 2, "memory_limit": BUILD_MEMORY, "temp_directory": str(spill),
        "preserve_insertion_order": True,
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
    }))


def _write_sqlite(target: Path) -> tuple[sqlite3.Connection, Path]:
    work = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    work.unlink(missing_ok=True)
    db = _track(sqlite3.connect(work))
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA page_size=8192")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    return db, work


def _publish(db: sqlite3.Connection, work: Path, target: Path, meta: dict[str, Any], *,
             compact: bool = False) -> None:
    """Write the meta and rename the work file into place. ``compact``: copy it without its
    free pages first (``VACUUM INTO``; the text index's final merge frees 14 % of its pages:
    456 MB of 3,267 on 10 M rows)."""
    db.executemany("INSERT INTO meta VALUES (?, ?)",
                   [(k, json.dumps(v, ensure_ascii=False)) for k, v in meta.items()])
    db.commit()
    if compact:
        packed = work.with_name(work.name + ".packed")
        packed.unlink(missing_ok=True)
        try:
            db.execute("VACUUM INTO ?", [str(packed)])
        except BaseException:
            packed.unlink(missing_ok=True)
            raise
        _untrack(db).close()
        work.unlink()
        work = packed
    else:
        _untrack(db).close()
    os.replace(work, target)


def build(parquet: Path, *, text: bool = True) -> Built:
    """Build the row index, then the text index, of one Parquet file (skipping what exists).
    Returns what was built and how long each took."""
    out = Built()
    parquet = Path(parquet)
    schema = _schema(parquet)
    if not schema or schema[0][0] != "_id":
        return out
    size = parquet.stat().st_size
    spill = parquet.with_name(f".{parquet.stem}.spill-{os.getpid()}-{threading.get_ident()}")
    con = _duck(spill)
    try:
        con.execute(f"CREATE VIEW t AS SELECT * FROM {relation(parquet)}")
        if _read_meta(rows_path(parquet), size) is None:
            t = time.perf_counter()
            out.indexed_columns = _build_rows(con, parquet, schema, size)
            out.rows_seconds = time.perf_counter() - t
        if text and _read_meta(text_path(parquet), size) is None:
            t = time.perf_counter()
            out.text = _build_text(con, parquet, schema, size)
            out.text_seconds = time.perf_counter() - t
    finally:
        _untrack(con).close()
        shutil.rmtree(spill, ignore_errors=True)
    return out


def _build_rows(con: duckdb.DuckDBPyConnection, parquet: Path,
                schema: list[tuple[str, str | None]], size: int) -> tuple[str, ...]:
    columns = schema[1:]
    rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
    db, work = _write_sqlite(rows_path(parquet))
    try:
        dense = _build_row_blocks(con, db, columns)
        indexed = _build_postings(con, db, columns, rows)
        _publish(db, work, rows_path(parquet), {
            "format": FORMAT, "source_size": size, "rows": rows,
            "columns": [[name, kind] for name, kind in columns],
            "indexed": indexed, "dense": dense})
    except BaseException:
        _untrack(db).close()
        work.unlink(missing_ok=True)
        raise
    return tuple(indexed)


def _build_row_blocks(con: duckdb.DuckDBPyConnection, db: sqlite3.Connection,
                      columns: list[tuple[str, str | None]]) -> bool:
    """The row store: the rows as JSON arrays, ``ROW_BLOCK`` consecutive ``_id`` to a block,
    each block's lines (``<_id> TAB <row>``) compressed with LZ4 (pyarrow's codec). One JSON
    text per row took 4.2x the Parquet file's disk (2,648 MB for 10 M rows); LZ4 blocks of 32
    take half (measured on that table: LZ4 2.0x smaller, zlib level 1 2.7x, zstd 2.9x; but a
    filtered page's 41 blocks decompress in 0.07 ms with LZ4 against 0.8 ms with zlib and
    0.6 ms with zstd, and LZ4 compresses 6x faster than zlib). Returns whether the ids are
    exactly 1 … rows (an upload; a revision's deletions leave gaps)."""
    db.execute("CREATE TABLE row_block (b INTEGER PRIMARY KEY, n INTEGER NOT NULL, "
               "r BLOB NOT NULL)")
    cells = ", ".join(quote(name) for name, _ in columns)
    # the file's order, which is _id's (an upload's position; revisions are written sorted)
    reader = con.sql(f"SELECT _id, json_array({cells})::VARCHAR FROM t").to_arrow_reader(BATCH)
    block, lines, last = -1, [], 0
    dense = True

    def packed() -> tuple[int, int, bytes]:
        raw = "\n".join(lines).encode()
        return block, len(raw), ROW_CODEC.compress(raw, asbytes=True)

    for batch in reader:
        _check_stop()
        done: list[tuple[int, int, bytes]] = []
        for i, row in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(),
                          strict=True):
            if i <= last:
                raise ValueError(f"row ids out of order: {i} after {last}")
            dense = dense and i == last + 1
            last = i
            b = (i - 1) // ROW_BLOCK
            if b != block:
                if lines:
                    done.append(packed())
                block, lines = b, []
            lines.append(f"{i}\t{row}")
        db.executemany("INSERT INTO row_block VALUES (?, ?, ?)", done)
    if lines:
        db.execute("INSERT INTO row_block VALUES (?, ?, ?)", packed())
    return dense


def _build_postings(con: duckdb.DuckDBPyConnection, db: sqlite3.Connection,
                    columns: list[tuple[str, str | None]], rows: int) -> list[str]:
    """Posting lists of the columns with few distinct values (filters on such columns match
    many rows, which DuckDB must scan for; a column of unique codes is left to the scan,
    whose row-group statistics and dictionaries serve a point lookup)."""
    db.execute("CREATE TABLE posting (col INTEGER, v, first INTEGER, ids BLOB NOT NULL, "
               "PRIMARY KEY (col, v, first)) WITHOUT ROWID")
    db.execute("CREATE TABLE value_count (col INTEGER, v, n INTEGER NOT NULL, "
               "PRIMARY KEY (col, v)) WITHOUT ROWID")
    candidates = [(i, name, kind) for i, (name, kind) in enumerate(columns) if kind]
    if not candidates:
        return []
    probes = []
    for _i, name, kind in candidates:
        probes.append(f"approx_count_distinct({quote(name)})")
        probes.append(f"bool_or(NOT isfinite({quote(name)}))" if kind == "decimal"
                      else "false")
    found = con.execute(f"SELECT {', '.join(probes)} FROM t").fetchall()[0]
    limit = max(rows // DISTINCT_SHARE, 1)
    dtype = "<u4" if rows < 2**32 else "<i8"
    indexed = []
    for n, (i, name, kind) in enumerate(candidates):
        distinct, non_finite = found[2 * n], found[2 * n + 1]
        if distinct > limit or non_finite:
            continue
        value = _stored_sql(kind, name)  # type: ignore[arg-type]
        reader = con.sql(f"SELECT {value} AS v, _id FROM t WHERE {quote(name)} IS NOT NULL "
                         "ORDER BY 1, 2").to_arrow_reader(BATCH)
        _write_postings(db, i, reader, dtype)
        indexed.append(name)
    return indexed


def _write_postings(db: sqlite3.Connection, col: int, batches: Iterable[pa.RecordBatch],
                    dtype: str) -> None:
    current: Any = None
    pending: list[np.ndarray] = []
    held = 0
    written = 0  # ids of the current value already written

    def flush(final: bool) -> None:
        nonlocal pending, held, written
        if not pending:
            return
        ids = np.concatenate(pending)
        pending, held = [], 0
        start = 0
        while len(ids) - start >= CHUNK or (final and start < len(ids)):
            part = ids[start:start + CHUNK]
            db.execute("INSERT INTO posting VALUES (?, ?, ?, ?)",
                       (col, current, written, part.astype(dtype).tobytes()))
            written += len(part)
            start += len(part)
        if start < len(ids):
            pending, held = [ids[start:]], len(ids) - start

    for batch in batches:
        values, ids = batch.column(0), batch.column(1).to_numpy()
        if len(ids) == 0:
            continue
        change = np.flatnonzero(pc.not_equal(values[1:], values[:-1]).to_numpy(
            zero_copy_only=False)) + 1
        starts = [0, *change.tolist()]
        ends = [*change.tolist(), len(ids)]
        for a, b in zip(starts, ends, strict=True):
            v = values[a].as_py()
            if v != current or (written == 0 and held == 0):
                if held or written:
                    flush(True)
                    db.execute("INSERT INTO value_count VALUES (?, ?, ?)",
                               (col, current, written))
                current, written = v, 0
            pending.append(ids[a:b])
            held += b - a
            if held >= CHUNK:
                flush(False)
    if held or written:
        flush(True)
        db.execute("INSERT INTO value_count VALUES (?, ?, ?)", (col, current, written))


def _build_text(con: duckdb.DuckDBPyConnection, parquet: Path,
                schema: list[tuple[str, str | None]], size: int) -> bool:
    texts = [name for name, kind in schema[1:] if kind == "text"]
    if not texts:
        return False
    reserved = con.execute(
        "SELECT " + ", ".join(f"bool_or(regexp_matches({quote(n)}, ?))" for n in texts)
        + " FROM t", [RESERVED] * len(texts)).fetchall()[0]
    if any(reserved):
        log.info("%s: text holds reserved characters; q stays a scan", parquet)
        return False
    db, work = _write_sqlite(text_path(parquet))
    try:
        names = ", ".join(f"c{i}" for i in range(len(texts)))
        db.execute(f"CREATE VIRTUAL TABLE text_index USING fts5({names}, content='', "
                   "columnsize=0, tokenize='ascii', detail=full)")
        # fewer, larger segments while inserting, merged once at the end (measured on 300k
        # rows: inserting 10.2 -> 4.0 s); bounded: 64 MB of pending terms, 128 MB of cache
        db.execute("PRAGMA cache_size=-131072")
        db.execute("INSERT INTO text_index(text_index, rank) VALUES ('automerge', 0)")
        db.execute("INSERT INTO text_index(text_index, rank) VALUES ('hashsize', 67108864)")
        pairs = ", ".join(_pairs_sql(n) for n in texts)
        reader = con.sql(f"SELECT _id, {pairs} FROM t").to_arrow_reader(BATCH)
        marks = ", ".join("?" * (len(texts) + 1))
        for batch in reader:
            _check_stop()
            db.executemany(f"INSERT INTO text_index(rowid, {names}) VALUES ({marks})",
                           zip(*[c.to_pylist() for c in batch.columns], strict=True))
        db.execute("INSERT INTO text_index(text_index) VALUES ('optimize')")
        _publish(db, work, text_path(parquet), {
            "format": FORMAT, "source_size": size, "columns": texts}, compact=True)
    except BaseException:
        _untrack(db).close()
        work.unlink(missing_ok=True)
        raise
    return True


def _pairs_sql(column: str) -> str:
    """A text cell as its character pairs separated by spaces, each character below U+0080
    first moved to U+E000 + its code (as ``fts_phrase`` does with a word), in DuckDB's
    vectorised list functions (measured: 2.7 s for 1.8 M cells, where ``translate`` took 25 s
    and CPython's ``str.translate`` on the pairs 2.4 s more)."""
    chars = (f"list_transform(string_split({quote(column)}, ''), lambda ch: CASE WHEN "
             "unicode(ch) < 128 THEN chr(unicode(ch) + 57344) ELSE ch END)")
    return (f"array_to_string(list_transform(list_zip({chars}[:-1], {chars}[2:]), "
            "lambda p: p[1] || p[2]), ' ')")


# --- building in the background ----------------------------------------------------------------

_queue: queue.Queue[Path | None] = queue.Queue()
_pending: set[Path] = set()
_pending_lock = threading.Lock()
_worker: threading.Thread | None = None


# --- stopping: a process that ends must not end inside a build (DuckDB aborts the process
# when the interpreter finalises under a thread it runs) -----------------------------------

class Cancelled(Exception):
    """A build stopped by ``stop``: its work files are removed, nothing is published."""


_stopping = threading.Event()
_live: set[Any] = set()  # the connections of the builds running in this process
_live_lock = threading.Lock()


def _track(conn: Any) -> Any:
    with _live_lock:
        _live.add(conn)
    return conn


def _untrack(conn: Any) -> Any:
    with _live_lock:
        _live.discard(conn)
    return conn


def _check_stop() -> None:
    if _stopping.is_set():
        raise Cancelled


def stop(timeout: float = 10.0) -> bool:
    """Cancel this process's builds and wait (``timeout`` seconds at most) for the builder to
    leave them: the running statement is interrupted, the work files removed, the lock let
    go; another process, or this one later, builds the index again. Called when a worker or
    the app shuts down. True if the builder is idle."""
    _stopping.set()
    try:
        with _live_lock:
            running = list(_live)
        for conn in running:
            with contextlib.suppress(Exception):  # closed meanwhile
                conn.interrupt()
        worker = _worker
        if worker is not None and worker.is_alive():
            _queue.put(None)
            worker.join(timeout)
            return not worker.is_alive()
        return True
    finally:
        _stopping.clear()  # a later build in this process (tests) may run again


def request_build(parquet: Path) -> bool:
    """Queue ``parquet`` for the background builder of this process (once); True if queued."""
    global _worker
    parquet = Path(parquet)
    if _stopping.is_set():
        return False
    with _pending_lock:
        if parquet in _pending:
            return False
        _pending.add(parquet)
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="datastore-index", daemon=True)
            _worker.start()
    _queue.put(parquet)
    return True


def _work() -> None:
    while True:
        parquet = _queue.get()
        if parquet is None or _stopping.is_set():  # stop(): leave the rest to a later build
            with _pending_lock:
                _pending.clear()
            _queue.task_done()
            return
        try:
            build_locked(parquet)
        except Exception:  # noqa: BLE001 - one failed build must not stop the next
            if _stopping.is_set():
                log.info("index build of %s stopped", parquet)
            else:
                _failed[parquet] = time.monotonic()
                log.exception("index build of %s failed", parquet)
        finally:
            with _pending_lock:
                _pending.discard(parquet)
            _queue.task_done()


def wait_idle(timeout: float = 600.0) -> bool:
    """Wait until the background builder has nothing left (tests, the benchmark)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with _pending_lock:
            if not _pending:
                return True
        time.sleep(0.05)
    return False


def build_locked(parquet: Path) -> Built | None:
    """``build`` under the lock file beside the Parquet, so that processes sharing the data
    root build each index once; None when another process holds the lock or the file is
    gone (a version discarded before its commit). A lock left by a process of this host that
    is gone, or older than ``LOCK_STALE_SECONDS``, is taken over, and the work files of the
    build that died are removed."""
    parquet = Path(parquet)
    if not parquet.exists():
        return None
    lock = _lock_path(parquet)
    for _attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if not _stale(lock):
                return None
            lock.unlink(missing_ok=True)
            continue
        try:
            os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
            os.close(fd)
            for leftover in parquet.parent.glob(f".{parquet.stem}.*.sqlite.*.tmp"):
                leftover.unlink(missing_ok=True)  # we hold the lock: their builder is gone
            for spill in parquet.parent.glob(f".{parquet.stem}.spill-*"):
                shutil.rmtree(spill, ignore_errors=True)
            return build(parquet)
        finally:
            lock.unlink(missing_ok=True)
    return None


def _stale(lock: Path) -> bool:
    try:
        host, pid = lock.read_text().split()
        age = time.time() - lock.stat().st_mtime
    except (OSError, ValueError):
        return False  # being written, or just removed: try again later
    if age > LOCK_STALE_SECONDS:
        return True
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


@events.on("datastore.version_published")
def build_after_publishing(session: Session, *, version: Any, data_root: Path,
                           **_: Any) -> None:
    """A large new version gets its indexes in the background once the transaction that
    publishes it commits: the upload does not wait for them (q is answered by a scan until
    the text index is there, ``meta.q_ready`` false)."""
    if (version.rows or 0) < INDEX_MIN_ROWS:
        return
    from zhihui.datastore.storage import Storage

    parquet = Storage(data_root).data_file(version.path)
    event.listen(session, "after_commit", lambda _s: request_build(parquet), once=True)


# --- reading -----------------------------------------------------------------------------------


def _read_meta(path: Path, size: int) -> dict[str, Any] | None:
    """The index's meta, or None if it is missing, of another format, or of another file."""
    if not path.exists():
        return None
    try:
        db = _open(path)
        try:
            meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
        finally:
            db.close()
    except sqlite3.Error:
        return None
    if meta.get("format") != FORMAT or meta.get("source_size") != size:
        return None
    return meta


def _open(path: Path) -> sqlite3.Connection:
    # immutable: the file never changes once renamed into place (no locks, no journal)
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                           check_same_thread=False)


@dataclass
class Indexes:
    """The indexes of one Parquet file, opened for one search."""

    parquet: Path
    columns: dict[str, tuple[int, str | None]]  # name -> (position after _id, kind)
    indexed: set[str]
    rows_db: sqlite3.Connection
    text_db: sqlite3.Connection | None
    text_columns: dict[str, int]  # text column -> FTS5 column number
    dtype: str = "<u4"  # of the stored row ids
    rows: int = 0
    source_size: int = 0
    dense: bool = False  # the ids are 1 … rows

    def close(self) -> None:
        self.rows_db.close()
        if self.text_db is not None:
            self.text_db.close()

    # row ids for a set of conditions ---------------------------------------------------------

    def count(self, cond: Condition) -> int:
        sql, params = cond.sql()
        return int(self.rows_db.execute(
            f"SELECT coalesce(sum(n), 0) FROM value_count WHERE {sql}", params).fetchone()[0])

    def ids(self, cond: Condition) -> np.ndarray:
        sql, params = cond.sql()
        parts = [np.frombuffer(b, dtype=self.dtype) for (b,) in self.rows_db.execute(
            f"SELECT ids FROM posting WHERE {sql} ORDER BY v, first", params)]
        if not parts:
            return np.empty(0, dtype=np.int64)
        ids = np.concatenate(parts).astype(np.int64)
        if len(cond.values or ()) != 1:
            ids.sort()  # several values: their lists interleave (each row has one value)
        return ids

    def slice_of_one(self, cond: Condition, offset: int, limit: int) -> list[int]:
        """Ids ``offset`` … ``offset + limit`` of one value's list, reading only the chunks
        that hold them."""
        sql, params = cond.sql()
        out: list[int] = []
        for first, blob in self.rows_db.execute(
                f"SELECT first, ids FROM posting WHERE {sql} AND first > ? AND first < ? "
                "ORDER BY first", [*params, offset - CHUNK, offset + limit]):
            ids = np.frombuffer(blob, dtype=self.dtype)
            a, b = max(offset - first, 0), max(min(offset + limit - first, len(ids)), 0)
            out.extend(int(i) for i in ids[a:b])
        return out

    def text_page(self, query: str, offset: int, limit: int) -> list[int]:
        assert self.text_db is not None
        return [r for (r,) in self.text_db.execute(
            "SELECT rowid FROM text_index WHERE text_index MATCH ? ORDER BY rowid "
            "LIMIT ? OFFSET ?", [query, limit, offset])]

    def text_ids(self, query: str, most: int) -> np.ndarray | None:
        """Every matching row id, sorted, read in batches into one array (8 bytes an id);
        None if more than ``most`` match."""
        assert self.text_db is not None
        cursor = self.text_db.execute(
            "SELECT rowid FROM text_index WHERE text_index MATCH ? ORDER BY rowid LIMIT ?",
            [query, most + 1])
        parts = []
        held = 0
        while batch := cursor.fetchmany(BATCH):
            parts.append(np.fromiter((r for (r,) in batch), dtype=np.int64, count=len(batch)))
            held += len(batch)
        if held > most:
            return None
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def text_count(self, query: str) -> int:
        assert self.text_db is not None
        return int(self.text_db.execute(
            "SELECT count(*) FROM text_index WHERE text_index MATCH ?", [query]).fetchone()[0])

    # rows ------------------------------------------------------------------------------------

    def fetch(self, ids: Sequence[int], fields: list[str]) -> list[tuple[Any, ...]]:
        """The rows ``ids`` (in that order), as the tuples DuckDB would return for
        ``fields``."""
        if not ids:
            return []
        wanted = set(ids)
        blocks = sorted({(i - 1) // ROW_BLOCK for i in wanted})
        marks = ", ".join("?" * len(blocks))
        found: dict[int, str] = {}
        for b, n, blob in self.rows_db.execute(
                f"SELECT b, n, r FROM row_block WHERE b IN ({marks})", blocks):
            lines = ROW_CODEC.decompress(blob, decompressed_size=n, asbytes=True
                                         ).decode().split("\n")
            if self.dense:  # ids b*32+1 … in order: the wanted lines are found by position
                for i in range(b * ROW_BLOCK + 1, b * ROW_BLOCK + len(lines) + 1):
                    if i in wanted:
                        found[i] = lines[i - 1 - b * ROW_BLOCK].partition("\t")[2]
                continue
            for line in lines:
                head, _, row = line.partition("\t")
                if int(head) in wanted:
                    found[int(head)] = row
        picks = [(-1, "integer") if f == "_id" else (self.columns[f][0], self.columns[f][1])
                 for f in fields]
        present = [i for i in ids if i in found]
        # one JSON document for the page: one parse instead of one per row
        rows = json.loads("[" + ",".join(found[i] for i in present) + "]")
        out = []
        for i, cells in zip(present, rows, strict=True):
            out.append(tuple(i if pos < 0 else _from_json(kind or "text", cells[pos])
                             for pos, kind in picks))
        return out


@dataclass
class Condition:
    """One column's filter as the posting lists see it: values (any of them), or range
    comparisons (all of them)."""

    col: int
    values: list[Any] | None = None
    ranges: list[tuple[str, Any]] | None = None

    def sql(self) -> tuple[str, list[Any]]:
        if self.values is not None:
            marks = ", ".join("?" * len(self.values))
            return f"col = ? AND v IN ({marks})", [self.col, *self.values]
        parts = " AND ".join(f"v {op} ?" for op, _ in self.ranges or [])
        return f"col = ? AND {parts}", [self.col, *[v for _, v in self.ranges or []]]


def open_for(parquet: Path) -> Indexes | None:
    """The row index (and the text index, if built) of ``parquet``, or None."""
    try:
        size = Path(parquet).stat().st_size
    except OSError:
        return None
    meta = _read_meta(rows_path(parquet), size)
    if meta is None:
        return None
    text_meta = _read_meta(text_path(parquet), size)
    cols = {name: (i, kind) for i, (name, kind) in enumerate(meta["columns"])}
    ix = Indexes(parquet=Path(parquet), columns=cols, indexed=set(meta["indexed"]),
                 rows_db=_open(rows_path(parquet)),
                 text_db=_open(text_path(parquet)) if text_meta else None,
                 text_columns={n: i for i, n in enumerate(text_meta["columns"])}
                 if text_meta else {},
                 dtype="<u4" if meta["rows"] < 2**32 else "<i8", rows=int(meta["rows"]),
                 source_size=size, dense=bool(meta.get("dense")))
    return ix


def status(parquet: Path, rows: int) -> dict[str, bool]:
    """Whether the row and text indexes of a file are ready. A table under
    ``INDEX_MIN_ROWS`` needs none: a scan answers it as fast, so it is ready."""
    if rows < INDEX_MIN_ROWS:
        return {"index_ready": True, "q_ready": True}
    try:
        size = Path(parquet).stat().st_size
    except OSError:
        return {"index_ready": False, "q_ready": False}
    return {"index_ready": _read_meta(rows_path(parquet), size) is not None,
            "q_ready": _read_meta(text_path(parquet), size) is not None}


# --- answering a search ------------------------------------------------------------------------

_failed: dict[Path, float] = {}
RETRY_SECONDS = 600.0


def for_view(parquet: Path, rows: int, where: str | None) -> Indexes | None:
    """The indexes a read of ``parquet`` may use, or None (then DuckDB scans). A view with a
    row filter (``access.View.where``: a grant's rows) is never answered from an index: the
    filter is DuckDB's. A large file without its indexes is queued for a build."""
    if where is not None:
        return None
    ix = open_for(parquet)
    if ix is None and rows >= INDEX_MIN_ROWS:
        failed = _failed.get(Path(parquet))
        if failed is None or time.monotonic() - failed > RETRY_SECONDS:
            request_build(parquet)
    return ix


def answer(ix: Indexes, columns: dict[str, str], s: Any, fields: list[str]
           ) -> tuple[list[tuple[Any, ...]], int | None] | None:
    """The page of ``s`` (a ``query.Search`` already checked by ``query._where``) and its
    total, from the indexes; None when they cannot give exactly what the scan gives (a sort,
    distinct, a column whose type the view changed, a filter on a column without posting
    lists, NULL or non-finite values, a one-character word …)."""
    from zhihui.datastore.query import RANGE_OPS, _typed

    if s.distinct or s.sort.strip() or "_id" not in columns:
        return None
    for name in fields:
        if name != "_id" and (name not in ix.columns or ix.columns[name][1] != columns[name]):
            return None
    conds: list[Condition] = []
    for name, wanted in s.filters.items():
        if name not in ix.indexed or ix.columns[name][1] != columns[name]:
            return None
        kind, pos = columns[name], ix.columns[name][0]
        if isinstance(wanted, dict):
            ranges = []
            for op, value in wanted.items():
                typed = _typed(kind, value, name)
                if typed is None or (isinstance(typed, float) and not np.isfinite(typed)):
                    return None
                ranges.append((RANGE_OPS[op], stored(kind, typed)))
            conds.append(Condition(pos, ranges=ranges))
            continue
        values = wanted if isinstance(wanted, list) else [wanted]
        typed_values = [_typed(kind, v, name) for v in values]
        if not typed_values or any(
                v is None or (isinstance(v, float) and not np.isfinite(v)) for v in typed_values):
            return None
        conds.append(Condition(pos, values=list(dict.fromkeys(
            stored(kind, v) for v in typed_values))))
    match = _match(ix, columns, s.q)
    if match is None:
        return None
    offset, limit = s.offset, s.limit
    total: int | None = None
    if not conds and not match:
        if not ix.dense:
            return None  # ids with gaps (a revision): DuckDB pages it
        ids = list(range(offset + 1, min(offset + limit, ix.rows) + 1))
        if s.include_total:
            total = ix.rows
    elif len(conds) == 1 and conds[0].values is not None and len(conds[0].values) == 1 \
            and not match:
        ids = ix.slice_of_one(conds[0], offset, limit)
        if s.include_total:
            total = ix.count(conds[0])
    elif not conds:
        ids = ix.text_page(match, offset, limit)
        if s.include_total:
            total = _text_total(ix, match)
    else:
        if sum(ix.count(c) for c in conds) > MATERIALIZE_MAX:
            return None
        arrays = [ix.ids(c) for c in conds]
        if match:
            found = ix.text_ids(match, MATERIALIZE_MAX)
            if found is None:
                return None
            arrays.append(found)
        arrays.sort(key=len)
        result = arrays[0]
        for other in arrays[1:]:
            result = result[np.isin(result, other, assume_unique=True)]
        total = len(result) if s.include_total else None
        ids = [int(i) for i in result[offset:offset + limit]]
    return ix.fetch(ids, fields), total


TOTALS_CACHED = 256
_totals: OrderedDict[tuple[str, int, str], int] = OrderedDict()
_totals_lock = threading.Lock()


def _text_total(ix: Indexes, match: str) -> int:
    """The number of rows ``match`` finds, remembered for the next pages of the same search
    (the file never changes, so neither does the count; counting a phrase of common pairs
    costs tens of milliseconds on 10 M rows)."""
    key = (str(ix.parquet), ix.source_size, match)
    with _totals_lock:
        if key in _totals:
            _totals.move_to_end(key)
            return _totals[key]
    total = ix.text_count(match)
    with _totals_lock:
        _totals[key] = total
        if len(_totals) > TOTALS_CACHED:
            _totals.popitem(last=False)
    return total


def forget_totals() -> None:
    """Forget the remembered totals (the benchmark measures a first page with this)."""
    with _totals_lock:
        _totals.clear()


def _match(ix: Indexes, columns: dict[str, str], q: Any) -> str | None:
    """``q`` as an FTS5 query ("" for none), or None when the text index cannot answer it:
    every word is a phrase of character pairs, in any of the view's text columns (or in the
    column a ``{"column": "words"}`` q names)."""
    phrases: list[str] = []
    if isinstance(q, dict):
        for name, words in q.items():
            if columns.get(name) != "text" or name not in ix.text_columns:
                return None
            for word in str(words).split():
                phrase = fts_phrase(word)
                if phrase is None:
                    return None
                phrases.append(f"c{ix.text_columns[name]} : {phrase}")
    elif q:
        words = str(q).split()
        texts = [n for n, k in columns.items() if k == "text"]
        if words and (not texts or any(t not in ix.text_columns for t in texts)):
            return None
        targets = "{" + " ".join(f"c{ix.text_columns[t]}" for t in texts) + "}"
        for word in words:
            phrase = fts_phrase(word)
            if phrase is None:
                return None
            phrases.append(f"{targets} : {phrase}")
    if phrases and ix.text_db is None:
        return None
    return " AND ".join(phrases)
