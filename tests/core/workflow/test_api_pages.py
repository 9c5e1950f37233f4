"""The doors: /api/v1/tasks, /api/v1/cases, the /tasks page and a case's page."""

from __future__ import annotations

import re

from tests.core.workflow.test_engine import PDF, _open


def test_my_tasks_and_acting_through_the_api(client, city):
    case_id, _ = _open(city)
    got = client.get("/api/v1/tasks", headers=city.headers("editor")).json()
    assert [c["id"] for c in got] == [case_id]
    assert {a["action"] for a in got[0]["actions"]} == {"approve", "refuse", "ask"}
    assert client.get("/api/v1/tasks").json() == []

    r = client.post(f"/api/v1/cases/{case_id}/actions", headers=city.headers("member"),
                    json={"action": "approve"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/cases/{case_id}/actions", headers=city.headers("editor"),
                    json={"action": "refuse"})
    assert r.status_code == 409 and "comment" in r.json()["error"]["fields"]
    stale = client.post(f"/api/v1/cases/{case_id}/actions", headers=city.headers("editor"),
                        json={"action": "approve", "revision": got[0]["revision"] - 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "workflow.stale"
    r = client.post(f"/api/v1/cases/{case_id}/actions", headers=city.headers("editor"),
                    json={"action": "approve", "revision": got[0]["revision"]})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    again = client.post(f"/api/v1/cases/{case_id}/actions", headers=city.headers("editor"),
                        json={"action": "approve"})
    assert again.status_code == 409
    assert "未重复办理" in again.json()["error"]["message"]

    detail = client.get(f"/api/v1/cases/{case_id}", headers=city.headers("public")).json()
    assert [e["action"] for e in detail["events"]] == ["open", "approve"]
    assert client.get(f"/api/v1/cases/{case_id}",
                      headers=city.headers("other_editor")).status_code == 404


def test_anonymous_applicant_uses_the_receipt_header(client, city):
    case_id, code = _open(city, "anonymous", receipt=True)
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 404
    hdr = {"X-Receipt-Code": code}
    assert client.get(f"/api/v1/cases/{case_id}", headers=hdr).json()["state"] == "submitted"
    up = client.post(f"/api/v1/cases/{case_id}/attachments", headers=hdr,
                     files={"upload": ("证明.pdf", PDF, "application/pdf")})
    assert up.status_code == 201 and up.json()["media_type"] == "application/pdf"
    bad = client.post(f"/api/v1/cases/{case_id}/attachments", headers=hdr,
                      files={"upload": ("证明.pdf", b"MZ\x90\x00" + b"\x00" * 64,
                                        "application/pdf")})
    assert bad.status_code == 409
    got = client.get(f"/api/v1/cases/{case_id}/attachments/{up.json()['id']}", headers=hdr)
    assert got.status_code == 200 and got.content == PDF
    c = client.post(f"/api/v1/cases/{case_id}/comments", headers=hdr, json={"comment": "补充"})
    assert c.status_code == 201


def _login(client, name):
    from tests.factories import PASSWORD

    page = client.get("/user/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/user/login", data={"username": name, "password": PASSWORD,
                                      "csrf_token": token, "next": "/"})


def test_the_tasks_page_and_deciding_on_a_case_page(client, city):
    case_id, _ = _open(city)
    assert client.get("/tasks", follow_redirects=False).status_code == 303
    _login(client, "editor")
    page = client.get("/tasks")
    assert page.status_code == 200 and "申请公交数据" in page.text
    case_page = client.get(f"/cases/{case_id}")
    assert case_page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', case_page.text).group(1)
    revision = re.search(r'name="revision" value="(\d+)"', case_page.text).group(1)
    r = client.post(f"/cases/{case_id}/act", data={"action": "refuse", "comment": "",
                                                   "revision": revision, "csrf_token": token})
    assert r.status_code == 409 and "理由" in r.text
    form = {"action": "approve", "revision": revision, "csrf_token": token}
    r = client.post(f"/cases/{case_id}/act", data=form)
    assert r.status_code == 200 and "approved" in r.text  # redirected to the case page
    r = client.post(f"/cases/{case_id}/act", data=form)  # the form posted twice
    assert r.status_code == 409
    assert "My tasks" in client.get("/tasks?lang=en").text
