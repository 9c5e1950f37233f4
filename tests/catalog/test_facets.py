"""The in-memory snapshot (catalog/facets.py) answers search exactly as SQL does: the same
count, the same page in the same order, the same facet counts, for every visibility, filter
and sort, and it follows every change to the catalogue."""

from __future__ import annotations

import itertools
import random

import pytest
from sqlalchemy.orm import Session

from tests.factories import City, resource_input
from zhihui.catalog import facets
from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn, SearchQuery
from zhihui.core.authz import ANONYMOUS, SYSTEM, Actor
from zhihui.db import Database

WORDS = ["交通", "公共交通", "空气", "医疗", "学校", "道路", "停车", "企业", "数据", "人口"]
FACETS = ["organization", "classification", "theme", "sharing_type", "opening_type", "format",
          "update_cycle", "license_id", "tags", "res_format"]


def _resource(rng: random.Random, org: str, i: int) -> dict:
    words = rng.sample(WORDS, 2)
    opening = rng.choice(["unconditional", "conditional", "none"])
    sharing = rng.choice(["unconditional", "conditional"])
    extra: dict = {}
    if opening == "conditional":
        extra["opening_conditions"] = "须签署数据使用协议"
    if opening == "none":
        extra["opening_legal_basis"] = "《中华人民共和国数据安全法》第二十一条"
    if sharing == "conditional":
        extra["sharing_conditions"] = "仅用于本部门履职"
    return resource_input(
        org, title=f"{words[0]}{words[1]}统计{i}", abstract=f"{rng.choice(WORDS)}相关数据",
        theme=rng.choice(["11", "12", "13"]), opening_type=opening, sharing_type=sharing,
        update_cycle=rng.choice(["daily", "monthly", "annual"]),
        format=rng.choice(["spreadsheet", "database"]),
        license_id=rng.choice(["hz-open-data", "cc-by-4.0"]),
        published=rng.choice(["2024-05-01", "2023-01-09", None]),
        tags=rng.sample(["交通", "环境", "教育", "出行", "统计"], rng.randint(0, 3)),
        distributions=[{"name": f"d{j}", "url": f"https://data.example.cn/{i}/{j}",
                        "format": rng.choice(["csv", "CSV", "xlsx", "json"])}
                       for j in range(rng.randint(0, 2))],
        **extra)


def _populate(db: Database, city: City, n: int = 40, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    ids = []
    with db.session() as s:
        for i in range(n):
            org = city.orgs[rng.choice(["jtj", "hbj"])]
            ids.append(catalog.create_resource(s, SYSTEM, ResourceIn(**_resource(rng, org, i))).id)
    return ids


def _answer(db: Database, actor: Actor, query: SearchQuery, use_snapshot: bool) -> tuple:
    with db.session() as s:
        res = catalog.search(s, actor, query, use_snapshot=use_snapshot)
        return res.count, [r.name for r in res.resources], res.facets


def _queries(city: City) -> list[SearchQuery]:
    out = []
    for q, sort in itertools.product(["", "交通", "数据", "公交", "jiaotong", "jt", "环境 数据"],
                                     ["relevance", "name", "date", "published", "created"]):
        out.append(SearchQuery(q=q, sort=sort, rows=7, facets=FACETS))
    for flt in [{"tags": ["交通"]}, {"tags": ["交通", "出行"]}, {"res_format": ["csv"]},
                {"res_format": ["JSON", "xlsx"]}, {"sharing_type": ["conditional"]},
                {"organization": ["jtj"]}, {"organization": [city.orgs["hbj"]]},
                {"tags": ["不存在"]}, {"theme": ["11", "12"], "update_cycle": ["daily"]}]:
        for q in ("", "数据"):
            out.append(SearchQuery(q=q, filters=flt, facets=FACETS, rows=5, start=2))
    out.append(SearchQuery(q="数据", rows=0, facets=["tags"], facet_limit=2))
    out.append(SearchQuery(q="数据", rows=3, start=1000))
    out.append(SearchQuery(q="交通", include_deleted=True, facets=FACETS))
    out.append(SearchQuery(include_deleted=True, facets=FACETS))
    return out


def _compare(db: Database, city: City, *, full: bool = False) -> int:
    """Every query as every kind of reader (``full``), or a third of them as the public and
    the operator."""
    checked = 0
    roles = ("member", "other_editor", "editor", "sysadmin") if full else ("sysadmin",)
    actors = [ANONYMOUS, *(city.actors[r] for r in roles)]
    queries = _queries(city) if full else _queries(city)[::3]
    for actor, query in itertools.product(actors, queries):
        expected = _answer(db, actor, query, use_snapshot=False)
        assert _answer(db, actor, query, use_snapshot=True) == expected, (actor.name, query)
        checked += expected[0]
    return checked


@pytest.fixture
def many(db: Database, city: City) -> list[str]:
    return _populate(db, city)


def test_the_snapshot_answers_as_sql_does(db: Database, city: City, many: list[str]):
    assert _compare(db, city, full=True) > 0  # not only empty answers


def test_the_snapshot_follows_every_change(db: Database, city: City, many: list[str]):
    _compare(db, city)  # the snapshot is built
    editor = city.actors["editor"]
    with db.session() as s:
        changed = catalog.get_resource(s, SYSTEM, many[0])
        org = changed.owner_org_id
        catalog.patch_resource(s, SYSTEM, many[0], {"tags": ["出行", "新标签"],
                                                      "sharing_type": "unconditional",
                                                      "title": "新的公交数据"})
        catalog.delete_resource(s, SYSTEM, many[1])
        catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            city.orgs["jtj"], title="交通新资源", tags=["新标签"])))
    with db.session() as s:
        res = catalog.search(s, ANONYMOUS, SearchQuery(q="公交", facets=["tags"]))
        assert "新的公交数据" in [r.title for r in res.resources] or org != city.orgs["jtj"]
        tags = dict(catalog.search(s, editor, SearchQuery(facets=["tags"])).facets["tags"])
        assert tags.get("新标签", 0) >= 1
    _compare(db, city)
    with db.session() as s:
        catalog.restore_resource(s, SYSTEM, many[1])
    _compare(db, city)


def test_a_rolled_back_change_does_not_stay_in_the_snapshot(db: Database, city: City,
                                                               many: list[str]):
    _compare(db, city)
    with db.engine.connect() as conn:
        s = Session(bind=conn)
        catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            city.orgs["jtj"], title="回滚的交通资源", tags=["回滚"])))
        s.flush()
        inside = catalog.search(s, ANONYMOUS, SearchQuery(q="回滚", facets=["tags"]))
        assert inside.count == 1 and dict(inside.facets["tags"]) == {"回滚": 1}
        s.rollback()
        s.close()
    with db.session() as s:
        after = catalog.search(s, ANONYMOUS, SearchQuery(q="回滚", facets=["tags"]))
        assert after.count == 0 and after.facets["tags"] == []
    _compare(db, city)


def test_a_change_around_the_service_is_seen_within_the_refresh_time(
        db: Database, city: City, many: list[str], monkeypatch: pytest.MonkeyPatch):
    """A write that moves neither the newest pk nor the newest time (a bulk fix in SQL, a
    hard delete) is read again once the snapshot is ``REFRESH_SECONDS`` old."""
    from sqlalchemy import delete, update

    from zhihui.catalog.models import Resource

    _compare(db, city)
    with db.session() as s:
        snap = facets.snapshot(s)
        assert snap is not None and snap.size == len(many) + 3
        s.execute(update(Resource).where(Resource.id == many[2]).values(theme="13"))
    monkeypatch.setattr(facets, "REFRESH_SECONDS", 0.0)
    _compare(db, city)
    with db.session() as s:
        s.execute(delete(Resource).where(Resource.id == many[3]))
    _compare(db, city)
    with db.session() as s:
        snap = facets.snapshot(s)
        assert snap is not None and snap.size == len(many) + 2
