"""The doors of Art. 50 requests: the API (JSON), the filing form with evidence, following by
receipt, the organisation's queue with its decisions, and CKAN datastore_search's marks."""

from __future__ import annotations

import re

from tests.core.workflow.test_api_pages import _login

USCC = "统一社会信用代码"


def _body(dist, **over):
    body = {"distribution_id": dist, "contact_name": "王小明", "contact_phone": "13912345678",
            "locator": {USCC: "91330100MA27XK2B2C"}, "kind": "correct",
            "what_is_wrong": "注册资本已变更", "corrections": {"注册资本": "1200"}}
    body.update(over)
    return body


def test_file_follow_and_decide_through_the_api(client, city, companies):
    r = client.post("/api/v1/requests", json=_body(companies))
    assert r.status_code == 201, r.text
    filed = r.json()
    assert filed["matched"] == 1 and filed["state"] == "submitted"
    again = client.post("/api/v1/requests", json=_body(companies))
    assert again.status_code == 409 and again.json()["error"]["code"] == "requests.duplicate"
    none = client.post("/api/v1/requests", json=_body(companies, locator={USCC: "x"},
                                                        contact_phone="13800000000"))
    assert none.status_code == 409 and "0" in none.json()["error"]["message"]
    missing = client.post("/api/v1/requests", json={"distribution_id": companies})
    assert missing.status_code == 409 and "contact_name" in missing.json()["error"]["fields"]

    shown = client.get(f"/api/v1/requests/{filed['receipt']}").json()
    assert shown["state"] == "submitted" and "contact_phone" not in shown
    assert client.get("/api/v1/requests/AAAA-BBBB-CCCC-DDDD").status_code == 404

    marks = client.get(f"/api/3/action/datastore_search?resource_id={companies}").json()
    assert marks["result"]["disputed"] == [2]

    q = client.get(f"/api/v1/organizations/{city.orgs['jtj']}/requests",
                   headers=city.headers("member")).json()
    assert q[0]["contact_phone"] == "13912345678"
    assert client.get(f"/api/v1/organizations/{city.orgs['jtj']}/requests").status_code == 401
    assert client.get(f"/api/v1/organizations/{city.orgs['jtj']}/requests",
                      headers=city.headers("other_editor")).status_code == 403

    d = client.post(f"/api/v1/requests/{filed['id']}/decision", headers=city.headers("editor"),
                    json={"decision": "accept", "comment": "核实无误"})
    assert d.status_code == 200 and d.json()["result_version"] == 2
    rows = client.get(f"/api/v1/datastore/{companies}/search",
                      params={"filters": '{"_id": 2}'}).json()
    assert rows["records"][0]["注册资本"] == 1200 and rows["disputed"] == []
    replay = client.post(f"/api/v1/requests/{filed['id']}/decision",
                         headers=city.headers("editor"), json={"decision": "accept"})
    assert replay.status_code == 409
    over = client.get(f"/api/v1/organizations/{city.orgs['jtj']}/requests/overdue").json()
    assert over == {"count": 0, "listed": False, "requests": []}


def test_the_filing_form_keeps_what_was_typed_and_refuses_a_fake_pdf(client, city, companies):
    page = client.get(f"/requests/new?distribution={companies}")
    assert page.status_code == 200 and "统一社会信用代码" not in "" and "csrf_token" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": token, "distribution_id": companies, "contact_name": "李四",
            "contact_email": "li@example.cn", "id_number": "11010519491231002X",
            "loc_col_0": USCC, "loc_val_0": "91330100MA27XK1A1B", "kind": "correct",
            "what_is_wrong": "企业名称错误", "fix_col_0": "企业名称",
            "fix_val_0": "杭州西湖智能科技有限公司"}
    bad = client.post("/requests/new", data=form,
                      files={"evidence": ("执照.pdf", b"MZ\x90\x00" + b"\x00" * 64,
                                          "application/pdf")})
    assert bad.status_code == 409
    assert "企业名称错误" in bad.text and "11010519491231002X" not in bad.text
    good = client.post("/requests/new", data=form,
                       files={"evidence": ("执照.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert good.status_code == 201
    code = re.search(r'id="receipt">([^<]+)<', good.text).group(1)
    follow = client.get(f"/requests/{code}")
    assert follow.status_code == 200 and "待答复" in follow.text
    assert "Awaiting answer" in client.get(f"/requests/{code}?lang=en").text


def test_the_organisation_answers_on_its_page(client, city, companies):
    filed = client.post("/api/v1/requests", json=_body(companies)).json()
    public = client.get("/organization/jtj/requests")
    assert public.status_code == 200 and "王小明" not in public.text
    _login(client, "editor")
    page = client.get("/organization/jtj/requests")
    assert "王小明" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    revision = re.search(r'name="revision" value="(\d+)"', page.text).group(1)
    refused = client.post(f"/requests/manage/{filed['id']}", data={
        "csrf_token": token, "decision": "refuse", "comment": "", "revision": revision})
    assert refused.status_code == 409 and "理由" in refused.text
    ok = client.post(f"/requests/manage/{filed['id']}", data={
        "csrf_token": token, "decision": "partially_accept", "comment": "核实后部分采纳",
        "accepted_ids": "2", "revision": revision})
    assert ok.status_code == 200
    shown = client.get(f"/api/v1/requests/{filed['receipt']}").json()
    assert shown["state"] == "partially_accepted" and shown["result_version"] == 2
