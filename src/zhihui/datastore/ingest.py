"""Reading departments' files as they are into a relation of text columns (c0, c1 … in file
order): format and encoding detection, streamed transcoding to UTF-8, delimiter sniffing, title
rows above the header, and the rows that cannot be read (with their line number and the
reason). A CSV is not loaded here: ``csv_scan`` is the ``read_csv`` that the write scans once,
straight into the typed Parquet (``versions.py``); other formats fill a table ``raw``. Types
are decided afterwards (``infer.py``)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import math
import os
import re
import select
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from time import sleep
from typing import Any

import duckdb

from zhihui.core.errors import Message, ValidationFailed
from zhihui.datastore import transcode as transcoding
from zhihui.datastore.storage import sql_text

SAMPLE_BYTES = 256 * 1024
HEAD_ROWS = 50  # rows looked at to find the header under title rows
MAX_LINE = 4 * 1024 * 1024  # bytes of one CSV record at most (DuckDB's max_line_size)
BATCH_ROWS = 50_000
MAX_COLUMNS = 1000
MAX_REJECTS_LISTED = 100
MAX_JSON_ARRAY_BYTES = 512 * 1024 * 1024  # larger JSON must come as NDJSON (streamed)
MAX_XLSX_UNPACKED = 4 * 1024 * 1024 * 1024  # a zip bomb disguised as XLSX stops here
MAX_XLSX_RATIO = 200  # unpacked / packed
DELIMITERS = (",", "\t", ";", "|")
TRANSCODE_CHUNK = 4 * 1024 * 1024
HEAD_BYTES = 4 * 1024 * 1024  # a transcoded file's sample: its first 4 MB (10,000 rows of 400 B)
SPLIT_BYTES = 16 * 1024 * 1024  # a file this large is transcoded (and read) in two parts
PIPE_BYTES = 1024 * 1024  # a FIFO's buffer (Linux's largest for an unprivileged process)
ICONV = True  # glibc's iconv where it decodes as CPython (transcode.py); False: CPython only

FORMATS = ("csv", "tsv", "xlsx", "xls", "json", "ndjson", "parquet")


def bad_file(key: str, **params: Any) -> ValidationFailed:
    """A file we cannot take, with the reason for the field ``upload`` (a 4xx)."""
    return ValidationFailed(key, fields={"upload": [Message(key, params)]}, **params)


Progress = Callable[[str, int, int], None]


@dataclass
class Loaded:
    """What reading found: the columns of ``raw`` and how the file was read."""

    names: list[str]
    source_format: str
    encoding: str = ""
    delimiter: str = ""
    header_row: int = 0  # 1-based line (CSV) or sheet row (XLSX) of the header; 0: none
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # first MAX_REJECTS_LISTED
    rows_rejected: int = 0
    csv: Path | None = None  # a CSV (in UTF-8) read by ``csv_scan`` instead of a table
    skip: int = 0  # lines before the first data row of ``csv``
    pipe: Transcoder | None = None  # writing ``csv`` while the write reads its FIFO

    def source(self, limit: int | None = None, *, stream: bool = False) -> str:
        """SQL for the rows of text cells: the CSV scan, or the table ``raw``. A file being
        transcoded: ``stream`` reads the transcoder's FIFOs (once, while they are written), a
        ``limit`` (the sample) its head, anything else the whole files once they are
        written (FIFOs and files hold the data rows only: ``skip=0``)."""
        if not self.csv:
            rel = "raw"
        elif self.pipe is None:
            rel = csv_scan(self, head=limit is not None)
        elif stream:
            rel = csv_scan(self, self.pipe.fifos, skip=0)
        elif limit is not None:
            rel = csv_scan(self, [self.pipe.head_file()], head=True)
        else:
            rel = csv_scan(self, self.pipe.files(), skip=0)
        return f"(SELECT * FROM {rel} LIMIT {limit})" if limit is not None else rel

    def first_line(self, file_id: int) -> int:
        """What DuckDB's ``reject_errors.line`` of the scan's file ``file_id`` is offset by in
        the whole upload."""
        return self.pipe.first_line(file_id) if self.pipe is not None else 0


# --- detection -------------------------------------------------------------------------------


def detect_format(path: Path, filename: str, hint: str | None = None) -> str:
    if hint:
        hint = hint.lower().lstrip(".")
        if hint in ("jsonl",):
            hint = "ndjson"
        if hint not in FORMATS:
            raise bad_file("datastore.format_unknown", format=hint[:20])
        return hint
    with open(path, "rb") as f:
        head = f.read(8)
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if not head:
        raise bad_file("datastore.empty")
    if head.startswith(b"PK\x03\x04"):
        if ext in ("xlsx", "xlsm", ""):
            return "xlsx"
        raise bad_file("datastore.format_unknown", format=ext or "zip")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"PAR1"):
        return "parquet"
    if ext in ("ndjson", "jsonl"):
        return "ndjson"
    if ext == "json":
        return "json"
    if ext in ("xlsx", "xls", "parquet"):
        raise bad_file("datastore.format_mismatch", format=ext)
    if ext == "tsv":
        return "tsv"
    return "csv"


def _hanzi_in_gb2312(text: str) -> float:
    # each distinct character encoded once: a 256 KB sample holds ~80,000 hanzi but a few
    # hundred distinct ones (18 ms -> 7 ms, measured on the benchmark's GBK file)
    hanzi = Counter(c for c in text if "\u4e00" <= c <= "\u9fff")
    if not hanzi:
        return 1.0
    ok = 0
    for c, n in hanzi.items():
        try:
            c.encode("gb2312")
            ok += n
        except UnicodeEncodeError:
            pass
    return ok / hanzi.total()


def _decodes(sample: bytes, encoding: str) -> str | None:
    try:
        # not final: the sample may end inside a character
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, GB18030 (GBK's superset) or Big5."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise bad_file("datastore.binary")
    if _decodes(sample, "utf-8") is not None:
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        start = sample[: exc.start]
        hanzi = sum(1 for c in start.decode("utf-8", errors="ignore") if "\u4e00" <= c <= "\u9fff")
        if hanzi >= 3:
            # UTF-8 Chinese up to here, then something else: a file in mixed encodings
            raise bad_file("datastore.encoding_mixed", line=start.count(b"\n") + 1,
                           encoding="utf-8") from None
    gb = _decodes(sample, "gb18030")
    # Big5 bytes also decode as GBK, into rare characters: simplified text is almost all in
    # GB2312's 6,763 common characters.
    if gb is not None and _hanzi_in_gb2312(gb) >= 0.9:
        return "gb18030"
    if _decodes(sample, "big5") is not None:
        return "big5"
    if gb is not None:
        return "gb18030"
    raise bad_file("datastore.encoding_unknown")


def _normal_encoding(name: str) -> str:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise bad_file("datastore.encoding_unsupported", encoding=name[:40]) from None
    return {"gbk": "gb18030", "gb2312": "gb18030"}.get(codec, codec)


def utf8_chunks(path: Path, encoding: str, start: int = 0, end: int | None = None
                ) -> Iterator[tuple[int, bytes]]:
    """The file (or its bytes ``[start, end)``, which lie between characters) in UTF-8,
    chunk by chunk (bounded memory): (source bytes read so far, UTF-8 bytes). Byte for byte
    what CPython's codec decodes (glibc's iconv does most of GB18030's work: ``transcode.py``).
    A byte sequence that is not in the encoding fails with its line number in the whole file
    (a file in mixed encodings)."""
    size = path.stat().st_size
    end = size if end is None else end
    try:
        yield from transcoding.utf8_range(path, encoding, start, end, chunk=TRANSCODE_CHUNK,
                                          final=end >= size, iconv=ICONV)
    except transcoding.Undecodable as exc:
        line = transcoding.line_at(path, exc.offset, encoding)
        if exc.truncated:
            raise bad_file("datastore.truncated", line=line) from None
        raise bad_file("datastore.encoding_mixed", line=line, encoding=encoding) from None


def transcode(path: Path, encoding: str, target: Path, progress: Progress | None,
              total: int) -> None:
    """Stream a file into UTF-8 in chunks (bounded memory), before it is read."""
    with open(target, "wb") as out:
        for done, data in utf8_chunks(path, encoding):
            out.write(data)
            if progress:
                progress("transcode", done, total)


@dataclass
class _Part:
    """One part of a file being transcoded: its source bytes ``[start, end)`` (the end of the
    first part is found while it runs), its FIFO and its UTF-8 file."""

    fifo: Path
    file: Path
    start: int
    end: int
    done: int = 0  # source bytes transcoded
    error: BaseException | None = None
    writer: int | None = None  # the FIFO, open for writing


class Transcoder(threading.Thread):
    """Transcodes a file into UTF-8 *while* DuckDB reads it: the UTF-8 goes to FIFOs that the
    write's ``read_csv`` reads; the sample reads the first ``HEAD_BYTES`` (whole lines) from
    ``head`` before the write starts; a later scan (a column's fallback, an editor's
    override) reads UTF-8 files, transcoded again when it asks (``files``).

    A file of ``SPLIT_BYTES`` or more in an encoding that can be cut at a newline byte is
    transcoded in two parts, cut at a record boundary near its middle, on two threads, each
    into its own FIFO: one ``read_csv`` of the two reads them on two threads and keeps their
    order (DuckDB reads a FIFO on one thread: a 1,000,000-row write took 1.04 s on one,
    0.69 s on two, measured). The FIFOs and files hold the data rows only (the first part
    starts after the ``skip`` lines above them, given by ``stream_rows``), so that they are
    read with ``skip=0``; ``head`` holds the file's first lines.

    A reader that stops early (a scan that falls back) or never comes stops the
    transcoding. ``finish()`` waits for it and raises a decoding error (a file in mixed
    encodings: a FIFO then ended early, so a scan of it must not be taken); the first
    part's error comes first, as it is the earlier in the file."""

    def __init__(self, path: Path, encoding: str, work: Path, total: int) -> None:
        super().__init__(name="transcode", daemon=True)
        self.path, self.encoding, self.total = path, encoding, total
        self.head = work / "head.csv"
        self.file = work / "utf8.csv"
        self.parts = [_Part(work / "utf8.fifo", self.file, 0, total)]
        middle = (transcoding.newline_after(path, total // 2, total)
                  if encoding in transcoding.SPLITTABLE and total >= SPLIT_BYTES else None)
        if middle is not None and middle < total:
            # the first part runs to ``middle`` at once, and on to the record boundary at or
            # after it once the second part's thread has found it (``cut``)
            self.parts[0].end = middle
            self.parts.append(_Part(work / "utf8-2.fifo", work / "utf8-2.csv", middle, total))
        for part in self.parts:
            os.mkfifo(part.fifo)
        self.cut = threading.Event()
        self.skip: int | None = None  # lines above the data rows (stream_rows)
        self.rows_ready = threading.Event()
        self.head_ready = threading.Event()
        self.detached = threading.Event()  # the FIFOs' reader is gone, or never came
        self.ended = threading.Event()  # the scan of the FIFOs is over: none will open them
        self.aborted = threading.Event()  # the ingest failed: stop
        self._second_line: int | None = None
        self._files: list[Path] | None = None
        self._files_lock = threading.Lock()

    @property
    def fifos(self) -> list[Path]:
        return [part.fifo for part in self.parts]

    @property
    def done(self) -> int:
        """Source bytes transcoded (progress)."""
        return sum(part.done for part in self.parts)

    @property
    def error(self) -> BaseException | None:
        return next((part.error for part in self.parts if part.error is not None), None)

    def stream_rows(self, skip: int) -> None:
        """The data rows start after ``skip`` lines: the FIFOs and files begin there."""
        self.skip = skip
        self.rows_ready.set()

    def run(self) -> None:
        second = None
        if len(self.parts) > 1:
            second = threading.Thread(target=self._second, name="transcode-2", daemon=True)
            second.start()
        try:
            self._first()
        finally:
            self.head_ready.set()
            if second is not None:
                second.join()

    def _first(self) -> None:
        part = self.parts[0]
        pending: list[bytes] = []  # the head, held until the layout is known
        try:
            for data in self._chunks(part, first=True):
                if self.aborted.is_set() or self.detached.is_set():
                    return
                if not self.rows_ready.is_set():
                    pending.append(data)
                    if sum(map(len, pending)) < HEAD_BYTES:
                        continue
                    if not self._rows(pending):
                        return
                    data = b"".join(pending)
                    pending = []
                    data = data[self._after_skip(data):]
                self._to_fifo(part, data)
            if not self.rows_ready.is_set():
                if not self._rows(pending):
                    return
                data = b"".join(pending)
                self._to_fifo(part, data[self._after_skip(data):])
            self._to_fifo(part, b"")  # a reader that comes late sees the end
        except BaseException as exc:  # raised by finish() on the ingest's thread
            part.error = exc
            self.head_ready.set()
            self._to_fifo(part, b"")  # a scan that opens the FIFO sees it end, not a hang
        finally:
            self._release(part)

    def _rows(self, pending: list[bytes]) -> bool:
        """Write the head, then wait for the layout (or an abort: False)."""
        data = b"".join(pending)
        head = data[:HEAD_BYTES]
        end = head.rfind(b"\n") + 1
        with open(self.head, "wb") as f:
            f.write(head[:end] if end and len(data) > HEAD_BYTES else head)
        self.head_ready.set()
        self.rows_ready.wait()
        return not self.aborted.is_set()

    def _after_skip(self, data: bytes) -> int:
        at = 0
        for _ in range(self.skip or 0):
            found = data.find(b"\n", at)
            if found < 0:
                return len(data)
            at = found + 1
        return at

    def _second(self) -> None:
        part = self.parts[1]
        try:
            # after the head: the sample, which waits for it, does not wait for this too
            self.head_ready.wait()
            cut = transcoding.split_point(self.path, part.start, self.total * 3 // 4,
                                          self.aborted.is_set)
            # no record boundary in reach (a quoted field runs on): the first part takes all
            part.start = part.end if cut is None else cut
            self.parts[0].end = part.start
            self.cut.set()
            for data in self._chunks(part):
                if self.aborted.is_set() or self.detached.is_set():
                    return
                self._to_fifo(part, data)
            self._to_fifo(part, b"")
        except BaseException as exc:
            part.error = exc
            self._to_fifo(part, b"")
        finally:
            self.cut.set()
            self._release(part)

    def _chunks(self, part: _Part, first: bool = False) -> Iterator[bytes]:
        start = part.start
        end = part.end
        while True:
            for done, data in utf8_chunks(self.path, self.encoding, start, end):
                part.done = start - part.start + done
                yield data
            if not first or len(self.parts) == 1:
                return
            self.cut.wait()  # the first part runs on to the cut
            if self.aborted.is_set() or part.end == end:
                return
            start, end = end, part.end

    def _to_fifo(self, part: _Part, data: bytes) -> None:
        """Write to the part's FIFO; never blocks for good: a reader that went away (or never
        came) is noticed by ``detached``, set by the ingest once its scan has ended."""
        if self.detached.is_set():
            return
        while part.writer is None:
            if self.detached.is_set():
                return
            try:  # without a reader, opening a FIFO to write fails (ENXIO): wait for one
                part.writer = os.open(part.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                sleep(0.005)
                continue
            with contextlib.suppress(OSError, AttributeError, ImportError):
                import fcntl  # Linux: 1 MB at a time instead of 64 KB, fewer wake-ups

                fcntl.fcntl(part.writer, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        try:
            view = memoryview(data)
            while view:
                if self.detached.is_set():
                    raise BrokenPipeError
                try:
                    view = view[os.write(part.writer, view):]
                except BlockingIOError:
                    select.select([], [part.writer], [], 0.05)
        except BrokenPipeError:  # the scan stopped reading
            self.detached.set()
            self._close_fifo(part)

    def _release(self, part: _Part) -> None:
        """End the part's FIFO. DuckDB opens every file of its ``read_csv`` when the scan
        starts, and opening a FIFO to read waits for a writer: a scan whose rows in the
        other FIFO failed waits there, and does not end, until one comes (measured). So a
        part that stops early opens its FIFO (and closes it: an end to read) until the scan
        is over."""
        while part.writer is None and not self.ended.is_set():
            try:
                part.writer = os.open(part.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                sleep(0.005)
        self._close_fifo(part)

    def _close_fifo(self, part: _Part) -> None:
        if part.writer is not None:
            with contextlib.suppress(OSError):
                os.close(part.writer)
            part.writer = None

    def head_file(self) -> Path:
        self.head_ready.wait()
        if self.error is not None and not self.head.exists():
            raise self.error
        return self.head

    def stop_streaming(self) -> None:
        """The scan of the FIFOs has ended (or will not start)."""
        self.detached.set()
        self.ended.set()

    def finish(self) -> None:
        """Wait for the transcoding to end (the stream's, or its stop); raise its error."""
        self.join()
        if self.error is not None:
            raise self.error

    def files(self) -> list[Path]:
        """The parts in UTF-8 files, for a scan after the stream's (a column's fallback, an
        editor's override): transcoded again, on two threads. Not written while streaming:
        writing 191 MB of UTF-8 into the page cache took 0.43 s of the kernel's time
        (measured), and most ingests never read them again."""
        self.stop_streaming()
        self.finish()
        with self._files_lock:
            if self._files is None:
                ranges = [(p.start, p.end) for p in self.parts]
                errors: list[BaseException | None] = [None] * len(ranges)

                def write(i: int) -> None:
                    skip = (self.skip or 0) if i == 0 else 0  # the data rows, as in the FIFOs
                    try:
                        with open(self.parts[i].file, "wb") as out:
                            for _, data in utf8_chunks(self.path, self.encoding, *ranges[i]):
                                if self.aborted.is_set():
                                    return
                                while skip and data:  # in the UTF-8 (a UTF-16 newline is
                                    end = data.find(b"\n") + 1  # not a byte of its own)
                                    data = data[end:] if end else b""
                                    skip -= 1 if end else 0
                                out.write(data)
                    except BaseException as exc:
                        errors[i] = exc

                helpers = [threading.Thread(target=write, args=(i,), daemon=True)
                           for i in range(1, len(ranges))]
                for helper in helpers:
                    helper.start()
                write(0)
                for helper in helpers:
                    helper.join()
                error = next((e for e in errors if e is not None), None)
                if error is not None:
                    raise error
                self._files = [part.file for part in self.parts]
            return self._files

    def first_line(self, part: int) -> int:
        """The lines (as DuckDB counts them: rows) of the upload before the first row of a
        part: what its ``reject_errors.line`` is offset by. Counted in the source, and only
        for a rejected row of the second part."""
        skip = self.skip or 0
        if part == 0:
            return skip
        if self._second_line is None:
            start = 0
            for _ in range(skip):  # past the header (no quoted field spans its lines)
                start = transcoding.newline_after(self.path, start, self.total) or self.total
            self._second_line = skip + transcoding.records(self.path, start,
                                                           self.parts[1].start)
        return self._second_line

    def abort(self) -> None:
        self.aborted.set()
        self.detached.set()
        self.ended.set()
        self.rows_ready.set()
        self.cut.set()
        self.head_ready.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


# --- header ------------------------------------------------------------------------------------


def _filled(row: Iterable[Any]) -> int:
    return sum(1 for v in row if v is not None and str(v).strip() != "")


def _width(rows: list[list[Any]]) -> int:
    """The table's width: the most common count of cells up to the last filled one."""
    ends = []
    for row in rows:
        last = max((i + 1 for i, v in enumerate(row) if v is not None and str(v).strip()),
                   default=0)
        if last:
            ends.append(last)
    if not ends:
        return 0
    counts = Counter(ends)
    # the data rows agree; title rows are short. Ties go to the wider table.
    return max(counts, key=lambda w: (counts[w], w))


def find_header(rows: list[list[Any]], width: int) -> int:
    """Index of the header: the first row filled across most of the table's width (title
    rows and merged group headings above it fill one or a few cells)."""
    need = max(1, math.ceil(0.6 * width))
    for i, row in enumerate(rows):
        if _filled(row[:width]) >= need:
            return i
    return 0


def column_names(header: list[Any], width: int) -> list[str]:
    """Names from the header cells: trimmed, blanks named 列N, repeats numbered."""
    names: list[str] = []
    seen: set[str] = set()
    for i in range(width):
        raw = header[i] if i < len(header) else None
        name = re.sub(r"\s+", " ", cell_text(raw) or "").strip()[:100] or f"列{i + 1}"
        base, n = name, 2
        while name.lower() in seen or name.startswith("_"):
            name = f"{base}_{n}" if not base.startswith("_") else f"{base.lstrip('_')}_{n}"
            n += 1
        seen.add(name.lower())
        names.append(name)
    return names


def cell_text(value: Any) -> str | None:
    """A spreadsheet or JSON value as the text a CSV would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if text.strip() != "" else None


# --- loading into DuckDB -----------------------------------------------------------------------


def _raw_table(con: Any, width: int) -> None:
    cols = ", ".join(f"c{i} VARCHAR" for i in range(width))
    con.execute(f"CREATE TABLE raw ({cols})")


def _insert_rows(con: Any, rows: list[list[str | None]], width: int) -> None:
    import pyarrow as pa

    arrays = [pa.array([r[i] for r in rows], type=pa.string()) for i in range(width)]
    batch = pa.table(arrays, names=[f"c{i}" for i in range(width)])
    con.register("batch", batch)
    con.execute("INSERT INTO raw SELECT * FROM batch")
    con.unregister("batch")


def _check_width(width: int) -> None:
    if width > MAX_COLUMNS:
        raise bad_file("datastore.too_many_columns", columns=width, max=MAX_COLUMNS)


class _Rejects:
    def __init__(self) -> None:
        self.listed: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: int, reason: str, value: str = "", column: str | None = None) -> None:
        self.count += 1
        if len(self.listed) < MAX_REJECTS_LISTED:
            self.listed.append({"row": row, "column": column, "value": value[:200],
                                "reason": reason})


def _load_rows(con: Any, rows: Iterator[tuple[int, list[Any]]], loaded: Loaded,
               progress: Progress | None) -> None:
    """Rows of cells (with their row number in the file) after the header into ``raw``."""
    width = len(loaded.names)
    rejects = _Rejects()
    batch: list[list[str | None]] = []
    done = 0
    for number, row in rows:
        cells = [cell_text(v) for v in row]
        if not any(c is not None and c.strip() for c in cells):
            continue
        if len(cells) > width and any(c is not None and c.strip() for c in cells[width:]):
            rejects.add(number, "too_many_fields", ", ".join(c or "" for c in cells))
            continue
        cells = (cells + [None] * width)[:width]
        batch.append(cells)
        if len(batch) >= BATCH_ROWS:
            _insert_rows(con, batch, width)
            done += len(batch)
            batch = []
            if progress:
                progress("read", done, 0)
    if batch:
        _insert_rows(con, batch, width)
    loaded.rejected, loaded.rows_rejected = rejects.listed, rejects.count


def load_csv(con: Any, path: Path, work: Path, *, tsv: bool, encoding: str | None,
             delimiter: str | None, header_row: int | None, progress: Progress | None,
             size: int) -> Loaded:
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if not sample.strip():
        raise bad_file("datastore.empty")
    enc = _normal_encoding(encoding) if encoding else detect_encoding(sample)
    source = path
    if enc not in ("utf-8", "utf-8-sig"):
        if hasattr(os, "mkfifo"):
            # transcoded while the write reads it: the two run on both cores at once
            pipe = Transcoder(path, enc, work, size)
            pipe.start()
            try:
                with open(pipe.head_file(), "rb") as f:
                    sample = f.read(SAMPLE_BYTES)
                loaded = _csv_layout(sample, pipe.file, enc, tsv=tsv, delimiter=delimiter,
                                     header_row=header_row, pipe=pipe)
                pipe.stream_rows(loaded.skip)
                return loaded
            except BaseException:
                pipe.abort()
                raise
        source = work / "utf8.csv"
        transcode(path, enc, source, progress, size)
        with open(source, "rb") as f:
            sample = f.read(SAMPLE_BYTES)
    return _csv_layout(sample, source, enc, tsv=tsv, delimiter=delimiter, header_row=header_row)


def _csv_layout(sample: bytes, source: Path, enc: str, *, tsv: bool, delimiter: str | None,
                header_row: int | None, pipe: Transcoder | None = None) -> Loaded:
    """Delimiter, header and column names from the first UTF-8 bytes of ``source``."""
    text = sample.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    if len(sample) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rfind("\n") + 1]  # whole lines only

    delim = delimiter or sniff_delimiter(text, "\t" if tsv else ",")
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    head: list[list[str]] = []
    line_after: list[int] = []  # lines consumed after each row: DuckDB's skip
    try:
        for row in reader:
            head.append(row)
            line_after.append(reader.line_num)
            if len(head) >= HEAD_ROWS:
                break
    except csv.Error:
        pass
    width, index = _header(head, header_row, "datastore.empty")
    names = column_names(head[index], width)
    skip = line_after[index]
    loaded = Loaded(names=names, source_format="tsv" if tsv else "csv",
                    encoding=enc,
                    delimiter=delim, header_row=skip)
    loaded.csv, loaded.skip, loaded.pipe = source, skip, pipe
    return loaded


def csv_scan(loaded: Loaded, paths: list[Path] | None = None, skip: int | None = None,
             *, head: bool = False) -> str:
    """DuckDB's parallel CSV reader over the file (or ``paths``: its head, or the FIFOs or
    files it is transcoded into, read in their order), every column as text; rows it cannot
    read go to its ``reject_errors`` table (read by ``csv_rejects`` after the scan). DuckDB
    applies ``skip`` to every file. ``head``: only the first rows will be read (the sample),
    so DuckDB reads buffers of ``MAX_LINE`` bytes, not its default 32 MB per thread
    (10,000 rows: 16 ms instead of 41 ms, measured)."""
    width = len(loaded.names)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    files = [str(p) for p in paths] if paths else [str(loaded.csv)]
    source = sql_text(files[0]) if len(files) == 1 else (
        "[" + ", ".join(sql_text(f) for f in files) + "]")
    return (f"read_csv({source}, header=false, "
            f"skip={loaded.skip if skip is None else skip}, "
            f"columns={columns}, delim={sql_text(loaded.delimiter)}, quote='\"', escape='\"', "
            f"auto_detect=false, store_rejects=true, max_line_size={MAX_LINE}"
            f"{f', buffer_size={MAX_LINE}' if head else ''})")


REJECT_REASONS = {"TOO MANY COLUMNS": "too_many_fields", "MISSING COLUMNS": "missing_fields",
                  "UNQUOTED VALUE": "quote", "INVALID UNICODE": "encoding",
                  "LINE SIZE OVER MAXIMUM": "line_too_long", "INVALID STATE": "quote"}


def csv_rejects(con: Any, loaded: Loaded) -> None:
    """The rows the last CSV scan on ``con`` could not read, with line, column and reason.
    A scan of a file transcoded in two parts numbers the lines of each part from 1: the
    lines before a part are added (``Loaded.first_line``)."""
    width = len(loaded.names)
    rejects = con.execute(
        "SELECT file_id, line, column_idx, error_type, csv_line FROM reject_errors "
        f"ORDER BY file_id, line LIMIT {MAX_REJECTS_LISTED}").fetchall()
    loaded.rows_rejected = con.execute(
        "SELECT count(DISTINCT (file_id, line)) FROM reject_errors").fetchone()[0]
    loaded.rejected = []
    seen: set[tuple[int, int]] = set()
    for file_id, line, column_idx, error_type, csv_line in rejects:
        if (file_id, line) in seen:
            continue
        seen.add((file_id, line))
        column = loaded.names[column_idx - 1] if column_idx and 0 < column_idx <= width else None
        loaded.rejected.append({
            "row": int(line) + loaded.first_line(int(file_id or 0)), "column": column,
            "value": (csv_line or "")[:200],
            "reason": REJECT_REASONS.get(str(error_type), "unreadable")})


def sniff_delimiter(text: str, default: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields."""
    best, best_score = default, 0
    for d in (default, *[x for x in DELIMITERS if x != default]):
        try:
            rows = [r for _, r in zip(range(200), csv.reader(io.StringIO(text), delimiter=d),
                                      strict=False) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        counts = Counter(len(r) for r in rows)
        if not counts:
            continue
        width, agree = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        score = agree if width > 1 else 0
        if score > best_score:
            best, best_score = d, score
    return best


def _sheet_rows(rows: Iterator[tuple[Any, ...]], loaded_sheet: str, sheets: list[str],
                header_row: int | None, fmt: str) -> tuple[Loaded, Iterator[tuple[int, list]]]:
    head: list[list[Any]] = []
    for row in rows:
        head.append(list(row))
        if len(head) >= HEAD_ROWS:
            break
    width, index = _header(head, header_row, "datastore.sheet_empty", sheet=loaded_sheet)
    loaded = Loaded(names=column_names(head[index], width), source_format=fmt,
                    header_row=index + 1, sheet=loaded_sheet, sheets=sheets)

    def numbered() -> Iterator[tuple[int, list]]:
        n = index + 1
        for row in head[index + 1:]:
            n += 1
            yield n, row
        for row in rows:
            n += 1
            yield n, list(row)

    return loaded, numbered()


def _pick_sheet(names: list[str], sheet: str | int | None) -> int:
    if sheet is None or sheet == "":
        return 0
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit()):
        i = int(sheet) - 1
        if 0 <= i < len(names):
            return i
    elif sheet in names:
        return names.index(sheet)
    raise bad_file("datastore.sheet_unknown", sheet=str(sheet)[:100], sheets="、".join(names))


def load_xlsx(con: Any, path: Path, *, sheet: str | int | None, header_row: int | None,
              progress: Progress | None) -> Loaded:
    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
            packed = max(1, sum(i.compress_size for i in z.infolist()))
    except zipfile.BadZipFile:
        raise bad_file("datastore.xlsx_broken") from None
    if unpacked > MAX_XLSX_UNPACKED or unpacked / packed > MAX_XLSX_RATIO:
        raise bad_file("datastore.zip_bomb")
    import openpyxl

    handle = open(path, "rb")  # noqa: SIM115 - closed below; a name would need ".xlsx"
    try:
        wb = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken package
        handle.close()
        raise bad_file("datastore.xlsx_broken") from None
    try:
        names = list(wb.sheetnames)
        ws = wb[names[_pick_sheet(names, sheet)]]
        loaded, rows = _sheet_rows(iter(ws.iter_rows(values_only=True)), ws.title, names,
                                   header_row, "xlsx")
        _raw_table(con, len(loaded.names))
        _load_rows(con, rows, loaded, progress)
    finally:
        wb.close()
        handle.close()
    return loaded


def _header(head: list[list[Any]], header_row: int | None, empty_key: str,
            **params: Any) -> tuple[int, int]:
    """The table's width and the index of its header among the first rows: the row the
    editor named (1-based), else the one ``find_header`` picks below any title rows."""
    width = _width(head)
    if width == 0:
        raise bad_file(empty_key, **params)
    _check_width(width)
    if header_row is None:
        return width, find_header(head, width)
    if not 1 <= header_row <= len(head):
        raise bad_file("datastore.header_row", row=header_row)
    return width, header_row - 1


def load_xls(con: Any, path: Path, *, sheet: str | int | None, header_row: int | None,
             progress: Progress | None) -> Loaded:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception:  # xlrd raises many kinds (XLRDError, struct.error, …) for a broken file
        raise bad_file("datastore.xls_broken") from None
    names = book.sheet_names()
    sh = book.sheet_by_index(_pick_sheet(names, sheet))

    def values() -> Iterator[tuple[Any, ...]]:
        for r in range(sh.nrows):
            out = []
            for c in sh.row(r):
                if c.ctype == xlrd.XL_CELL_DATE:
                    out.append(xlrd.xldate.xldate_as_datetime(c.value, book.datemode))
                elif c.ctype == xlrd.XL_CELL_BOOLEAN:
                    out.append(bool(c.value))
                elif c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    out.append(None)
                else:
                    out.append(c.value)
            yield tuple(out)

    loaded, rows = _sheet_rows(values(), sh.name, names, header_row, "xls")
    _raw_table(con, len(loaded.names))
    _load_rows(con, rows, loaded, progress)
    return loaded


def _json_records(path: Path, fmt: str, encoding: str) -> Iterator[tuple[int, Any]]:
    if fmt == "ndjson":
        with open(path, encoding=encoding) as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    yield n, json.loads(line)
                except ValueError:
                    yield n, ValueError(line)
        return
    if path.stat().st_size > MAX_JSON_ARRAY_BYTES:
        raise bad_file("datastore.json_too_large")
    with open(path, encoding=encoding) as f:
        try:
            data = json.load(f)
        except ValueError as exc:
            raise bad_file("datastore.json_invalid", line=getattr(exc, "lineno", 0)) from None
    if isinstance(data, dict):
        # {"records": [...]} / {"data": [...]} from departments' systems
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise bad_file("datastore.json_shape")
        data = lists[0]
    if not isinstance(data, list):
        raise bad_file("datastore.json_shape")
    yield from enumerate(data, start=1)


def load_json(con: Any, path: Path, fmt: str, progress: Progress | None) -> Loaded:
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if not sample.strip():
        raise bad_file("datastore.empty")
    enc = detect_encoding(sample)
    if fmt == "json" and sample.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{") and (
            b"\n{" in sample or b"}\n{" in sample.replace(b"\r", b"")):
        fmt = "ndjson"  # one object per line, named .json
    keys: dict[str, int] = {}
    rejects = _Rejects()
    batch: list[dict[str, Any]] = []
    created = 0
    total = 0

    def flush() -> None:
        nonlocal created, batch
        width = len(keys)
        _check_width(width)
        if created < width:
            for i in range(created, width):
                if created == 0 and i == 0:
                    con.execute("CREATE TABLE raw (c0 VARCHAR)")
                else:
                    con.execute(f"ALTER TABLE raw ADD COLUMN c{i} VARCHAR")
            created = width
        rows = [[cell_text(rec.get(k)) for k in keys] for rec in batch]
        if rows:
            _insert_rows(con, rows, width)
        batch = []

    for n, rec in _json_records(path, fmt, enc):
        if isinstance(rec, ValueError):
            rejects.add(n, "json", str(rec)[:200])
            continue
        if not isinstance(rec, dict):
            rejects.add(n, "not_an_object", json.dumps(rec, ensure_ascii=False)[:200])
            continue
        for k in rec:
            if k not in keys:
                keys[k] = len(keys)
        batch.append(rec)
        total += 1
        if len(batch) >= BATCH_ROWS:
            flush()
            if progress:
                progress("read", total, 0)
    if not keys:
        raise bad_file("datastore.no_rows")
    flush()
    loaded = Loaded(names=column_names(list(keys), len(keys)), source_format=fmt, encoding=enc)
    loaded.rejected, loaded.rows_rejected = rejects.listed, rejects.count
    return loaded


def load_parquet(con: Any, path: Path) -> Loaded:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error:
        raise bad_file("datastore.parquet_broken") from None
    names = [d[0] for d in described]
    _check_width(len(names))
    select = ", ".join(f'CAST("{n.replace(chr(34), chr(34) * 2)}" AS VARCHAR) AS c{i}'
                       for i, n in enumerate(names))
    # a view: the write scans the file once, no copy of it as a text table
    con.execute(f"CREATE VIEW raw AS SELECT {select} FROM read_parquet({sql_text(str(path))})")
    return Loaded(names=column_names(names, len(names)), source_format="parquet")
