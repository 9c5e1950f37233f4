"""An upload in GB18030 (GBK), Big5 or another encoding, read into UTF-8 fast and in order.

CPython's codecs are the reference: a file reads as its ``bytes.decode(encoding)``. For
GB18030, glibc's ``iconv`` does the work where its output is the same (called through ctypes,
which lets go of the GIL: the two halves of a file convert on both cores, and glibc converts
~2x as fast as CPython's decoder). glibc's GBK converter goes first (``_Fast``): where it
converts, it writes CPython's characters (measured), and it stops at whatever GBK lacks. The
lines it stops at go the exact way (``_Table``): glibc's GB18030 converter, which follows
GB18030-2022 where CPython follows GB18030-2005: measured on Debian 12 (glibc 2.36, Python
3.11), 26 byte sequences decode to other code points (A6D9 -> U+E78D in Python, U+FE10 in
glibc; A8BC and 8135F437 swap U+E7C7 and U+1E3F), mapped back, and 18 four-byte sequences
that Python decodes make glibc fail (82359037.., 84318236..): Python decodes that line, so a
file in mixed encodings fails on the same line as before. The differences are not written
down here: they are measured once per process, and a converter is not used if it is missing
or accepts a sequence Python rejects (but for GBK's 0x80, told by its output).

A file is split at a record boundary near its middle (``split_point``) so that DuckDB reads the
two parts on two threads; ``records`` counts the rows of the first part when a rejected row of
the second must be named by its line in the whole upload.
"""

from __future__ import annotations

import codecs
import ctypes
import errno
import itertools
import mmap
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# encodings in which the bytes 0x0A (newline) and 0x22 (quote) only ever stand for themselves,
# never inside a multi-byte character: a file in them can be cut at a newline byte
SPLITTABLE = frozenset({"gb18030", "big5"})
READ = 4 * 1024 * 1024  # bytes read at a time by the scans over the source below
# leading bytes of UTF-8 that Chinese text is full of (Latin-1 signs such as U+00B7, general
# punctuation, CJK symbols and ideographs, full-width forms): a character that glibc and
# Python decode differently is looked for by its first bytes then, not by one byte
_COMMON_LEADS = frozenset({0xC2, 0xC3, *range(0xE2, 0xEA), 0xEF})


class Undecodable(Exception):
    """Bytes at ``offset`` in the file that are not in its encoding; ``truncated``: a
    character cut short by the end of the file."""

    def __init__(self, offset: int, truncated: bool = False) -> None:
        super().__init__(offset, truncated)
        self.offset, self.truncated = offset, truncated


# --- glibc's iconv ---------------------------------------------------------------------------

_SIZE_FAILED = ctypes.c_size_t(-1).value


class _Iconv:
    """One glibc conversion descriptor (for one thread at a time). ctypes releases the GIL
    for the call, so conversions on two threads run on two cores."""

    def __init__(self, lib: Any, cd: int) -> None:
        self._lib, self._cd = lib, cd
        self._out = ctypes.create_string_buffer(0)

    @classmethod
    def open(cls, to: bytes, source: bytes) -> _Iconv | None:
        lib = _libc()
        if lib is None:
            return None
        cd = lib.iconv_open(to, source)
        if cd is None or cd == _SIZE_FAILED:
            return None
        return cls(lib, cd)

    def convert(self, data: bytes, start: int = 0) -> tuple[bytes, int, int]:
        """The UTF-8 of ``data[start:]`` as far as it converts, the offset in ``data`` where
        it stopped, and why: 0 (the end), ``EILSEQ`` (a sequence it cannot convert) or
        ``EINVAL`` (a character cut by the end of ``data``)."""
        lib = self._lib
        # GB18030 -> UTF-8 at most 1.5x (two bytes become three)
        need = (len(data) - start) * 3 // 2 + 64
        if len(self._out) < need:
            self._out = ctypes.create_string_buffer(need)
        out = self._out
        keep = ctypes.c_char_p(data)  # points into ``data`` itself: no copy
        src = ctypes.c_char_p((ctypes.cast(keep, ctypes.c_void_p).value or 0) + start)
        left = ctypes.c_size_t(len(data) - start)
        pieces = []
        while True:
            dst = ctypes.c_char_p(ctypes.addressof(out))
            room = ctypes.c_size_t(len(out))
            result = lib.iconv(self._cd, ctypes.byref(src), ctypes.byref(left),
                               ctypes.byref(dst), ctypes.byref(room))
            pieces.append(ctypes.string_at(out, len(out) - room.value))
            why = 0 if result != _SIZE_FAILED else ctypes.get_errno()
            if why != errno.E2BIG:
                break
        del keep
        return (pieces[0] if len(pieces) == 1 else b"".join(pieces)), len(data) - left.value, why

    def close(self) -> None:
        if self._cd is not None:
            self._lib.iconv_close(self._cd)
            self._cd = None

    def __del__(self) -> None:
        self.close()


_lib_lock = threading.Lock()
_lib: list[Any] = []


def _libc() -> Any:
    with _lib_lock:
        if not _lib:
            try:
                lib = ctypes.CDLL(None, use_errno=True)
                lib.iconv_open.restype = ctypes.c_void_p
                lib.iconv_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
                lib.iconv.restype = ctypes.c_size_t
                lib.iconv.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p),
                                      ctypes.POINTER(ctypes.c_size_t),
                                      ctypes.POINTER(ctypes.c_char_p),
                                      ctypes.POINTER(ctypes.c_size_t)]
                lib.iconv_close.argtypes = [ctypes.c_void_p]
                _lib.append(lib)
            except (OSError, AttributeError):  # no C library with iconv (not glibc)
                _lib.append(None)
        return _lib[0]


@dataclass(frozen=True)
class _Table:
    """How glibc's output is made Python's: ``fixes`` maps glibc's UTF-8 of each character
    it decodes differently to Python's; ``checks`` find whether a chunk holds any of them
    (per group of characters sharing their first two bytes: a rare first byte looked for
    first, then the group's pattern), ``pattern`` replaces them all at once (two of them
    swap: A8BC and 8135F437)."""

    fixes: dict[bytes, bytes]
    checks: tuple[tuple[bytes | None, re.Pattern[bytes]], ...]
    pattern: re.Pattern[bytes] | None

    def apply(self, text: bytes) -> bytes:
        for rare, search in self.checks:
            if (rare is None or rare in text) and search.search(text):
                assert self.pattern is not None
                return self.pattern.sub(lambda m: self.fixes[m.group()], text)
        return text


def _python(seqs: list[bytes]) -> list[str | None]:
    """Python's decoding of each sequence (None: rejected), in one call: the sequences
    apart by newlines, a rejected one's bytes escaped into lone surrogates. Sequence by
    sequence if an error took in a newline."""
    pieces = b"\n".join(seqs).decode("gb18030", "surrogateescape").split("\n")
    if len(pieces) == len(seqs):
        return [p if len(p) == 1 and not "\udc80" <= p <= "\udcff" else None
                for p in pieces]
    out: list[str | None] = []
    for seq in seqs:
        try:
            out.append(seq.decode("gb18030"))
        except UnicodeDecodeError:
            out.append(None)
    return out


def _measure_glibc() -> _Table | None:
    """Decode every two-byte sequence, the four-byte range of the BMP (and the corners of
    the rest) both ways: the characters glibc decodes differently, or None if glibc is
    missing or accepts a sequence that Python rejects. ~40 ms."""
    conv = _Iconv.open(b"UTF-8", b"GB18030")
    lenient = _Iconv.open(b"UTF-8//IGNORE", b"GB18030")
    if conv is None or lenient is None:
        return None
    trails = [*range(0x40, 0x7F), *range(0x80, 0xFF)]
    two = [bytes((a, b)) for a in range(0x81, 0xFF) for b in trails]
    four = [bytes((a, b, c, d)) for a in range(0x81, 0x85) for b in range(0x30, 0x3A)
            for c in range(0x81, 0xFF) for d in range(0x30, 0x3A)]
    four += [bytes((a, b, c, d)) for a in range(0x85, 0xFF) for b in (0x30, 0x39)
             for c in (0x81, 0xFE) for d in (0x30, 0x39)]
    others = [b"\x80", b"\xff"] + [bytes((a, b)) for a in range(0x81, 0xFF)
                                   for b in (*range(0x00, 0x0A), *range(0x0B, 0x30),
                                             *range(0x3A, 0x40), 0x7F, 0xFF)]
    seqs = two + four + others
    decoded = _python(seqs)
    accepted = [i for i, text in enumerate(decoded) if text is not None]
    rejected = [i for i, text in enumerate(decoded) if text is None]

    # what Python rejects: glibc must reject it too (skipped by //IGNORE, leaving at most the
    # sequence's ASCII bytes); a doubtful one is tried alone
    ascii_only = bytes(range(0x80, 0x100))
    out, _, _ = lenient.convert(b"\n".join(seqs[i] for i in rejected) + b"\n")
    pieces = out.split(b"\n")
    if len(pieces) != len(rejected) + 1:
        return None
    for i, piece in zip(rejected, pieces, strict=False):
        if piece and piece != seqs[i].translate(None, ascii_only):
            _, stop, why = conv.convert(seqs[i])
            if why == 0 and stop == len(seqs[i]):
                return None
    # a lead byte and a newline: glibc must not take the newline into a character
    for a in range(0x81, 0xFF):
        if conv.convert(bytes((a, 0x0A)))[2] == 0:
            return None

    # what Python accepts: glibc's output, sequence by sequence (starting again after each
    # one it cannot convert: Python decodes those on the stream)
    got: dict[int, bytes] = {}
    joined = b"\n".join(seqs[i] for i in accepted) + b"\n"
    starts = [0, *itertools.accumulate(len(seqs[i]) + 1 for i in accepted)]
    k = 0  # the next sequence to convert
    while k < len(accepted):
        out, _, why = conv.convert(joined, starts[k])
        pieces = out.split(b"\n")
        done = len(pieces) - 1
        got.update(zip(accepted[k:k + done], pieces[:done], strict=True))
        if why == 0:
            break
        if why != errno.EILSEQ:
            return None
        k += done + 1
    fixes: dict[bytes, bytes] = {}
    for i, utf8 in got.items():
        text = decoded[i]
        assert text is not None
        if utf8 != text.encode():
            fixes[utf8] = text.encode()
    # a character glibc writes for two sequences could not be mapped back
    made = Counter(got.values())
    if any(made[utf8] > 1 or not utf8 for utf8 in fixes):
        return None
    groups: dict[bytes, list[bytes]] = {}
    for utf8 in fixes:
        groups.setdefault(utf8[:2], []).append(utf8)
    checks = tuple(
        (None if prefix[0] in _COMMON_LEADS else prefix[:1],
         re.compile(re.escape(prefix) + b"(?:" + b"|".join(re.escape(u[2:]) for u in group)
                    + b")"))
        for prefix, group in sorted(groups.items()))
    pattern = re.compile(b"|".join(re.escape(u) for u in sorted(fixes, key=len, reverse=True))
                         ) if fixes else None
    conv.close()
    lenient.close()
    return _Table(fixes, checks, pattern)


def _once(measure: Callable[[], Any]) -> Callable[[], Any]:
    """``measure`` run once per process, by the first thread to ask (the others wait)."""
    lock = threading.Lock()
    done: list[Any] = []

    def cached() -> Any:
        with lock:
            if not done:
                done.append(measure())
            return done[0]

    return cached


glibc_table: Callable[[], _Table | None] = _once(_measure_glibc)
"""``_measure_glibc`` once per process; None: CPython's codec decodes alone."""


@dataclass(frozen=True)
class _Fast:
    """glibc's GBK converter, the first to try: wherever it converts a two-byte sequence,
    it writes CPython's character (measured: no exception), and it stops at every sequence
    GBK lacks (four-byte ones, the user-defined areas, those glibc's GB18030 decodes
    differently), which the exact way then converts; no output to check. It does take a
    few bytes that CPython rejects (0x80, as U+20AC): ``poison`` finds what it writes for
    them, and a chunk holding that is converted the exact way."""

    poison: re.Pattern[bytes] | None
    # the first bytes of those bytes: text without them (GB2312's characters never hold
    # 0x80) is not searched at all (0.048 s for 157 MB, measured)
    leads: bytes


def _measure_gbk() -> _Fast | None:
    """Every two-byte sequence and single byte both ways (~15 ms). None: glibc's GBK is
    missing, writes another character than CPython for a sequence both take, or ASCII for
    one that CPython rejects."""
    strict = _Iconv.open(b"UTF-8", b"GBK")
    lenient = _Iconv.open(b"UTF-8//IGNORE", b"GBK")
    if strict is None or lenient is None:
        return None
    seqs = [bytes((a, b)) for a in range(0x81, 0xFF) for b in range(0x100) if b != 0x0A]
    seqs += [bytes((a,)) for a in range(0x80, 0x100)]
    decoded = _python(seqs)
    # //IGNORE skips what glibc cannot convert: a sequence it rejects leaves at most its
    # trailing byte (ASCII, or 0x80 read as U+20AC); anything else is tried alone
    out, _, _ = lenient.convert(b"\n".join(seqs) + b"\n")
    pieces = out.split(b"\n")
    if len(pieces) != len(seqs) + 1:
        return None
    high = bytes(range(0x80, 0x100))
    poison: set[bytes] = set()
    leads: set[int] = set()
    for seq, text, piece in zip(seqs, decoded, pieces, strict=False):
        python = text.encode() if text is not None else None
        if piece == python or (python is None and piece == seq.translate(None, high)):
            continue
        got, stop, why = strict.convert(seq)
        if why != 0 or stop != len(seq):
            continue  # glibc rejects it: the exact way converts it
        if python is not None or got.isascii():
            return None
        poison.add(got)
        leads.add(seq[0])
    # a lead byte and a newline: glibc must not take the newline into a character
    for a in range(0x81, 0xFF):
        if strict.convert(bytes((a, 0x0A)))[2] == 0:
            return None
    strict.close()
    lenient.close()
    return _Fast(re.compile(b"|".join(re.escape(p) for p in sorted(poison)))
                 if poison else None, bytes(sorted(leads)))


gbk_table: Callable[[], _Fast | None] = _once(_measure_gbk)
"""``_measure_gbk`` once per process; None: glibc's GB18030 (or CPython) decodes."""


# --- a byte range into UTF-8 ------------------------------------------------------------------


def utf8_range(path: Path, encoding: str, start: int, end: int, *, chunk: int,
               final: bool, iconv: bool = True) -> Iterator[tuple[int, bytes]]:
    """The bytes ``[start, end)`` of the file in UTF-8, chunk by chunk (bounded memory):
    (bytes of the range read so far, UTF-8). ``start`` and ``end`` lie between characters;
    ``final``: the range ends the file. Raises ``Undecodable``."""
    glibc = _Glibc.open() if iconv and encoding == "gb18030" else None
    if glibc is None:
        yield from _python_range(path, encoding, start, end, chunk=chunk, final=final)
        return
    try:
        with open(path, "rb") as src:
            src.seek(start)
            at, left = start, b""
            while at < end and (block := src.read(min(chunk, end - at))):
                at += len(block)
                data = left + block if left else block
                text, left = glibc.convert(data, at - len(data))
                yield at - start, text
            if left:
                try:
                    text = left.decode("gb18030")
                except UnicodeDecodeError:
                    raise Undecodable(at - len(left), truncated=final) from None
                yield at - start, text.encode()
    finally:
        glibc.close()


class _Glibc:
    """GB18030 through glibc, for one range on one thread: its GBK converter first, its
    GB18030 converter (``_Table``) for the lines GBK lacks, CPython for those glibc lacks."""

    MISSES = 8  # lines GBK lacks in a chunk, after which its rest goes the exact way

    def __init__(self, fast: _Iconv | None, info: _Fast | None) -> None:
        self._fast = fast
        self._poison = info.poison if info is not None else None
        self._leads = [bytes((b,)) for b in info.leads] if info is not None else []
        self._exact: tuple[_Iconv, _Table] | None = None
        self._tried = False

    @classmethod
    def open(cls) -> _Glibc | None:
        info = gbk_table()
        fast = _Iconv.open(b"UTF-8", b"GBK") if info is not None else None
        glibc = cls(fast, info)
        if fast is None and glibc.exact() is None:
            return None
        return glibc

    def exact(self) -> tuple[_Iconv, _Table] | None:
        if not self._tried:
            self._tried = True
            table = glibc_table()
            conv = _Iconv.open(b"UTF-8", b"GB18030") if table is not None else None
            if conv is not None and table is not None:
                self._exact = (conv, table)
        return self._exact

    def close(self) -> None:
        for conv in (self._fast, self._exact[0] if self._exact else None):
            if conv is not None:
                conv.close()

    def convert(self, data: bytes, offset: int) -> tuple[bytes, bytes]:
        """``data`` (at ``offset`` in the file) in UTF-8, and the bytes of a character it
        ends inside."""
        fast = self._fast
        if fast is None:
            return self._exact_way(data, offset)
        out: list[bytes] = []
        at = misses = 0
        while True:
            text, stop, why = fast.convert(data, at)
            if self._poison is not None and any(
                    data.find(lead, at, stop) >= 0 for lead in self._leads
            ) and self._poison.search(text):
                break  # bytes CPython rejects, maybe: the exact way, from ``at``
            out.append(text)
            at = stop
            if why == 0:
                return b"".join(out), b""
            if why == errno.EINVAL:
                return b"".join(out), data[stop:]
            misses += 1
            if misses > self.MISSES:
                break
            line_end = data.find(b"\n", stop)
            if line_end < 0:
                break
            text, _ = self._exact_way(data[stop:line_end + 1], offset + stop)
            out.append(text)
            at = line_end + 1
        text, left = self._exact_way(data[at:], offset + at)
        out.append(text)
        return b"".join(out), left

    def _exact_way(self, data: bytes, offset: int) -> tuple[bytes, bytes]:
        exact = self.exact()
        if exact is None:
            return _python_way(data, offset)
        return _convert(*exact, data, offset)


def _python_way(data: bytes, offset: int) -> tuple[bytes, bytes]:
    """CPython's decoding of ``data`` (at ``offset`` in the file), and the bytes of a
    character it ends inside."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    try:
        text = decoder.decode(data)
    except UnicodeDecodeError as exc:
        raise Undecodable(offset + len(data) - len(exc.object) + exc.start) from None
    return text.encode(), decoder.getstate()[0]


def _convert(conv: _Iconv, table: _Table, data: bytes, offset: int) -> tuple[bytes, bytes]:
    """``data`` (at ``offset`` in the file) through glibc's GB18030 in UTF-8, and the bytes
    of a character it ends inside. Where glibc fails, Python decodes to the end of the
    line: a sequence glibc lacks, or the bytes of another encoding, named by Python's
    error."""
    out: list[bytes] = []
    at = 0
    while True:
        text, stop, why = conv.convert(data, at)
        out.append(table.apply(text) if table.checks else text)
        if why == 0:
            return b"".join(out), b""
        if why == errno.EINVAL:
            return b"".join(out), data[stop:]
        line_end = data.find(b"\n", stop)
        at = line_end + 1 if line_end >= 0 else len(data)
        text, left = _python_way(data[stop:at], offset + stop)
        out.append(text)
        if at == len(data):
            return b"".join(out), left


def _python_range(path: Path, encoding: str, start: int, end: int, *, chunk: int,
                  final: bool) -> Iterator[tuple[int, bytes]]:
    # GB18030 files are nearly always plain GBK, which CPython decodes ~1.7x faster (the
    # same characters: its GB18030 decoder is GBK's tables plus four-byte sequences); the
    # first chunk GBK cannot decode switches to the GB18030 decoder for the rest
    fast = encoding == "gb18030"
    decoder = codecs.getincrementaldecoder("gbk" if fast else encoding)()
    with open(path, "rb") as src:
        src.seek(start)
        at = start
        while at < end and (block := src.read(min(chunk, end - at))):
            at += len(block)
            pending = decoder.getstate()[0]  # a character cut by the last block
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                if not fast:
                    raise Undecodable(at - len(exc.object) + exc.start) from None
                fast = False
                decoder = codecs.getincrementaldecoder(encoding)()
                try:
                    text = decoder.decode(pending + block)
                except UnicodeDecodeError as again:
                    raise Undecodable(at - len(again.object) + again.start) from None
            yield at - start, text.encode()
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise Undecodable(at - len(pending), truncated=final) from None
        if text:
            yield at - start, text.encode()


def line_at(path: Path, offset: int, encoding: str) -> int:
    """The 1-based line of the byte at ``offset`` (an error's, rarely needed: read again)."""
    lines = 0
    with open(path, "rb") as src:
        if encoding in SPLITTABLE or encoding.startswith("utf-8"):
            left = offset
            while left > 0 and (block := src.read(min(READ, left))):
                lines += block.count(b"\n")
                left -= len(block)
            return lines + 1
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        left = offset
        while left > 0 and (block := src.read(min(READ, left))):
            lines += decoder.decode(block).count("\n")
            left -= len(block)
    return lines + 1


# --- where to split --------------------------------------------------------------------------


def newline_after(path: Path, offset: int, limit: int) -> int | None:
    """The offset just past the first newline at or after ``offset``, before ``limit``."""
    with open(path, "rb") as src:
        src.seek(offset)
        at = offset
        while at < limit and (block := src.read(min(64 * 1024, limit - at))):
            found = block.find(b"\n")
            if found >= 0:
                return at + found + 1
            at += len(block)
    return None


def split_point(path: Path, offset: int, limit: int,
                aborted: Callable[[], bool] = lambda: False) -> int | None:
    """The first record boundary at or after ``offset`` (itself just past a newline) and
    before ``limit``: just past a newline with an even number of quote bytes before it, so
    that no quoted field spans it. None: there is none (or ``aborted``)."""
    quotes = 0
    with open(path, "rb") as src:
        # most files quote nothing: one search of the mapped file says so (12 ms for 78 MB,
        # where reading and counting took 35-47 ms, measured)
        with mmap.mmap(src.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            left = offset if mapped.find(b'"', 0, offset) >= 0 else 0
        while left > 0 and (block := src.read(min(READ, left))):
            if aborted():
                return None
            quotes += block.count(b'"')
            left -= len(block)
        at = offset
        src.seek(at)
        while at < limit:
            if quotes % 2 == 0:
                return at
            block = src.read(min(64 * 1024, limit - at))
            if not block or aborted():
                return None
            line_end = block.find(b"\n")
            if line_end < 0:
                quotes += block.count(b'"')
                at += len(block)
                continue
            quotes += block.count(b'"', 0, line_end)
            at += line_end + 1
            src.seek(at)
    return None


def records(path: Path, start: int, end: int) -> int:
    """Rows (newlines outside quoted fields, as DuckDB numbers its lines) in ``[start, end)``,
    which starts outside any quoted field."""
    count, inside = 0, False
    with open(path, "rb") as src:
        src.seek(start)
        left = end - start
        while left > 0 and (block := src.read(min(READ, left))):
            left -= len(block)
            if not inside and b'"' not in block:
                count += block.count(b"\n")
                continue
            for i, run in enumerate(block.split(b'"')):
                if i:
                    inside = not inside
                if not inside:
                    count += run.count(b"\n")
    return count
