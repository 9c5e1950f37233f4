"""The demo city's tables: a newcomer who runs `zhihui demo` finds real rows behind about
seventy resources (bus stops, hourly air quality by district, registered enterprises, Wi-Fi
hotspots, hospital beds, school districts …), the same rows every time, sent the way
departments send files and readable by the public only where the resource is opened."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PG_URL, _empty_pg
from zhihui.app import create_app
from zhihui.catalog.models import Activity, Distribution, Resource
from zhihui.core.accounts.models import Organisation
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import SYSTEM
from zhihui.datastore import query, service
from zhihui.datastore.models import DatastoreVersion
from zhihui.db import Database
from zhihui.demo import build_plan, load_demo
from zhihui.demo.city import DEMO_PASSWORD
from zhihui.demo.exchange import SOURCES as CREDIT_SOURCES
from zhihui.demo.tables import (
    PERSONAL_TABLES,
    PERSONAL_TYPES,
    DemoTable,
    build_tables,
    table_files,
)
from zhihui.demo.values import DISTRICT_BY_NAME, LAT_RANGE, LON_RANGE
from zhihui.exchange.models import Agreement
from zhihui.privacy import detect
from zhihui.settings import Settings

V1 = "/api/v1/datastore"
# demo/exchange.py's credit sources (one-enterprise profile), loaded after demo/tables.py's
CREDIT = {spec["name"] for spec in CREDIT_SOURCES}


class City:
    def __init__(self, settings: Settings, db: Database, tables: list[DemoTable]) -> None:
        self.settings = settings
        self.db = db
        self.tables = {t.resource: t for t in tables}

    def version(self, name: str) -> DatastoreVersion:
        with self.db.session() as s:
            r = s.scalar(select(Resource).where(Resource.name == name))
            return s.scalar(select(DatastoreVersion).where(DatastoreVersion.resource_id == r.id))

    def rows(self, name: str, limit: int = 200, **filters: str) -> list[dict]:
        """Rows as the datastore serves them to the platform (after ingest and inference)."""
        with self.db.session() as s:
            out = service.search(s, SYSTEM, self.version(name).distribution_id,
                                 query.Search(limit=limit, filters=filters),
                                 data_root=self.settings.data_root)
        return out["records"]


@pytest.fixture(scope="module")
def city(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """One demo city with its tables for the whole module (loading takes a while)."""
    home = Path(tmp_path_factory.mktemp("demo-tables"))
    if PG_URL:
        _empty_pg(PG_URL)
        url = PG_URL
    else:
        shutil.copy(_template, home / "zhihui.db")
        url = f"sqlite:///{home / 'zhihui.db'}"
    settings = Settings(home=home, database_url=url, secret_key="test-secret")
    db = Database(url)
    summary = load_demo(db, tables=True, data_root=settings.data_root)
    assert summary.tables >= 60 and summary.rows > 50_000
    yield City(settings, db, build_tables(build_plan().resources))
    db.engine.dispose()


def test_the_same_seed_gives_byte_identical_files(city: City):
    """What was loaded is exactly the files the seed makes, and another seed makes others."""
    with city.db.session() as s:
        loaded = {r.name: v.sha256 for v, r in s.execute(
            select(DatastoreVersion, Resource).join(
                Resource, Resource.id == DatastoreVersion.resource_id).where(
                DatastoreVersion.number == 1))  # later versions: demo correction requests
            if r.name not in CREDIT}
    made = {name: hashlib.sha256(t.content()).hexdigest() for name, t in city.tables.items()}
    assert loaded == made
    other = build_tables([p for p in build_plan(2016).resources
                          if p.data["name"] in ("bike-stations", "individual-business")], 2016)
    assert {t.resource: hashlib.sha256(t.content()).hexdigest() for t in other}.items() \
        .isdisjoint(made.items())


def test_sixty_resources_are_queryable_across_every_opening_and_sharing_type(city: City):
    with city.db.session() as s:
        pairs = list(s.execute(select(Resource, DatastoreVersion).join(
            DatastoreVersion, DatastoreVersion.resource_id == Resource.id).where(
            DatastoreVersion.number == 1)))  # an accepted demo request adds a version 2
        active = s.scalars(select(Distribution).where(Distribution.datastore_active)).all()
    assert len(active) == len(pairs)
    pairs = [(r, v) for r, v in pairs if r.name not in CREDIT]
    assert len({r.id for r, _v in pairs}) >= 60
    assert {r.opening_type for r, _v in pairs} == {"unconditional", "conditional", "none"}
    assert {r.sharing_type for r, _v in pairs} == {"unconditional", "conditional", "none"}
    # sent as departments send them: UTF-8 CSV, GBK CSV under a title, XLSX, NDJSON
    assert {v.source_format for _r, v in pairs} == {"csv", "xlsx", "ndjson"}
    assert {v.encoding for _r, v in pairs if v.source_format == "csv"} >= {"utf-8", "gb18030"}
    sizes = sorted(v.rows for _r, v in pairs)
    assert sizes[0] >= 15 and 15_000 <= sizes[-1] <= 25_000
    assert all(v.report["rows_rejected"] == 0 for _r, v in pairs)
    # each one holds every row of its table, and its data items are the table's columns
    for r, v in pairs:
        table = city.tables[r.name]
        assert v.rows == len(table.rows), r.name
        assert [i["name"] for i in r.data_items] == table.columns, r.name


def test_hourly_air_quality_is_read_by_district(city: City):
    rows = city.rows("air-quality-hourly", limit=1000, 所属区县="西湖区")
    assert len(rows) == 1000 and {r["站点名称"] for r in rows} == {"西溪（西湖区）"}
    assert all(0 < r["AQI"] <= 500 and r["监测时间"].startswith("2026-") for r in rows)
    assert all((r["首要污染物"] == "—") == (r["AQI"] <= 50) for r in rows)
    assert city.version("air-quality-hourly").rows == 13 * 24 * 64


def test_places_are_in_hangzhou_with_real_districts_and_dates_of_2023_to_2026(city: City):
    for name in ("bike-stations", "wifi-hotspots", "bus-stops", "medical-institutions"):
        for row in city.rows(name):
            assert LON_RANGE[0] <= row["经度"] <= LON_RANGE[1], name
            assert LAT_RANGE[0] <= row["纬度"] <= LAT_RANGE[1], name
            assert row["地址"].startswith("杭州市") and row["地址"][3:6] in DISTRICT_BY_NAME
    stops = city.rows("bus-stops")
    assert stops[0]["站点编号"] == "000001"  # a code keeps its leading zeros
    penalties = city.rows("admin-penalties", limit=1000)
    assert {r["决定日期"][:4] for r in penalties} == {"2023", "2024", "2025", "2026"}


def test_enterprise_codes_id_numbers_and_phones_validate(city: City):
    firms = city.rows("enterprise-registry", limit=500)
    assert all(detect.is_uscc(r["统一社会信用代码"]) for r in firms)
    assert len({r["统一社会信用代码"] for r in firms}) == len(firms)
    shops = city.rows("individual-business", limit=500)
    assert all(detect.is_individual_business(r["统一社会信用代码"]) for r in shops)
    assert all(detect.is_resident_id(r["经营者身份证号码"]) for r in shops)
    assert all(detect.is_mobile(r["联系电话"]) for r in shops)
    workers = city.rows("elderly-care-workers", limit=500)
    assert all(detect.is_resident_id(r["公民身份号码"]) and detect.is_mobile(r["手机号码"])
               for r in workers)
    # the sex agrees with the ID number's 17th digit, and the birthplace is a real county
    assert all((int(r["公民身份号码"][16]) % 2 == 1) == (r["性别"] == "男") for r in workers)
    penalties = city.rows("admin-penalties", limit=1000)
    kinds = Counter(r["当事人类别"] for r in penalties)
    assert set(kinds) == {"法人及非法人组织", "个体工商户", "自然人"}
    for r in penalties:
        if r["当事人类别"] != "自然人":
            assert detect.is_uscc(r["统一社会信用代码"])
        if r["当事人类别"] != "法人及非法人组织":
            assert detect.is_resident_id(r["当事人证件号码"])
    clinics = city.rows("vaccination-clinics")
    assert all(detect.is_fixed_line(r["咨询电话"]) for r in clinics)


def test_personal_tables_are_loaded_under_conditional_types_only(city: City):
    """Their data was published while the resource was shared and opened only under
    conditions; what the privacy module makes of them afterwards (policies, final types) is
    its business (tests/privacy)."""
    with city.db.session() as s:
        resources = {r.name: r for r in s.scalars(
            select(Resource).where(Resource.name.in_(PERSONAL_TABLES)))}
        assert set(resources) == set(PERSONAL_TABLES)
        assert resources["elderly-care-workers"].title == "养老服务人员信息"
        for r in resources.values():
            assert city.version(r.name).rows >= 1000
            history = s.scalars(select(Activity).where(Activity.resource_id == r.id)
                                .order_by(Activity.revision)).all()
            published = next(a.snapshot for a in history if any(
                d["datastore_active"] for d in a.snapshot["distributions"]))
            assert published["sharing_type"] == PERSONAL_TYPES["sharing_type"]
            assert published["opening_type"] == PERSONAL_TYPES["opening_type"]
            assert published["opening_conditions"] == PERSONAL_TYPES["opening_conditions"]


def test_each_file_is_sent_by_the_owning_departments_editor_and_audited(city: City):
    assert city.version("bike-stations").actor_name == "jtj_editor"
    assert city.version("air-quality-hourly").actor_name == "hbj_editor"
    assert city.version("binjiang-elderly-care").actor_name == "binjiang_editor"
    # where the demo has no editor, the platform sends it
    assert city.version("tax-payments").actor_name == "system"
    with city.db.session() as s:
        ingests = s.scalars(select(AuditEntry).where(AuditEntry.action == "datastore.ingest"))
        assert len(list(ingests)) == len(city.tables) + len(CREDIT)


def test_anonymous_users_read_an_opened_table_but_not_an_unopened_one(city: City):
    app = create_app(city.settings, city.db)
    opened = city.version("air-quality-hourly").distribution_id
    closed = city.version("population-registered").distribution_id
    with TestClient(app) as client:
        r = client.get(f"{V1}/{opened}/search", params={"limit": 5})
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 13 * 24 * 64 and len(r.json()["records"]) == 5
        assert client.get(f"/datastore/dump/{opened}").status_code == 200
        assert client.get(f"{V1}/{closed}/search").status_code == 404
        assert client.get(f"/datastore/dump/{closed}").status_code == 404


def test_the_credit_sources_are_loaded_from_four_departments_keyed_by_the_registrys_codes(
        city: City):
    """Art. 40-41: 税务, 人社, 生态环境 and the court hold small tables keyed by codes of
    enterprises in 市场监管's registry, so a profile can join them."""
    registry = {r["统一社会信用代码"] for r in city.rows("enterprise-registry", limit=300)}
    with city.db.session() as s:
        resources = {r.name: r for r in s.scalars(
            select(Resource).where(Resource.name.in_(CREDIT)))}
        owners = {r.name: org.name for r in resources.values()
                  for org in [s.get(Organisation, r.owner_org_id)]}
        agreements = set(s.scalars(select(Resource.name).join(
            Agreement, Agreement.resource_id == Resource.id)))
    assert owners == {"tax-credit-ratings": "swj", "employer-social-insurance": "rsj",
                      "environmental-penalties": "hbj", "court-judgments": "hzzy"}
    # a usage agreement wherever the public applies for the data
    assert agreements == {"tax-credit-ratings", "court-judgments"}
    total = 0
    for name in CREDIT:
        version = city.version(name)
        assert version.rows > 0 and version.report["rows_rejected"] == 0, name
        codes = {r["统一社会信用代码"] for r in city.rows(name, limit=1000)}
        assert codes <= registry, name
        total += version.rows
    assert total < 2000  # small: the demo's load time hardly changes


def _sign_in(client: TestClient, name: str) -> None:
    page = client.get("/user/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = client.post("/user/login", data={"username": name, "password": DEMO_PASSWORD,
                                         "csrf_token": token.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def test_the_enterprise_profile_joins_departments_for_a_member_and_names_what_the_public_may_not_read(  # noqa: E501
        city: City):
    # an enterprise fined by 生态环境 that also has a tax rating
    rated = {r["统一社会信用代码"] for r in city.rows("tax-credit-ratings", limit=1000)}
    fined = [r for r in city.rows("environmental-penalties", limit=1000)
             if r["统一社会信用代码"] in rated]
    assert fined
    code, decision = fined[0]["统一社会信用代码"], fined[0]["决定书文号"]
    firm = city.rows("enterprise-registry", limit=1, 统一社会信用代码=code)[0]["企业名称"]
    app = create_app(city.settings, city.db)
    with TestClient(app) as client:
        # the public: the registry and the published penalties; told to apply for the
        # ratings and the judgments; social insurance, never opened, is not even named
        anonymous = client.get(f"/api/v1/exchange/enterprises/{code}")
        assert anonymous.status_code == 200, anonymous.text
        body = anonymous.json()
        assert body["name"] == firm
        read = {x["resource"]["name"] for x in body["sources"] if x["records"]}
        assert read == {"enterprise-registry", "environmental-penalties"}
        refused = {x["resource"]["name"]: x for x in body["refused"]}
        assert {"tax-credit-ratings", "court-judgments"} <= set(refused)
        assert "employer-social-insurance" not in refused
        assert refused["tax-credit-ratings"]["status"] == 401
        assert refused["tax-credit-ratings"]["apply"] == "/exchange/apply/tax-credit-ratings"
        page = client.get(f"/enterprise/{code}")
        assert page.status_code == 200
        readable, _, closed = page.text.partition("您无权读取的来源")
        assert decision in readable and "纳税信用评价结果" in closed
        assert "涉企民商事裁判信息" in closed and "用人单位社会保险缴费情况" not in page.text

        # a member of 市场监管: its own registry, the unconditionally shared ratings and
        # penalties joined from three departments; told to apply for the conditional ones
        _sign_in(client, "scjgj_member")
        page = client.get(f"/enterprise/{code}")
        assert page.status_code == 200
        readable, _, closed = page.text.partition("您无权读取的来源")
        assert firm in readable and decision in readable and "纳税信用评价结果" in readable
        assert "用人单位社会保险缴费情况" in closed and "涉企民商事裁判信息" in closed
        assert "/exchange/apply/employer-social-insurance" in closed
        body = client.get(f"/api/v1/exchange/enterprises/{code}").json()
        joined = {x["resource"]["name"]: x for x in body["sources"] if x["records"]}
        assert {"enterprise-registry", "tax-credit-ratings",
                "environmental-penalties"} <= set(joined)
        assert len({x["resource"]["organization"]["name"] for x in joined.values()}) >= 3
        assert all(r["统一社会信用代码"] == code
                   for x in joined.values() for r in x["records"])
        refused = {x["resource"]["name"]: x for x in body["refused"]}
        assert refused["employer-social-insurance"]["reason_key"] == \
            "exchange.needs_sharing_application"


def test_files_look_like_what_departments_send(city: City, tmp_path: Path):
    import csv
    import json
    import re

    import openpyxl

    chosen = [city.tables[n] for n in ("bus-stops", "bus-lines", "metro-stations",
                                        "bike-stations")]
    gbk, xlsx, ndjson, utf8 = table_files(chosen, tmp_path)
    # GBK CSV from an older desktop export: two title lines, then the header; dates 2026/5/1
    lines = list(csv.reader(gbk.read_bytes().decode("gbk").splitlines()))
    assert lines[0] == ["公交站点信息（数据截至2026年10月31日）"]
    assert lines[1] == ["填报单位：杭州市交通运输局"]
    assert lines[2] == city.tables["bus-stops"].columns
    with pytest.raises(UnicodeDecodeError):
        gbk.read_bytes().decode("utf-8")
    penalties = city.tables["admin-penalties"].content().decode("gbk")
    assert re.search(r",20\d\d/\d{1,2}/\d{1,2},", penalties)
    # XLSX with a title row above the header
    sheet = openpyxl.load_workbook(xlsx, read_only=True).active
    top = [list(r) for r in sheet.iter_rows(min_row=1, max_row=3, values_only=True)]
    assert top[0][0] == "公交线路基本信息（数据截至2026年10月31日）"
    assert top[1] == city.tables["bus-lines"].columns and top[2][0] == "0001"
    # NDJSON from a system: one object a line, booleans and numbers as JSON
    first = json.loads(ndjson.read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == city.tables["metro-stations"].columns
    assert isinstance(first["无障碍设施"], bool) and isinstance(first["经度"], float)
    # UTF-8 CSV: the header first
    assert utf8.read_text(encoding="utf-8").splitlines()[0].split(",")[:2] == ["站点编号",
                                                                                 "站点名称"]


def test_the_command_loads_the_catalogue_alone_with_no_tables(settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch):
    # Last in this module: on PostgreSQL the ``settings`` fixture empties the shared database.
    from typer.testing import CliRunner

    from zhihui.cli import app

    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    result = CliRunner().invoke(app, ["demo", "--no-tables"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "384 resources" in said and "0 tables (0 rows)" in said
    db = Database(settings.sqlalchemy_url)
    with db.session() as s:
        assert s.scalar(select(DatastoreVersion.id).limit(1)) is None
    db.engine.dispose()
