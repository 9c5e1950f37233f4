"""A GB18030 upload is transcoded by glibc's iconv where it decodes as CPython (byte for byte,
also for the characters the two decode differently, and Python takes over where glibc has
no mapping), and a large one in two parts, cut at a record boundary, that DuckDB reads at
the same time and in order: the rows, their ``_id`` and the lines of rejected rows are those
of the same file read whole."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.authz import SYSTEM
from zhihui.core.errors import ValidationFailed
from zhihui.datastore import ingest as reading
from zhihui.datastore import service as ds
from zhihui.datastore import transcode, versions
from zhihui.datastore.query import Search
from zhihui.settings import Settings

# decoded differently by glibc 2.36 (GB18030-2022) and CPython (GB18030-2005), and four-byte
# sequences CPython decodes that glibc has no mapping for (measured)
DIFFERING = [bytes.fromhex(h) for h in (
    "a6d9", "a6da", "a6df", "a6ec", "a6f3", "a8bc", "fe51", "fe59", "fe6c", "fe91", "fea0",
    "8135f437")]
GLIBC_LACKS = [bytes.fromhex(h) for h in ("82359037", "84318236", "84318335")]
needs_glibc = pytest.mark.skipif(transcode.glibc_table() is None,
                                 reason="no glibc iconv that decodes as CPython")


def _utf8(path: Path, encoding: str = "gb18030", chunk: int = 4096) -> bytes:
    size = path.stat().st_size
    return b"".join(data for _, data in transcode.utf8_range(
        path, encoding, 0, size, chunk=chunk, final=True))


@needs_glibc
def test_glibc_output_is_pythons_also_for_the_characters_they_decode_differently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = []
    for i in range(400):
        odd = DIFFERING[i % len(DIFFERING)]
        rows.append(f"{i},杭州{i % 7}龙井茶业，有限公司".encode("gb18030") + b"," + odd + b"\r\n")
    data = "序号,名称,符号\r\n".encode("gb18030") + b"".join(rows) + "𠀀€".encode("gb18030")
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    # CPython decodes none of it itself: glibc does, and its output is mapped to Python's
    monkeypatch.setattr(transcode, "_python_range", None)
    for chunk in (4096, 4097, 65536):  # characters cut at every kind of chunk end
        assert _utf8(path, chunk=chunk) == data.decode("gb18030").encode()
    table = transcode.glibc_table()
    assert table is not None and len(table.fixes) >= len(DIFFERING)


@needs_glibc
def test_where_glibc_has_no_mapping_python_decodes_and_a_real_error_names_its_line(
        tmp_path: Path) -> None:
    lines = [f"{i},名称{i}".encode("gb18030") + b"," + GLIBC_LACKS[i % 3] + b"\n"
             for i in range(300)]
    path = tmp_path / "x.csv"
    path.write_bytes(b"".join(lines))
    assert _utf8(path) == path.read_bytes().decode("gb18030").encode()

    lines[250] = b"250,\xff\xfe,x\n"  # bytes no GB18030 text holds
    path.write_bytes(b"".join(lines))
    with pytest.raises(ValidationFailed) as exc:
        list(reading.utf8_chunks(path, "gb18030", 4000, path.stat().st_size))
    assert exc.value.message.key == "datastore.encoding_mixed"
    assert exc.value.message.params["line"] == 251  # in the whole file, read from byte 4000

    # glibc's GBK reads a lone 0x80 as the euro sign; CPython (and so this) rejects it
    plain = [f"{i},名称{i}，是\n".encode("gb18030") for i in range(300)]
    plain[250] = b"250,\x80,x\n"
    path.write_bytes(b"".join(plain))
    with pytest.raises(ValidationFailed) as exc:
        list(reading.utf8_chunks(path, "gb18030"))
    assert exc.value.message.params["line"] == 251

    path.write_bytes(b"".join(lines[:100]) + "名".encode("gb18030")[:1])
    with pytest.raises(ValidationFailed) as exc:
        list(reading.utf8_chunks(path, "gb18030"))
    assert exc.value.message.key == "datastore.truncated"
    assert exc.value.message.params["line"] == 101


def test_a_file_is_split_after_a_newline_outside_quotes(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    head = b"a,b\n" * 100
    quoted = b'1,"first line\nsecond, line\n""third"" line"\n'
    path.write_bytes(head + quoted + b"2,x\n" * 100)
    middle = len(head) + 5  # inside the quoted field
    start = transcode.newline_after(path, middle, path.stat().st_size)
    assert start == len(head) + quoted.index(b"\n") + 1
    assert transcode.split_point(path, start, path.stat().st_size) == len(head) + len(quoted)
    assert transcode.records(path, 0, len(head) + len(quoted)) == 101


HEADER = "序号,企业名称,成立日期,注册资本,高新\n"


def _rows(n: int) -> list[str]:
    return [f"{i},杭州{i % 97}数智科技有限公司,2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
            f"{i % 1000}.5,{'是' if i % 2 else '否'}\n" for i in range(1, n + 1)]


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files of a few hundred KB are split in two and stream in many pieces."""
    monkeypatch.setattr(reading, "TRANSCODE_CHUNK", 4096)
    monkeypatch.setattr(reading, "HEAD_BYTES", 8192)
    monkeypatch.setattr(reading, "SPLIT_BYTES", 32 * 1024)
    monkeypatch.setattr(versions, "SAMPLE_ROWS", 50)


@pytest.fixture
def split_small(small: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """The first part waits (up to 10 s) after its first piece until DuckDB has opened the
    second part's FIFO: a reader that read the parts one after the other would open it only
    after the first had ended."""
    seen: dict[str, list[float]] = {"parts": [], "opened_together": []}
    opened = [threading.Event(), threading.Event()]
    to_fifo = reading.Transcoder._to_fifo

    def watched(self: reading.Transcoder, part: reading._Part, data: bytes) -> None:
        index = self.parts.index(part)
        if index == 0 and data and len(self.parts) > 1 and not seen["opened_together"]:
            to_fifo(self, part, b"")  # opens the FIFO, once the scan has
            seen["opened_together"].append(opened[1].wait(10))
        to_fifo(self, part, data)
        if part.writer is not None:
            opened[index].set()
        seen["parts"].append(len(self.parts))

    monkeypatch.setattr(reading.Transcoder, "_to_fifo", watched)
    return seen


def _ingest(city: City, settings: Settings, dist: str, data: bytes, **options):  # type: ignore[no-untyped-def]
    with city.db.session() as s:
        v = ds.ingest(s, city.actors["editor"], dist, io.BytesIO(data), "企业.csv",
                      ds.IngestOptions(**options), data_root=settings.data_root)
        return ds.version_dict(v)


def _records(city: City, settings: Settings, dist: str) -> list[dict]:  # type: ignore[type-arg]
    with city.db.session() as s:
        return ds.search(s, SYSTEM, dist, Search(sort="_id", limit=10000),
                         data_root=settings.data_root)["records"]


def test_a_large_gbk_file_is_read_in_two_parts_at_once_in_order_with_its_rejects_lines(
        city: City, settings: Settings, split_small: dict[str, list[float]]) -> None:
    rows = _rows(6000)
    rows[99] = '100,"杭州，""引号""\n换行公司",2024-01-01,1.5,是\n'  # a quoted newline
    rows[199] = "200,多,一,列,的,行\n"  # rejected, in the first part
    rows[4999] = "5000,多,一,列,的,行\n"  # rejected, in the second part
    rows[5499] = rows[5499].replace("5500,", "5500.5,", 1)  # a fraction after the sample
    text = "企业名录（2024年）,,,,\n" + HEADER + "".join(rows)
    gbk, utf8 = (new_distribution(city.db, city.resources["open"]) for _ in range(2))
    v = _ingest(city, settings, gbk, text.encode("gbk"))
    w = _ingest(city, settings, utf8, text.encode())
    assert max(split_small["parts"]) == 2 and split_small["opened_together"] == [True]
    assert v["encoding"] == "gb18030" and v["rows"] == w["rows"] == 5998
    assert [c["type"] for c in v["columns"]] == [c["type"] for c in w["columns"]] == [
        "decimal", "text", "date", "decimal", "boolean"]
    got = _records(city, settings, gbk)
    assert got == _records(city, settings, utf8)
    assert [r["_id"] for r in got] == list(range(1, 5999))
    assert got[99]["企业名称"] == "杭州，\"引号\"\n换行公司" and got[-1]["序号"] == 6000
    assert v["report"]["rejected"] == w["report"]["rejected"]
    # DuckDB numbers rows, not lines: the quoted newline of row 100 adds none
    assert [r["row"] for r in v["report"]["rejected"]] == [202, 5002]
    assert list((settings.data_root / "_tmp").iterdir()) == []


@pytest.mark.parametrize("bad_row", [150, 5000])  # in the first part, in the second
def test_bytes_that_are_not_gbk_in_either_part_fail_with_their_line(
        city: City, settings: Settings, split_small: dict[str, list[float]],
        bad_row: int) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    lines = (HEADER + "".join(_rows(6000))).encode("gbk").splitlines(keepends=True)
    lines[bad_row] = b"7,\xff\xfe,2024-01-01,1.5,\xca\xc7\n"
    with pytest.raises(ValidationFailed) as exc:
        _ingest(city, settings, dist, b"".join(lines), encoding="gbk")
    assert exc.value.message.key == "datastore.encoding_mixed"
    assert exc.value.message.params["line"] == bad_row + 1
    assert list((settings.data_root / "_tmp").iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("transcode")]


def test_a_scan_that_stops_in_the_first_part_before_the_second_has_a_writer_does_not_hang(
        city: City, settings: Settings, small: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # DuckDB opens both FIFOs when the scan starts; the second part is late (its record
    # boundary takes 0.5 s to find) and the first part's rows stop the scan (a fraction in
    # an integer column after the sample): the scan must not wait for ever on the second
    split_point = transcode.split_point

    def late(*args, **kwargs):  # type: ignore[no-untyped-def]
        threading.Event().wait(0.5)
        return split_point(*args, **kwargs)

    monkeypatch.setattr(transcode, "split_point", late)
    rows = _rows(6000)
    rows[299] = rows[299].replace("300,", "300.5,", 1)
    dist = new_distribution(city.db, city.resources["open"])
    v = _ingest(city, settings, dist, (HEADER + "".join(rows)).encode("gbk"))
    assert v["rows"] == 6000 and v["columns"][0]["type"] == "decimal"
    assert _records(city, settings, dist)[299]["序号"] == 300.5
    assert list((settings.data_root / "_tmp").iterdir()) == []


def test_a_utf16_file_read_again_after_its_sample_misled_skips_its_title_in_utf8(
        city: City, settings: Settings, small: None) -> None:
    # not cut in two (a UTF-16 newline is not one byte); its rows are read again from the
    # transcoded file, whose header lines are counted in the UTF-8 (the byte 0x0A is also
    # half of 上 in UTF-16)
    rows = _rows(3000)
    rows[2499] = rows[2499].replace("2500,", "2500.5,", 1)
    text = "上海企业名录,,,,\n" + HEADER + "".join(rows)
    utf16, utf8 = (new_distribution(city.db, city.resources["open"]) for _ in range(2))
    v = _ingest(city, settings, utf16, text.encode("utf-16"))
    _ingest(city, settings, utf8, text.encode())
    assert v["encoding"] == "utf-16" and v["rows"] == 3000
    assert v["columns"][0]["type"] == "decimal"
    assert _records(city, settings, utf16) == _records(city, settings, utf8)
