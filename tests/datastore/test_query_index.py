"""The row and text indexes of a large version (``datastore/index.py``): built after the
version is published, never while the uploader waits; until the text index is there
``meta.q_ready`` is false and ``q`` is still answered, by a scan; once built, every search
gives exactly what the scan gives; a reader whose view is narrowed to some rows is answered
by DuckDB, never from the index of the whole file."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.authz import ANONYMOUS, SYSTEM, can
from zhihui.datastore import access, index
from zhihui.datastore import service as ds
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.query import Search
from zhihui.settings import Settings

ROWS = 3000
DISTRICTS = ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区"]
WORDS = ["城市交通", "华能", "文化", "Smart", "smart", "云栖", "A-1", "交通流量", "湖畔"]


def enterprises(path: Path, rows: int = ROWS) -> None:
    """Enterprise-like rows: low-cardinality columns of every type (with empty cells), and
    names mixing Chinese, ASCII of both cases and punctuation."""
    rnd = random.Random(7)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["企业名称", "区县", "行业", "成立日期", "注册资本", "人数", "高新", "更新时间",
                    "备注"])
        for i in range(rows):
            name = f"杭州{rnd.choice(WORDS)}{rnd.choice(WORDS)}有限公司{i}"
            w.writerow([
                name,
                "" if i % 97 == 0 else rnd.choice(DISTRICTS),
                rnd.choice(["批发业", "零售业", "餐饮业", "软件业"]),
                f"2020-01-{rnd.randrange(1, 29):02d}",
                "" if i % 89 == 0 else f"{rnd.randrange(1, 20) / 2:.1f}",
                str(rnd.randrange(1, 30)),
                rnd.choice(["是", "否"]),
                f"2024-05-01 {rnd.randrange(0, 24):02d}:00:00",
                rnd.choice(["", "城市交通流量监测", "Hello World", "夜间 交通"]),
            ])


@pytest.fixture
def small_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index tables from 1,000 rows (3,000-row tables stand for 10 M-row ones)."""
    monkeypatch.setattr(index, "INDEX_MIN_ROWS", 1000)


@pytest.fixture
def table(city: City, settings: Settings, tmp_path: Path, small_index: None,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A published 3,000-row version whose indexes are not built yet (the background build
    it asked for is recorded instead of run)."""
    asked: list[Path] = []
    monkeypatch.setattr(index, "request_build", lambda p: asked.append(Path(p)) or True)
    src = tmp_path / "enterprises.csv"
    enterprises(src)
    dist = new_distribution(city.db, city.resources["open"])
    with city.db.session() as s:
        ds.ingest(s, SYSTEM, dist, src, src.name, data_root=settings.data_root)
    with city.db.session() as s:
        v = s.scalar(select(DatastoreVersion).where(DatastoreVersion.distribution_id == dist))
        parquet = Path(settings.data_root) / v.path / "data.parquet"
    assert asked and asked[0] == parquet  # asked for after the commit, not built in it
    assert not index.rows_path(parquet).exists()
    yield dist, parquet


def search(city: City, settings: Settings, dist: str, **kw: Any) -> dict[str, Any]:
    with city.db.session() as s:
        return ds.search(s, ANONYMOUS, dist, Search(**kw), data_root=settings.data_root)


SEARCHES: list[dict[str, Any]] = [
    {"filters": {"区县": "西湖区"}},
    {"filters": {"区县": "西湖区"}, "offset": 150, "limit": 20},
    {"filters": {"区县": "西湖区"}, "include_total": False},
    {"filters": {"区县": ["西湖区", "滨江区"]}, "offset": 30},
    {"filters": {"区县": "西湖区", "行业": "餐饮业"}, "limit": 7, "offset": 3},
    {"filters": {"高新": "是", "人数": [3, 4, "5"]}},
    {"filters": {"成立日期": {"gte": "2020-01-05", "lt": "2020年1月9日"}}, "offset": 11},
    {"filters": {"更新时间": "2024-05-01 08:00:00"}},
    {"filters": {"注册资本": {"gt": "3", "lte": 5.5}}},
    {"filters": {"注册资本": 2.5}, "fields": ["_id", "注册资本", "企业名称"]},
    {"filters": {"人数": {"ne": 5}}, "offset": 2000},
    {"filters": {"区县": None}},  # empty cells: the scan answers
    {"filters": {"区县": ["西湖区", None]}},
    {"filters": {"区县": []}},
    {"filters": {"区县": "不存在的区"}},
    {"q": "交通"},
    {"q": "城市交通", "offset": 40, "limit": 10},
    {"q": "华能 文化"},
    {"q": "Smart"},  # case matters, as in the scan
    {"q": "smart", "filters": {"区县": "滨江区"}},
    {"q": "A-1"},
    {"q": "o W"},  # a space inside a cell: two words, each anywhere
    {"q": "华"},  # one character: the scan answers
    {"q": {"备注": "交通"}},
    {"q": {"企业名称": "交通"}, "filters": {"行业": ["批发业", "零售业"]}},
    {"q": "没有这个词"},
    {},
    {"offset": 2990},
    {"sort": "人数 desc"},
    {"distinct": True, "fields": ["区县"]},
    {"filters": {"区县": "西湖区"}, "records_format": "lists"},
    {"filters": {"区县": "西湖区"}, "records_format": "csv", "limit": 5},
    {"q": "交通", "fields": ["更新时间", "成立日期", "高新", "注册资本"]},
]


def test_q_is_answered_by_a_scan_until_the_text_index_is_built(
        city: City, settings: Settings, table: tuple[str, Path]) -> None:
    dist, parquet = table
    before = search(city, settings, dist, q="交通")
    assert before["meta"] == {"q_ready": False, "index_ready": False, "answered_by": "scan"}
    with city.db.session() as s:
        info = ds.info(s, ANONYMOUS, dist, data_root=settings.data_root)
    assert info["meta"]["q_ready"] is False

    built = index.build(parquet)
    assert built.text and "区县" in built.indexed_columns
    assert "企业名称" not in built.indexed_columns  # one name per row: left to the scan
    after = search(city, settings, dist, q="交通")
    assert after["meta"] == {"q_ready": True, "index_ready": True, "answered_by": "index"}
    assert after["records"] == before["records"] and after["total"] == before["total"] > 0
    with city.db.session() as s:
        assert ds.info(s, ANONYMOUS, dist, data_root=settings.data_root)["meta"]["q_ready"]


def test_every_search_gives_the_same_answer_with_and_without_the_index(
        city: City, settings: Settings, table: tuple[str, Path]) -> None:
    dist, parquet = table
    scanned = [search(city, settings, dist, **kw) for kw in SEARCHES]
    index.build(parquet)
    by_index = 0
    for kw, before in zip(SEARCHES, scanned, strict=True):
        after = search(city, settings, dist, **kw)
        by_index += after["meta"]["answered_by"] == "index"
        assert before.pop("meta")["answered_by"] == "scan"
        after.pop("meta")
        assert after == before, kw
    assert by_index >= 24  # the rest (sort, distinct, NULL, one character) scan


def test_a_revision_with_deleted_rows_is_answered_as_its_scan(
        city: City, settings: Settings, table: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision stores ``_id`` with gaps where rows were deleted: its row blocks hold the
    ids that are left, and a page without conditions is left to DuckDB."""
    from zhihui.datastore import revise
    from zhihui.datastore.storage import positional

    dist, _ = table
    asked: list[Path] = []
    monkeypatch.setattr(index, "request_build", lambda p: asked.append(Path(p)) or True)
    with city.db.session() as s:
        v = revise.revise(s, SYSTEM, dist, data_root=settings.data_root,
                          deletions=[1, 2, 33, 64, 65, 1500, 2999],
                          corrections={34: {"区县": "西湖区"}}, reason="测试")
        revised = Path(settings.data_root) / v.path / "data.parquet"
    assert not positional(revised)
    searches = [kw for kw in SEARCHES if not kw.get("q")] + [{"q": "交通"}, {"offset": 31}]
    scanned = [search(city, settings, dist, **kw) for kw in searches]
    index.build(revised)
    ix = index.open_for(revised)
    assert ix is not None and not ix.dense
    ix.close()
    for kw, before in zip(searches, scanned, strict=True):
        after = search(city, settings, dist, **kw)
        before.pop("meta"), after.pop("meta")
        assert after == before, kw
    page = search(city, settings, dist, filters={"区县": "西湖区"}, limit=3000)
    assert page["meta"]["answered_by"] == "index"
    assert 34 in {r["_id"] for r in page["records"]}
    assert not {1, 2, 33, 64, 65} & {r["_id"] for r in page["records"]}


def test_bigrams_find_a_word_inside_a_longer_one(city: City, settings: Settings,
                                                 table: tuple[str, Path]) -> None:
    dist, parquet = table
    index.build(parquet)
    out = search(city, settings, dist, q="交通", limit=3000)
    assert out["meta"]["answered_by"] == "index"
    names = [r["企业名称"] + (r["备注"] or "") for r in out["records"]]
    assert any("城市交通流量" in n for n in names)
    assert all("交通" in n for n in names) and len(names) == out["total"]


def test_a_view_narrowed_to_some_rows_is_never_answered_from_the_index(
        city: City, settings: Settings, table: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dist, parquet = table
    index.build(parquet)

    def xihu_only(session, actor, view, number):  # type: ignore[no-untyped-def]
        if can(actor, "resource.update", view.resource):
            return view
        cols = [c for c in view.columns if c["id"] != "人数"]
        return view.narrowed(columns=cols, where="\"区县\" = '西湖区'",
                             notes={**view.notes, "test": "one district"})

    monkeypatch.setattr(access, "_narrowers", [xihu_only])
    out = search(city, settings, dist, q="交通", limit=3000)
    assert out["meta"]["answered_by"] == "scan"
    assert out["records"] and {r["区县"] for r in out["records"]} == {"西湖区"}
    assert all("人数" not in r for r in out["records"])
    other = search(city, settings, dist, filters={"区县": "滨江区"})
    assert other["total"] == 0 and other["records"] == []
    assert index.for_view(parquet, ROWS, "\"区县\" = '西湖区'") is None


def test_a_protected_copy_is_read_through_its_own_index_or_a_scan(
        city: City, settings: Settings, table: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A view that reads another file (privacy's protected copy) never uses the index of
    the original: the index belongs to the file it was built from."""
    import duckdb

    dist, parquet = table
    index.build(parquet)
    copy = parquet.with_name("protected-test.parquet")
    duckdb.sql(f"COPY (SELECT * REPLACE ('***' AS \"企业名称\") FROM read_parquet('{parquet}')) "
               f"TO '{copy}' (FORMAT parquet)")

    def masked(session, actor, view, number):  # type: ignore[no-untyped-def]
        return view.narrowed(path=copy, notes={**view.notes, "test": "masked"})

    monkeypatch.setattr(access, "_narrowers", [masked])
    out = search(city, settings, dist, q="交通")
    assert out["meta"]["answered_by"] == "scan" and not out["meta"]["q_ready"]
    assert {r["企业名称"] for r in out["records"]} == {"***"}
    index.build(copy)
    again = search(city, settings, dist, q="交通")
    assert again["meta"]["answered_by"] == "index"
    assert again.pop("meta") and out.pop("meta") and again == out


def test_the_index_is_built_in_the_background_after_the_commit(
        city: City, settings: Settings, tmp_path: Path, small_index: None) -> None:
    src = tmp_path / "enterprises.csv"
    enterprises(src, 1200)
    dist = new_distribution(city.db, city.resources["open"])
    with city.db.session() as s:
        v = ds.ingest(s, SYSTEM, dist, src, src.name, data_root=settings.data_root)
        parquet = Path(settings.data_root) / v.path / "data.parquet"
    assert index.wait_idle(120)
    assert index.rows_path(parquet).exists() and index.text_path(parquet).exists()
    out = search(city, settings, dist, filters={"区县": "西湖区"}, q="交通")
    assert out["meta"]["answered_by"] == "index" and out["meta"]["q_ready"]


def test_a_lock_held_by_another_process_means_no_second_build(
        table: tuple[str, Path]) -> None:
    _dist, parquet = table
    lock = parquet.with_name("data.index.lock")
    lock.write_text("4242\n")
    assert index.build_locked(parquet) is None
    assert not index.rows_path(parquet).exists()
    # a lock whose process has died (killed mid-build) is taken over, its work files removed
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    lock.write_text(f"{socket.gethostname()} {gone.pid}\n")
    leftover = parquet.with_name(f".data.rows.sqlite.{gone.pid}.1.tmp")
    leftover.write_bytes(b"half an index")
    assert index.build_locked(parquet) is not None
    assert index.rows_path(parquet).exists() and not lock.exists() and not leftover.exists()


def test_words_the_text_index_cannot_answer_exactly() -> None:
    assert index.fts_phrase("交通") == '"交通"'
    assert index.fts_phrase("华能文化") == '"华能 能文 文化"'
    assert index.fts_phrase("A-") == '"\ue041\ue02d"'
    assert index.fts_phrase("华") is None  # one character has no pair
    assert index.fts_phrase("a\ue041") is None  # the private-use characters ASCII moves to


def test_a_search_that_would_hold_too_many_row_ids_is_scanned(
        city: City, settings: Settings, table: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays bounded: intersecting conditions holds at most ``MATERIALIZE_MAX`` ids."""
    dist, parquet = table
    index.build(parquet)
    wanted = [{"filters": {"区县": "西湖区", "行业": "餐饮业"}},
              {"q": "交通", "filters": {"区县": "滨江区"}}]
    indexed = [search(city, settings, dist, **kw) for kw in wanted]
    assert all(r["meta"]["answered_by"] == "index" for r in indexed)
    monkeypatch.setattr(index, "MATERIALIZE_MAX", 10)
    for kw, before in zip(wanted, indexed, strict=True):
        after = search(city, settings, dist, **kw)
        assert after.pop("meta")["answered_by"] == "scan"
        before.pop("meta")
        assert after == before
    # one value of one column needs no intersection: still from the index
    assert search(city, settings, dist, filters={"区县": "西湖区"})["meta"]["answered_by"] == \
        "index"


def test_a_damaged_index_falls_back_to_the_scan(city: City, settings: Settings,
                                                table: tuple[str, Path]) -> None:
    import sqlite3

    dist, parquet = table
    scanned = search(city, settings, dist, filters={"区县": "西湖区"})
    index.build(parquet)
    db = sqlite3.connect(index.rows_path(parquet))
    db.execute("DROP TABLE row_block")  # the meta still says it is an index of this file
    db.commit()
    db.close()
    out = search(city, settings, dist, filters={"区县": "西湖区"})
    assert out.pop("meta")["answered_by"] == "scan"
    scanned.pop("meta")
    assert out == scanned


def test_the_next_pages_of_a_q_search_reuse_its_counted_total(
        city: City, settings: Settings, table: tuple[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dist, parquet = table
    index.build(parquet)
    index.forget_totals()
    counted: list[str] = []
    count = index.Indexes.text_count
    monkeypatch.setattr(index.Indexes, "text_count",
                        lambda self, q: counted.append(q) or count(self, q))
    first = search(city, settings, dist, q="交通", limit=10)
    second = search(city, settings, dist, q="交通", limit=10, offset=10)
    assert first["total"] == second["total"] > 10 and len(counted) == 1
    assert first["records"] != second["records"]
    index.forget_totals()
    assert search(city, settings, dist, q="交通", limit=10)["total"] == first["total"]
    assert len(counted) == 2


def test_stopping_the_process_cancels_a_build_and_leaves_nothing_half_made(
        table: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker or the app shutting down (index.stop) interrupts the build it runs: no index,
    no work file, no lock is left, and the file is built again later."""
    import threading

    _dist, parquet = table
    monkeypatch.setattr(index, "BATCH", 50)  # many batches: the build is caught inside one
    inside, go_on = threading.Event(), threading.Event()
    check = index._check_stop

    def slow_check() -> None:
        inside.set()
        go_on.wait(10)
        check()

    monkeypatch.setattr(index, "_check_stop", slow_check)
    outcome: list[BaseException | None] = []

    def build() -> None:
        try:
            index.build_locked(parquet)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - the test looks at it
            outcome.append(e)

    builder = threading.Thread(target=build)
    builder.start()
    assert inside.wait(30)
    stopper = threading.Thread(target=index.stop)
    stopper.start()
    while not index._stopping.is_set() and stopper.is_alive():
        pass
    go_on.set()
    builder.join(30)
    stopper.join(30)
    # cancelled between batches (Cancelled) or inside the statement stop() interrupted
    assert outcome and outcome[0] is not None, "the build ran to its end"
    leftovers = [p.name for p in parquet.parent.iterdir() if p.name != "data.parquet"
                 and not p.name.endswith(".json")]
    assert not index.rows_path(parquet).exists() and not index.text_path(parquet).exists()
    assert not any(".tmp" in n or "lock" in n or "spill" in n for n in leftovers), leftovers
    monkeypatch.setattr(index, "_check_stop", check)
    assert index.build_locked(parquet) is not None  # stop() re-arms: a later build runs
    assert index.rows_path(parquet).exists()
