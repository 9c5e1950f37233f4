"""Grading rules in the catalogue (GB/T 43697, PIPL Art. 28, 55): core data is never opened;
personal information is opened or shared unconditionally only under a policy covering every
personal column, and opened or shared at all only after an impact assessment."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.datastore.helpers import new_distribution
from tests.factories import City, resource_input
from tests.privacy.people import csv_bytes, people
from tests.privacy.test_protection import POLICY, P, upload
from zhihui.core.audit.models import AuditEntry

ASSESSMENT = {"scope": "opening", "purpose": "养老服务统计分析", "recipients": "社会公众",
              "risks": "重新识别风险：年龄段与性别组合；已按 k=2 删除小组",
              "measures": "姓名假名化，身份证号、手机号掩码，银行卡号删除",
              "approved_by": "市民政局数据安全负责人", "approved_on": "2024-06-01"}


def test_core_data_cannot_be_opened(client: TestClient, city: City) -> None:
    r = client.post("/api/v1/resources", headers=city.headers("editor"), json=resource_input(
        city.orgs["jtj"], title="核心数据", grade="core"))
    assert r.status_code == 409
    assert "核心数据不得开放" in r.json()["error"]["fields"]["opening_type"][0]
    ok = client.post("/api/v1/resources", headers=city.headers("editor"), json=resource_input(
        city.orgs["jtj"], title="核心数据", grade="core", opening_type="none",
        opening_legal_basis="《数据安全法》第二十一条", license_id=""))
    assert ok.status_code == 201, ok.text
    assert ok.json()["grade"] == "core"
    r = client.post("/api/v1/resources?lang=en", headers=city.headers("editor"),
                    json=resource_input(city.orgs["jtj"], title="x", grade="secret"))
    assert "grade" in r.json()["error"]["fields"]


def test_personal_data_needs_a_policy_and_an_assessment_to_open(
        client: TestClient, city: City) -> None:
    rid = city.resources["open"]
    dist = new_distribution(city.db, rid)
    assert upload(client, city, dist, csv_bytes(people(40))).status_code == 201
    editor = city.headers("editor")

    def retitle():  # type: ignore[no-untyped-def]
        return client.patch(f"/api/v1/resources/{rid}", json={"title": "养老服务对象"},
                            headers=editor)

    r = retitle()
    assert r.status_code == 409
    fields = r.json()["error"]["fields"]
    assert "公民身份号码" in fields["opening_type"][0]  # the uncovered columns are named
    assert any("影响评估" in m for m in fields["sharing_type"])

    assert client.put(f"{P}/{rid}/policy", json=POLICY, headers=editor).status_code == 200
    r = retitle()
    assert r.status_code == 409 and all("脱敏策略" not in m for m in
                                        r.json()["error"]["fields"]["opening_type"])
    for scope in ("opening", "sharing"):
        a = client.post(f"{P}/{rid}/assessments", json={**ASSESSMENT, "scope": scope},
                        headers=editor)
        assert a.status_code == 201, a.text
        assert a.json()["k"] is not None and a.json()["columns"]
    assert retitle().status_code == 200

    # conditional sharing needs an assessment too, but not a policy covering every column
    with city.db.session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.assessment"))


def test_assessments_are_shown_to_auditors_and_the_owner_not_to_others(
        client: TestClient, city: City) -> None:
    from zhihui.core.accounts import service as accounts
    from zhihui.core.authz import SYSTEM

    rid = city.resources["open"]
    r = client.post(f"{P}/{rid}/assessments", json=ASSESSMENT, headers=city.headers("editor"))
    assert r.status_code == 201
    with city.db.session() as s:
        user = accounts.create_user(s, SYSTEM, name="auditor", password="correct-horse-battery",
                                    fullname="审计员", auditor=True)
        _, secret = accounts.create_token(s, SYSTEM, user=user, name="t")
    seen = client.get(f"{P}/{rid}/assessments", headers={"Authorization": secret})
    assert seen.status_code == 200 and seen.json()[0]["purpose"] == ASSESSMENT["purpose"]
    assert client.get(f"{P}/{rid}/assessments", headers=city.headers("sysadmin")).json()
    assert client.get(f"{P}/{rid}/assessments",
                      headers=city.headers("other_editor")).status_code == 403
    assert client.get(f"{P}/{rid}/assessments").status_code == 401
    bad = client.post(f"{P}/{rid}/assessments", headers=city.headers("editor"),
                      json={**ASSESSMENT, "purpose": " ", "scope": "selling",
                            "approved_on": "2999-01-01"})
    assert bad.status_code == 409
    assert {"purpose", "scope", "approved_on"} <= set(bad.json()["error"]["fields"])


def test_the_privacy_page_confirms_columns_sets_a_policy_and_reports_k(
        client: TestClient, city: City) -> None:
    import re

    rid = city.resources["open"]
    dist = new_distribution(city.db, rid)
    assert upload(client, city, dist, csv_bytes(people(40))).status_code == 201
    from tests.catalog.test_pages import sign_in

    sign_in(client, "editor")
    page = client.get(f"/dataset/{rid}/privacy")
    assert page.status_code == 200 and "公民身份号码" in page.text and "待脱敏" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    names = ["姓名", "公民身份号码", "手机号码", "银行卡号", "出生日期", "年龄", "性别",
             "居住地址", "服务项目"]
    methods = ["pseudonym", "mask", "mask", "suppress", "generalise", "generalise", "",
               "generalise", ""]
    form = {"csrf_token": csrf, "column": names, "method": methods,
            "keep_start": [""] * 9, "keep_end": [""] * 9,
            "to": ["", "", "", "", "year", "district", "", "district", ""],
            "width": [""] * 9, "quasi_identifiers": "性别，年龄", "k": "2"}
    r = client.post(f"/dataset/{rid}/privacy/policy", data=form, follow_redirects=False)
    assert r.status_code == 409 and "不能按" in r.text  # an age is not an address
    form["to"][5] = "band"
    r = client.post(f"/dataset/{rid}/privacy/policy", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    assert "脱敏后的数据" in client.get(f"/dataset/{rid}/privacy").text
    rep = client.get(f"/dataset/{rid}/privacy", params={"columns": "性别,年龄", "k": 3})
    assert "k（最小组）" in rep.text
    r = client.post(f"/dataset/{rid}/privacy/columns", follow_redirects=False, data={
        "csrf_token": csrf, "distribution_id": dist, "column": "服务项目", "type": "",
        "personal": "none"})
    assert r.status_code == 303
    resource_page = client.get(f"/dataset/{rid}")
    assert "敏感个人信息" in resource_page.text and f"/dataset/{rid}/privacy" in resource_page.text
