"""Search as a user types it: Chinese words inside longer text, abbreviations, pinyin."""

from __future__ import annotations

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import SearchQuery
from zhihui.core.authz import ANONYMOUS


def titles(db, q: str, actor=ANONYMOUS, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        res = catalog.search(s, actor, SearchQuery(q=q, **kw))
        return [r.title for r in res.resources]


def test_two_character_word_is_found_inside_a_longer_name(db, city):
    assert titles(db, "交通") == ["城市交通流量监测数据"]


def test_abbreviation_finds_the_full_name(db, city):
    # 公交 = 公共交通; the 公交 resource is not open, so a government member searches.
    found = titles(db, "公交", city.actors["member"])
    assert "公交车辆实时定位数据" in found


def test_pinyin_and_initials_are_a_fallback(db, city):
    assert titles(db, "kongqi") == ["空气质量监测站点小时数据"]
    assert titles(db, "kqzl") == ["空气质量监测站点小时数据"]


def test_english_words_are_searched(db, city):
    assert titles(db, "air quality") == ["空气质量监测站点小时数据"]


def test_single_character(db, city):
    assert set(titles(db, "气")) == {"空气质量监测站点小时数据"}


def test_public_never_sees_unopened_resources(db, city):
    assert titles(db, "公交") == []
    assert "公交车辆实时定位数据" in titles(db, "公交", city.actors["other_member"])


def test_facets_count_the_results(db, city):
    with db.session() as s:
        res = catalog.search(s, city.actors["member"], SearchQuery(
            facets=["opening_type", "organization", "tags"]))
    assert res.count == 3
    assert dict(res.facets["opening_type"]) == {"unconditional": 1, "none": 1, "conditional": 1}
    assert dict(res.facets["organization"])[city.orgs["jtj"]] == 2


def test_pinyin_from_any_syllable_and_partial_words(db, city):
    # 城市交通流量监测数据: from the third syllable on, a partial syllable, the initials.
    assert titles(db, "jiaotong") == ["城市交通流量监测数据"]
    assert titles(db, "liuliangjian") == ["城市交通流量监测数据"]
    assert titles(db, "jtll") == ["城市交通流量监测数据"]
    # Pinyin next to a Chinese word: both must match.
    assert titles(db, "kongqi 站点") == ["空气质量监测站点小时数据"]
    assert titles(db, "kongqi 交通") == []


def test_the_page_is_the_same_with_or_without_facets(db, city):
    """With facets the page is ranked inside the facet statement; it must not differ."""
    from tests.factories import resource_input
    from zhihui.catalog.schemas import ResourceIn
    from zhihui.core.authz import SYSTEM

    with db.session() as s:
        for i, title in enumerate(["公交站点", "交通事故统计", "道路交通信号灯", "交通违法",
                                   "城市交通拥堵指数", "交通运输企业"]):
            catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
                city.orgs["jtj"], title=title, tags=[f"t{i % 2}"])))
    member = city.actors["member"]
    for sort in catalog.SORTS:
        for start in (0, 2, 6):
            with db.session() as s:
                a = catalog.search(s, member, SearchQuery(q="交通", sort=sort, rows=3,
                                                          start=start))
                b = catalog.search(s, member, SearchQuery(q="交通", sort=sort, rows=3,
                                                          start=start, facets=["tags"]))
                assert a.count == b.count == 8
                assert [r.name for r in a.resources] == [r.name for r in b.resources], sort
