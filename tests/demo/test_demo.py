"""The demo city: a newcomer runs `zhihui demo` and finds a whole Hangzhou-like city to try the
platform with, the same city every time."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import PG_URL, _empty_pg
from zhihui.catalog import service as catalog
from zhihui.catalog import vocab
from zhihui.catalog.models import Resource, Showcase
from zhihui.catalog.schemas import SearchQuery
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation, User
from zhihui.core.authz import ANONYMOUS
from zhihui.core.errors import Conflict
from zhihui.db import Database
from zhihui.demo import DEMO_PASSWORD, build_plan, demo_is_loaded, load_demo
from zhihui.demo.city import DISTRICTS, uscc_check_char, uscc_is_valid

DISTRICT_NAMES = ("上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区",
                  "富阳区", "临安区", "桐庐县", "淳安县", "建德市")


class Loaded:
    def __init__(self, db: Database, was_loaded_before: bool) -> None:
        self.db = db
        self.was_loaded_before = was_loaded_before


@pytest.fixture(scope="module")
def demo(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """One database with the demo city, shared by this module's tests (loading takes seconds);
    built from the migrated template like the ``db`` fixture."""
    if PG_URL:
        _empty_pg(PG_URL)
        url = PG_URL
    else:
        path = Path(tmp_path_factory.mktemp("demo")) / "zhihui.db"
        shutil.copy(_template, path)
        url = f"sqlite:///{path}"
    db = Database(url)
    before = demo_is_loaded(db)
    load_demo(db)
    yield Loaded(db, before)
    db.engine.dispose()


def test_the_check_character_follows_gb_32100():
    # 91350100M000100Y43 is the standard's own worked example.
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert uscc_is_valid("91350100M000100Y43")
    assert not uscc_is_valid("91350100M000100Y44")


def test_the_city_has_its_government_districts_and_departments(demo: Loaded):
    with demo.db.session() as s:
        orgs = list(s.scalars(select(Organisation)))
    by_id = {o.id: o for o in orgs}
    city = [o for o in orgs if o.kind == "city"]
    assert [o.title for o in city] == ["杭州市人民政府"]
    districts = [o for o in orgs if o.kind == "district"]
    assert sorted(o.title.removesuffix("人民政府") for o in districts) == sorted(DISTRICT_NAMES)
    assert {o.catalog_code for o in districts} == {d[3] for d in DISTRICTS}
    assert all(o.parent_id == city[0].id for o in districts)
    city_departments = [o for o in orgs if o.kind == "department" and o.parent_id == city[0].id]
    assert 18 <= len(city_departments) <= 24
    titles = {o.title for o in city_departments}
    assert {"杭州市数据资源管理局", "杭州市交通运输局", "杭州市经济和信息化局"} <= titles
    district_departments = [o for o in orgs if o.kind == "department" and o not in city_departments]
    assert district_departments
    assert all(by_id[o.parent_id].kind == "district" for o in district_departments)
    # Every organisation has a valid code of a government organ, and unique catalogue codes.
    assert all(o.uscc and o.uscc.startswith("11") and uscc_is_valid(o.uscc) for o in orgs)
    assert len({o.catalog_code for o in orgs}) == len(orgs)
    assert not demo.was_loaded_before and demo_is_loaded(demo.db)


def test_every_role_has_a_demo_account(demo: Loaded):
    with demo.db.session() as s:
        admin = accounts.get_user(s, "admin")
        assert admin.sysadmin and not accounts.memberships_of(s, admin.id)
        assert accounts.get_user(s, "auditor").auditor
        jtj = accounts.get_org(s, "jtj")
        for capacity in ("admin", "editor", "member"):
            user = accounts.get_user(s, f"jtj_{capacity}")
            assert accounts.memberships_of(s, user.id) == {jtj.id: capacity}
        for public in ("dev_zhang", "citizen_li"):
            user = accounts.get_user(s, public)
            assert not user.sysadmin and not accounts.memberships_of(s, user.id)
        assert s.scalar(select(User).where(User.sysadmin)).name == "admin"
        # The documented password opens the operator's account.
        assert accounts.authenticate(s, "admin", DEMO_PASSWORD).id == admin.id


def test_the_catalogue_covers_every_type_class_format_and_cycle(demo: Loaded):
    with demo.db.session() as s:
        resources = list(s.scalars(select(Resource)))
    assert len(resources) >= 300
    pairs = {(r.sharing_type, r.opening_type) for r in resources}
    allowed = {(s, o) for s in vocab.SHARING_TYPES for o in vocab.OPENING_TYPES
               if not (s == "none" and o != "none")}
    assert pairs == allowed  # the seven pairs the rules allow
    assert {r.classification for r in resources} == set(vocab.CLASSIFICATIONS)
    assert {r.theme for r in resources if r.classification == "base"} == set(vocab.BASE_THEMES)
    assert {r.theme for r in resources if r.classification == "topic"} == set(vocab.TOPIC_THEMES)
    assert {r.format for r in resources} == set(vocab.FORMATS)
    assert {r.update_cycle for r in resources} == set(vocab.UPDATE_CYCLES)
    assert {r.published.year for r in resources} == set(range(2019, 2027))
    assert all(3 <= len(r.data_items) <= 12 for r in resources)
    assert all(r.abstract and r.tags and r.distributions and r.contact_phone for r in resources)
    assert all(r.license_id for r in resources if r.opening_type != "none")
    assert all(r.opening_legal_basis for r in resources if r.opening_type == "none")
    # Every district catalogues its own data.
    spatial = Counter(r.spatial for r in resources)
    assert all(spatial[f"杭州市{d}"] >= 10 for d in DISTRICT_NAMES)


def test_the_public_finds_transport_data_by_searching_jiaotong(demo: Loaded):
    with demo.db.session() as s:
        found = catalog.search(s, ANONYMOUS, SearchQuery(q="交通", rows=100,
                                                         facets=["opening_type"]))
        assert found.count >= 10
        assert "城市道路交通流量" in {r.title for r in found.resources}
        assert all(r.opening_type != "none" for r in found.resources)
        assert "none" not in dict(found.facets["opening_type"])


def test_showcases_are_built_on_open_resources(demo: Loaded):
    with demo.db.session() as s:
        showcases = {sc.title: sc for sc in s.scalars(select(Showcase))}
        assert {"杭州公交出行助手", "空气质量地图"} <= set(showcases)
        for sc in showcases.values():
            assert sc.resources
            for link in sc.resources:
                r = s.scalar(select(Resource).where(Resource.id == link.resource_id))
                assert r.opening_type != "none"


def test_loading_twice_is_refused(demo: Loaded):
    with pytest.raises(Conflict):
        load_demo(demo.db)


def test_the_same_seed_builds_the_same_city(demo: Loaded):
    first, again = build_plan(2015), build_plan(2015)
    assert first == again
    assert [(o.name, o.uscc) for o in first.orgs] == [(o.name, o.uscc) for o in again.orgs]
    # What the database holds is that plan, in that order.
    with demo.db.session() as s:
        loaded = list(s.execute(select(Resource.resource_code, Resource.title)
                                .order_by(Resource.pk)))
    assert [tuple(row) for row in loaded] == [r.key for r in first.resources]
    # Another seed draws another city from the same templates.
    other = build_plan(2016)
    assert [r.key for r in other.resources] != [r.key for r in first.resources]


def test_the_guide_lists_every_demo_account_and_the_password():
    text = (Path(__file__).resolve().parents[2] / "docs" / "demo.md").read_text(encoding="utf-8")
    assert f"`{DEMO_PASSWORD}`" in text
    assert [u.name for u in build_plan().users if f"`{u.name}`" not in text] == []
    assert f"{len(build_plan().resources)} resources" in text
