"""The ingest reads a file once, straight into the typed Parquet, deciding types from a sample:
a later cell that the cheap check does not take makes the column take the full check, a cell
that is not of the type at all demotes the column, and nothing is lost or reordered."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.authz import SYSTEM
from zhihui.datastore import service as ds
from zhihui.datastore import versions
from zhihui.datastore.query import Search
from zhihui.datastore.storage import positional, relation
from zhihui.settings import Settings


def _ingest(city: City, settings: Settings, data: bytes | Path, filename: str = "t.csv",
            **options):  # type: ignore[no-untyped-def]
    dist = new_distribution(city.db, city.resources["open"])
    source = data if isinstance(data, Path) else io.BytesIO(data)
    with city.db.session() as s:
        v = ds.ingest(s, city.actors["editor"], dist, source, filename,
                      ds.IngestOptions(**options), data_root=settings.data_root)
        return dist, ds.version_dict(v)


def _records(city: City, settings: Settings, dist: str) -> list[dict]:  # type: ignore[type-arg]
    with city.db.session() as s:
        return ds.search(s, SYSTEM, dist, Search(sort="_id", limit=1000),
                         data_root=settings.data_root)["records"]


@pytest.fixture
def small_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "SAMPLE_ROWS", 3)


def test_a_null_token_after_the_sample_keeps_the_column_typed(
        city: City, settings: Settings, small_sample: None) -> None:
    data = "数量,日期\n1,2024-05-01\n2,2024-05-02\n3,2024-05-03\n-,2024年5月4日\n 5 ,\n".encode()
    dist, v = _ingest(city, settings, data)
    assert [c["type"] for c in v["columns"]] == ["integer", "date"]
    rows = _records(city, settings, dist)
    assert [r["数量"] for r in rows] == [1, 2, 3, None, 5]
    assert [r["日期"] for r in rows] == ["2024-05-01", "2024-05-02", "2024-05-03",
                                       "2024-05-04", None]


def test_a_leading_zero_after_the_sample_keeps_the_code_as_text(
        city: City, settings: Settings, small_sample: None) -> None:
    data = "编制,名称\n101,甲\n102,乙\n103,丙\n0104,丁\n".encode()
    dist, v = _ingest(city, settings, data)
    assert v["columns"][0]["type"] == "text"
    assert [r["编制"] for r in _records(city, settings, dist)] == ["101", "102", "103", "0104"]


def test_a_later_decimal_demotes_an_integer_column_without_rounding(
        city: City, settings: Settings, small_sample: None) -> None:
    data = "数量\n1\n2\n3\n3.5\n".encode()
    dist, v = _ingest(city, settings, data)
    assert v["columns"][0]["type"] == "decimal"
    assert [r["数量"] for r in _records(city, settings, dist)] == [1, 2, 3, 3.5]


def test_rows_keep_the_file_order_and_bad_rows_are_still_reported(
        city: City, settings: Settings) -> None:
    lines = ["序号,名称,金额"] + [f"{i},站点{i},{i}.5" for i in range(1, 60001)]
    lines[30000] = "30000,坏行,1,2"
    dist, v = _ingest(city, settings, ("\n".join(lines) + "\n").encode())
    assert v["rows"] == 59999 and v["report"]["rows_rejected"] == 1
    assert v["report"]["rejected"][0]["row"] == 30001
    path = settings.data_root / v["resource_id"] / v["id"] / "data.parquet"
    assert positional(path)  # no _id stored: the row's position is its _id
    table = duckdb.sql(f"SELECT _id, 序号 FROM {relation(path)} ORDER BY _id").to_arrow_table()
    ids, numbers = table.column("_id").to_pylist(), table.column("序号").to_pylist()
    assert ids == list(range(1, 60000))
    assert numbers == [n for n in range(1, 60001) if n != 30000]
    assert pq.read_table(path).num_rows == 59999
    stats = {c["id"]: c for c in v["report"]["columns"]}
    assert stats["序号"]["nulls"] == 0 and stats["序号"]["length"] == 5
    assert stats["名称"]["duplicates"] <= 600  # HyperLogLog: about 1% off at most


def test_a_file_on_disk_is_read_in_place_hashed_and_kept(city: City, settings: Settings,
                                                         tmp_path: Path) -> None:
    source = tmp_path / "企业.csv"
    source.write_bytes("名称,人数\n甲,1\n乙,2\n".encode("gbk"))
    seen: list[tuple[str, int, int]] = []
    dist, v = _ingest(city, settings, source, "", progress=lambda *a: seen.append(a))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert v["sha256"] == digest and v["filename"] == "企业.csv" and v["encoding"] == "gb18030"
    kept = settings.data_root / "_originals" / digest[:2] / digest
    assert kept.read_bytes() == source.read_bytes()  # a copy: the file itself stays
    stages = [stage for stage, _, _ in seen]
    # a GBK file is transcoded while the write reads it: the transcoder's bytes, then DuckDB's
    assert stages == ["receive", "transcode", "transcode", "infer"]
    assert seen[-2] == ("transcode", source.stat().st_size, source.stat().st_size)
    assert seen[-1] == ("infer", 100, 100)
    assert [r["名称"] for r in _records(city, settings, dist)] == ["甲", "乙"]
    assert list((settings.data_root / "_tmp").iterdir()) == []
