"""The one-enterprise profile (Art. 41): rows keyed by one unified social credit code from
every source with a code column, read as the viewer through the datastore's read path; the
sources the viewer may not read are named with the reason and an apply link; a bad code is
422 in the page's language."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.datastore.helpers import csv_text, new_distribution
from tests.datastore.test_api import upload
from tests.factories import City, resource_input
from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import SYSTEM
from zhihui.privacy.detect import org_code_check_char, uscc_check_char


def make_uscc(serial: int) -> str:
    org = f"{serial:08d}"
    first17 = "91330100" + org + org_code_check_char(org)
    return first17 + uscc_check_char(first17)


A, B = make_uscc(1234567), make_uscc(7654321)


@dataclass
class Sources:
    registry: str  # jtj: shared and opened unconditionally
    ratings: str  # jtj: sharing conditional, opening none
    penalties: str  # hbj: opening conditional


def _resource(city: City, org: str, title: str, items: list[str], **types: str) -> str:
    with city.db.session() as s:
        r = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            city.orgs[org], title=title, data_items=[
                {"name": n, "type": "C", "length": 200} for n in items], **types)))
        s.commit()
        return r.id


@pytest.fixture
def sources(client: TestClient, city: City) -> Sources:
    specs = {
        "registry": ("jtj", "editor", "企业登记信息", ["企业名称", "统一社会信用代码", "登记状态"],
                     {}, [["甲科技有限公司", A, "存续"], ["乙贸易有限公司", B, "存续"]]),
        "ratings": ("jtj", "editor", "企业信用评价", ["统一社会信用代码", "信用等级"],
                    {"sharing_type": "conditional", "sharing_conditions": "仅限监管使用",
                     "opening_type": "none", "opening_legal_basis": "《数据安全法》第二十一条"},
                    [[A, "A"], [B, "C"]]),
        "penalties": ("hbj", "other_editor", "环境行政处罚", ["统一社会信用代码", "处罚内容"],
                      {"opening_type": "conditional", "opening_conditions": "须签署协议"},
                      [[A, "罚款五万元"], [A, "责令改正"]]),
    }
    out = {}
    for label, (org, role, title, items, types, rows) in specs.items():
        rid = _resource(city, org, title, items, **types)
        dist = new_distribution(city.db, rid)
        r = upload(client, city, dist, csv_text([items, *rows], title=None).encode(), "a.csv",
                   role=role)
        assert r.status_code == 201, r.text
        out[label] = rid
    return Sources(**out)


def test_the_public_sees_open_sources_and_is_told_what_it_may_not_read(
        client: TestClient, city: City, sources: Sources) -> None:
    r = client.get(f"/api/v1/exchange/enterprises/{A.lower()}", headers=city.headers("public"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["uscc"] == A and body["name"] == "甲科技有限公司"
    readable = {s["resource"]["id"]: s for s in body["sources"]}
    assert set(readable) == {sources.registry}
    assert [x["统一社会信用代码"] for x in readable[sources.registry]["records"]] == [A]
    refused = {s["resource"]["id"]: s for s in body["refused"]}
    # the conditionally shared, never opened source is hidden from the public altogether
    assert set(refused) == {sources.penalties}
    assert refused[sources.penalties]["status"] == 403
    assert refused[sources.penalties]["apply"].startswith("/exchange/apply/")
    assert "开放申请" in refused[sources.penalties]["reason"]


def test_a_department_reads_shared_sources_and_needs_a_grant_for_conditional_ones(
        client: TestClient, city: City, sources: Sources) -> None:
    page = client.get(f"/enterprise/{A}", headers=city.headers("other_member"))
    assert page.status_code == 200
    assert "甲科技有限公司" in page.text and "罚款五万元" in page.text  # hbj's own
    assert "企业信用评价" in page.text and "/exchange/apply/" in page.text
    body = client.get(f"/api/v1/exchange/enterprises/{A}",
                      headers=city.headers("other_member")).json()
    # hbj's own penalties are readable to hbj; jtj's registry is shared unconditionally
    readable = {s["resource"]["id"] for s in body["sources"]}
    assert readable == {sources.registry, sources.penalties}
    refused = {s["resource"]["id"]: s for s in body["refused"]}
    assert refused[sources.ratings]["status"] == 403
    assert refused[sources.ratings]["reason_key"] == "exchange.needs_sharing_application"
    # each read went through the datastore's read path and is in the audit log
    with city.db.session() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "data.search",
                                                   AuditEntry.actor_name == "other_member")
                          ).all()
    assert len(reads) >= 2


def test_the_provider_sees_every_source(client: TestClient, city: City,
                                        sources: Sources) -> None:
    body = client.get(f"/api/v1/exchange/enterprises/{B}", headers=city.headers("editor"),
                      ).json()
    by = {s["resource"]["id"]: s for s in body["sources"]}
    assert by[sources.ratings]["records"][0]["信用等级"] == "C"
    assert body["found"] == 2  # registry and ratings; no penalties for B


def test_a_bad_code_is_422_in_the_users_language(client: TestClient, city: City) -> None:
    bad = A[:-1] + ("0" if A[-1] != "0" else "1")
    r = client.get(f"/api/v1/exchange/enterprises/{bad}")
    assert r.status_code == 422 and "统一社会信用代码" in r.text
    page = client.get(f"/enterprise/{bad}?lang=en")
    assert page.status_code == 422 and "unified social credit code" in page.text
    assert client.get("/enterprise?code=abc", follow_redirects=False).status_code == 303


def test_the_demo_credit_sources_share_the_registrys_codes(
        client: TestClient, city: City) -> None:
    from zhihui.core.accounts import service as accounts
    from zhihui.demo.exchange import SOURCES, load_credit_sources

    with city.db.session() as s:
        for name, title in (("swj", "国家税务总局杭州市税务局"), ("rsj", "杭州市人力社保局")):
            accounts.create_org(s, SYSTEM, name=name, title=title, kind="department",
                                catalog_code=f"0{len(name)}{name[0] == 's' and 1 or 2}",
                                parent=city.orgs["hangzhou"])
        s.commit()
    registry = _resource(city, "jtj", "企业登记基本信息", ["企业名称", "统一社会信用代码"])
    with city.db.session() as s:
        catalog.patch_resource(s, SYSTEM, registry, {"name": "enterprise-registry"})
        s.commit()
    firms = [[f"杭州{i}号科技有限公司", make_uscc(1000 + i)] for i in range(60)]
    dist = new_distribution(city.db, registry)
    assert upload(client, city, dist, csv_text([["企业名称", "统一社会信用代码"], *firms],
                                               title=None).encode(), "r.csv").status_code == 201
    with city.db.session() as s:
        rows = load_credit_sources(s, client.app.state.settings.data_root)
        s.commit()
    assert 0 < rows < 1000  # small: the demo stays fast
    # some enterprise appears in the registry and at least two credit sources, for the operator
    best = max((client.get(f"/api/v1/exchange/enterprises/{code}",
                           headers=city.headers("sysadmin")).json() for _n, code in firms[:20]),
               key=lambda p: p["found"])
    assert best["found"] >= 3
    names = {x["resource"]["name"] for x in best["sources"]}
    assert names <= {"enterprise-registry", *(spec["name"] for spec in SOURCES)}
    # the public reads the published penalties, and is told to apply for the tax ratings
    public = client.get(f"/api/v1/exchange/enterprises/{best['uscc']}",
                        headers=city.headers("public")).json()
    refused = {x["resource"]["name"]: x for x in public["refused"]}
    assert "tax-credit-ratings" in refused and refused["tax-credit-ratings"]["apply"]
    assert "employer-social-insurance" not in refused  # never opened: not even named
