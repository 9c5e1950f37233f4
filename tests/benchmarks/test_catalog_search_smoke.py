"""The catalogue benchmark (benchmarks/catalog_search.py) still runs: its functions at a tiny
size, on the test database (SQLite, or PostgreSQL when configured). Nothing here is timed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import SearchQuery
from zhihui.core.authz import ANONYMOUS
from zhihui.db import Database
from zhihui.settings import Settings

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "catalog_search.py"


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("catalog_search", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["catalog_search"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_generated_catalogue_is_searchable_like_one_made_through_the_service(
    bench, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    cat = bench.build_catalogue(settings.sqlalchemy_url, settings.home, 300, service_batch=100,
                                log=lambda _: None)
    assert (cat.service_count, cat.direct_count) == (100, 200)
    db = Database(settings.sqlalchemy_url)
    with db.session() as s:
        everything = catalog.search(s, ANONYMOUS, SearchQuery(rows=0, facets=["opening_type"]))
        # Rows written directly are found by words, exactly as the service's own are.
        direct = catalog.search(s, ANONYMOUS, SearchQuery(q="交通", rows=300))
    db.engine.dispose()
    assert 0 < everything.count < 300  # the public sees no 不予开放 resource
    assert "none" not in dict(everything.facets["opening_type"])
    pks = [r.pk for r in direct.resources]
    assert any(pk <= 100 for pk in pks) and any(pk > 100 for pk in pks)
    assert cat.open_ids


def test_every_figure_can_be_measured(bench, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    cat = bench.build_catalogue(settings.sqlalchemy_url, settings.home, 300, service_batch=50,
                                log=lambda _: None)
    timings = bench.search_figures(cat.url, runs=2)
    assert [t.label for t in timings] == [q[1] for q in bench.QUERIES]
    by_label = {t.label: t for t in timings}
    assert by_label["q=交通"].count > 0
    assert by_label["q=jiaotong"].count > 0  # found through pinyin
    assert all(len(t.service_ms) == 2 and len(t.action_ms) == 2 for t in timings)

    assert len(bench.create_figures(cat.url, cat.orgs, 3)) == 3

    ckan_api, loads = bench.http_figures(cat, requests=20, threads=2, workers=1)
    assert ckan_api  # the CKAN Action API answers
    assert [ld.errors for ld in loads] == [0, 0, 0, 0]
    assert all(ld.requests == len(ld.latencies_ms) for ld in loads)


def test_cached_facets_of_the_whole_catalogue_follow_every_change(
    bench, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    """The facets of the unfiltered catalogue are cached; a change must show at once."""
    from tests.factories import resource_input
    from zhihui.catalog.schemas import ResourceIn
    from zhihui.core.authz import SYSTEM

    cat = bench.build_catalogue(settings.sqlalchemy_url, settings.home, 60, service_batch=60,
                                log=lambda _: None)
    db = Database(settings.sqlalchemy_url)
    query = SearchQuery(rows=0, facets=["opening_type", "tags"])
    with db.session() as s:
        before = catalog.search(s, ANONYMOUS, query)
        r = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            cat.orgs["jtj"], title="城市缓存测试数据", tags=["缓存测试"])))
        created = catalog.search(s, ANONYMOUS, query)
    with db.session() as s:
        catalog.patch_resource(s, SYSTEM, r.id, {"opening_type": "none",
                                                 "opening_legal_basis": "依法不予开放"})
    with db.session() as s:
        closed = catalog.search(s, ANONYMOUS, query)
    db.engine.dispose()
    assert created.count == before.count + 1
    assert ("缓存测试", 1) in created.facets["tags"]
    assert closed.count == before.count
    assert closed.facets == before.facets
