"""A GBK/GB18030 file is transcoded to UTF-8 while DuckDB's write reads it through a FIFO: the
rows are those of the UTF-8 file; a column that falls back after the sample is read again from
the transcoded file; a byte sequence that is not GBK, before or after the sample, fails with
its line and nothing hangs or stays half-written."""

from __future__ import annotations

import io

import pytest

from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.authz import SYSTEM
from zhihui.core.errors import ValidationFailed
from zhihui.datastore import ingest as reading
from zhihui.datastore import service as ds
from zhihui.datastore import versions
from zhihui.datastore.query import Search
from zhihui.settings import Settings

HEADER = "序号,企业名称,成立日期,注册资本,高新\n"


def _rows(n: int, start: int = 1) -> str:
    return "".join(f"{i},杭州{i % 97}数智科技有限公司,2024-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
                   f"{i % 1000}.5,{'是' if i % 2 else '否'}\n" for i in range(start, start + n))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks and head of a few KB, so that a small file streams in many pieces."""
    monkeypatch.setattr(reading, "TRANSCODE_CHUNK", 4096)
    monkeypatch.setattr(reading, "HEAD_BYTES", 8192)
    monkeypatch.setattr(versions, "SAMPLE_ROWS", 50)


def _ingest(city: City, settings: Settings, dist: str, data: bytes, **options):  # type: ignore[no-untyped-def]
    seen: list[tuple[str, int, int]] = []
    with city.db.session() as s:
        v = ds.ingest(s, city.actors["editor"], dist, io.BytesIO(data), "企业.csv",
                      ds.IngestOptions(progress=lambda *a: seen.append(a), **options),
                      data_root=settings.data_root)
        return ds.version_dict(v), seen


def _records(city: City, settings: Settings, dist: str) -> list[dict]:  # type: ignore[type-arg]
    with city.db.session() as s:
        return ds.search(s, SYSTEM, dist, Search(sort="_id", limit=10000),
                         data_root=settings.data_root)["records"]


def test_a_gbk_file_streamed_reads_as_its_utf8_copy(city: City, settings: Settings,
                                                     small_chunks: None) -> None:
    text = HEADER + _rows(3000)
    gbk, utf8 = new_distribution(city.db, city.resources["open"]), new_distribution(
        city.db, city.resources["open"])
    v, seen = _ingest(city, settings, gbk, text.encode("gbk"))
    w, _ = _ingest(city, settings, utf8, text.encode())
    assert v["encoding"] == "gb18030" and v["rows"] == 3000
    assert [c["type"] for c in v["columns"]] == [c["type"] for c in w["columns"]] == [
        "integer", "text", "date", "decimal", "boolean"]
    assert _records(city, settings, gbk) == _records(city, settings, utf8)
    transcoded = [p for p in seen if p[0] == "transcode"]
    assert transcoded[-1][1] == transcoded[-1][2] == len(text.encode("gbk"))
    assert list((settings.data_root / "_tmp").iterdir()) == []


def test_a_column_that_breaks_its_type_after_the_head_is_read_again_from_the_file(
        city: City, settings: Settings, small_chunks: None) -> None:
    # the sample (the head) sees integers; row 2,500 has a fraction, row 2,900 a leading zero
    rows = _rows(3000).splitlines(keepends=True)
    rows[2499] = rows[2499].replace("2500,", "2500.5,", 1)
    rows[2899] = rows[2899].replace("注册", "注册", 1).replace(",900.5,", ",0900,", 1)
    text = HEADER + "".join(rows)
    dist = new_distribution(city.db, city.resources["open"])
    v, _ = _ingest(city, settings, dist, text.encode("gb18030"))
    assert [c["type"] for c in v["columns"]] == ["decimal", "text", "date", "text", "boolean"]
    got = _records(city, settings, dist)
    assert len(got) == 3000 and got[2499]["序号"] == 2500.5 and got[2899]["注册资本"] == "0900"
    assert got[-1]["企业名称"] == "杭州90数智科技有限公司"


@pytest.mark.parametrize("bad_row", [10, 2000])  # in the head (the sample), after it
def test_bytes_that_are_not_gbk_fail_with_their_line_and_the_last_version_stays(
        city: City, settings: Settings, small_chunks: None, bad_row: int) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    _ingest(city, settings, dist, (HEADER + _rows(5)).encode("gbk"))
    lines = (HEADER + _rows(3000)).encode("gbk").splitlines(keepends=True)
    lines[bad_row] = b"7,\xff\xfe,2024-01-01,1.5,\xca\xc7\n"  # bytes no GBK text holds
    with pytest.raises(ValidationFailed) as exc:
        _ingest(city, settings, dist, b"".join(lines), encoding="gbk")
    assert exc.value.message.key == "datastore.encoding_mixed"
    assert exc.value.message.params["line"] == bad_row + 1
    assert len(_records(city, settings, dist)) == 5  # version 1, as it was
    assert list((settings.data_root / "_tmp").iterdir()) == []
