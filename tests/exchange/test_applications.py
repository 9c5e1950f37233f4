"""Applications on core.workflow: a department applies, the provider approves fewer items or
refuses with a reason, approval makes the grant; what may not be shared cannot be applied
for; an overdue application escalates to the operator; the public applies for conditionally
opened data accepting the versioned usage agreement and gets a key with a quota."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.exchange.conftest import Data
from tests.factories import City
from zhihui.core.audit.models import AuditEntry
from zhihui.core.workflow import service as workflow
from zhihui.db import utcnow

X = "/api/v1/exchange"
V1 = "/api/v1/datastore"


def _apply(client: TestClient, city: City, role: str, resource: str, kind: str = "sharing",
           **extra):  # type: ignore[no-untyped-def]
    body = {"resource_id": city.resources.get(resource, resource), "purpose": "公交运行监测",
            "legal_basis": "《杭州市智慧经济促进条例》第四十六条",
            "using_system": "城市大脑交通模块",
            "intended_use": "出行应用", "security_measures": "专线传输、访问控制", **extra}
    return client.post(f"{X}/applications/{kind}", headers=city.headers(role), json=body)


def test_a_department_applies_and_the_provider_approves_fewer_items(
        client: TestClient, city: City, data: Data) -> None:
    made = _apply(client, city, "other_member", "closed",
                  columns=["线路编号", "线路名称", "票价", "备注"])
    assert made.status_code == 201, made.text
    app = made.json()
    assert app["status"] == "submitted" and app["due"]
    # it waits in the provider's tasks
    tasks = client.get("/api/v1/tasks", headers=city.headers("editor"))
    assert tasks.status_code == 200 and app["case_id"] in tasks.text
    # the provider may narrow, never widen
    wider = client.post(f"{X}/applications/{app['id']}/decision", headers=city.headers("editor"),
                        json={"action": "approve", "columns": ["线路编号", "开通日期"]})
    assert wider.status_code == 409
    ok = client.post(f"{X}/applications/{app['id']}/decision", headers=city.headers("editor"),
                     json={"action": "approve", "columns": ["线路编号", "线路名称"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved" and ok.json()["answer_days"] == 0
    r = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member")).json()
    assert set(r["records"][0]) == {"_id", "线路编号", "线路名称"} and r["total"] == 5
    grant = client.get(f"{X}/grants/{ok.json()['grant_id']}",
                       headers=city.headers("other_member")).json()
    assert grant["application_id"] == app["id"] and grant["live"] and grant["valid_until"]


def test_a_refusal_needs_a_reason(client: TestClient, city: City, data: Data) -> None:
    app = _apply(client, city, "other_member", "closed").json()
    url = f"{X}/applications/{app['id']}/decision"
    assert client.post(url, headers=city.headers("editor"),
                       json={"action": "refuse"}).status_code == 409
    r = client.post(url, headers=city.headers("editor"),
                    json={"action": "refuse", "reason": "申请用途与共享条件不符"})
    assert r.status_code == 200 and r.json()["status"] == "refused"
    assert r.json()["reason"] == "申请用途与共享条件不符"
    assert client.get(f"{V1}/{data.closed}/search",
                      headers=city.headers("other_member")).status_code == 403
    # the applicant cannot decide its own application
    again = _apply(client, city, "other_member", "closed").json()
    assert client.post(f"{X}/applications/{again['id']}/decision",
                       headers=city.headers("other_member"),
                       json={"action": "approve"}).status_code == 403


def test_what_cannot_be_applied_for_is_refused_precisely_and_audited(
        client: TestClient, city: City, data: Data) -> None:
    missing = _apply(client, city, "other_member", "no-such-resource")
    assert missing.status_code == 404
    unconditional = _apply(client, city, "other_member", "open")
    assert unconditional.status_code == 409 and "无须申请" in unconditional.json()["error"][
        "message"]
    own = _apply(client, city, "member", "closed")
    assert own.status_code == 403
    incomplete = _apply(client, city, "other_member", "closed", purpose="", columns=["无此项"])
    assert incomplete.status_code == 409
    assert set(incomplete.json()["error"]["fields"]) == {"purpose", "columns"}
    with city.db.session() as s:
        refused = [e.detail["refused"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "application.create").order_by(AuditEntry.id))
            if "refused" in e.detail]
    assert refused == ["error.resource_not_found", "exchange.apply_unconditional",
                       "exchange.apply_sharing_who"]


def test_an_overdue_application_escalates_to_the_operator_who_decides(
        client: TestClient, city: City, data: Data) -> None:
    app = _apply(client, city, "other_member", "closed").json()
    with city.db.session() as s:
        escalated = workflow.escalate(s, now=utcnow() + timedelta(days=30))
    assert [c.id for c in escalated] == [app["case_id"]]
    tasks = client.get("/api/v1/tasks", headers=city.headers("sysadmin")).text
    assert app["case_id"] in tasks
    r = client.post(f"{X}/applications/{app['id']}/decision", headers=city.headers("sysadmin"),
                    json={"action": "approve"})
    assert r.status_code == 200 and r.json()["decided_by"] == "sysadmin"


def test_the_public_applies_accepting_the_agreement_and_gets_a_key_with_a_quota(
        client: TestClient, city: City, data: Data) -> None:
    none_yet = _apply(client, city, "public", "air", kind="opening", agreement_version=1)
    assert none_yet.status_code == 409
    put = client.put(f"{X}/agreements/{city.resources['air']}",
                     headers=city.headers("other_editor"), json={"text": "第一版：不得转售。"})
    assert put.status_code == 201 and put.json()["version"] == 1
    client.put(f"{X}/agreements/{city.resources['air']}", headers=city.headers("other_editor"),
               json={"text": "第二版：不得转售，不得重新识别个人。"})
    stale = _apply(client, city, "public", "air", kind="opening", agreement_version=1)
    assert stale.status_code == 409 and "第 2 版" in stale.text
    app = _apply(client, city, "public", "air", kind="opening", agreement_version=2).json()
    assert app["agreement_version"] == 2
    decided = client.post(f"{X}/applications/{app['id']}/decision",
                          headers=city.headers("other_editor"),
                          json={"action": "approve", "quota_per_day": 1})
    assert decided.status_code == 200, decided.text
    key = client.post(f"{X}/grants/{decided.json()['grant_id']}/key",
                      headers=city.headers("public"))
    assert key.status_code == 201 and key.json()["quota_per_day"] == 1
    auth = {"Authorization": key.json()["key"]}
    assert client.get(f"{V1}/{data.air}/search", headers=auth).status_code == 200
    assert client.get(f"{V1}/{data.air}/search", headers=auth).status_code == 429
    # an unconditionally opened resource needs no opening application
    assert _apply(client, city, "public", "open", kind="opening").status_code == 409


def test_grants_nearing_expiry_are_listed_and_renewed_by_a_new_application(
        client: TestClient, city: City, data: Data) -> None:
    app = _apply(client, city, "other_member", "closed", period_days=10).json()
    gid = client.post(f"{X}/applications/{app['id']}/decision", headers=city.headers("editor"),
                      json={"action": "approve"}).json()["grant_id"]
    soon = client.get(f"{X}/grants/expiring", headers=city.headers("other_member")).json()
    assert [g["id"] for g in soon] == [gid]
    renewal = _apply(client, city, "other_member", "closed", renews_grant_id=gid)
    assert renewal.status_code == 201 and renewal.json()["renews_grant_id"] == gid
