"""Exchange pages: the resource page's panel says what a viewer may do (apply, or why not);
a department applies through the form, the provider approves fewer items on the application
page, and the applicant reads the data; the public applies for conditionally opened data
accepting the agreement and gets an API key once; feedback is answered publicly; the
statistics are public and each organisation's detail is its members'."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.core.workflow.test_api_pages import _login
from tests.exchange.conftest import Data
from tests.factories import City

V1 = "/api/v1/datastore"


def _as(client: TestClient, name: str) -> TestClient:
    c = TestClient(client.app)
    _login(c, name)
    return c


def _token(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no form"
    return m.group(1)


def test_the_panel_says_who_may_apply_and_why_not(client: TestClient, city: City,
                                                   data: Data) -> None:
    closed, opened = city.resources["closed"], city.resources["open"]
    page = client.get(f"/dataset/{closed}")
    assert page.status_code == 404 or 'id="exchange"' in page.text
    other = _as(client, "other_member")
    panel = other.get(f"/dataset/{closed}/exchange", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "申请使用" in panel.text
    assert "<html" not in panel.text  # a fragment for htmx
    assert "无条件共享" in other.get(f"/dataset/{opened}/exchange").text
    en = other.get(f"/dataset/{opened}/exchange?lang=en")
    assert "shared unconditionally" in en.text
    # the owner is not offered an application
    assert "申请使用" not in _as(client, "editor").get(f"/dataset/{closed}/exchange").text
    # anonymous visitors are sent to sign in
    r = client.get(f"/exchange/apply/{closed}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login")


def test_apply_approve_fewer_items_and_read(client: TestClient, city: City, data: Data) -> None:
    other = _as(client, "other_member")
    form = other.get(f"/exchange/apply/{city.resources['closed']}")
    assert form.status_code == 200 and 'name="columns"' in form.text
    token = _token(form.text)
    url = re.search(r'action="(/exchange/apply/[^"]+)"', form.text).group(1)
    # a missing purpose: 4xx in the page's language, what was typed kept
    bad = other.post(url, data={"csrf_token": token, "kind": "sharing", "purpose": "",
                                "legal_basis": "条例第四十六条", "using_system": "城市大脑"})
    assert 400 <= bad.status_code < 500 and "城市大脑" in bad.text
    no_csrf = other.post(url, data={"kind": "sharing", "purpose": "x"})
    assert no_csrf.status_code == 403
    made = other.post(url, data={"csrf_token": token, "kind": "sharing",
                                 "purpose": "公交运行监测", "legal_basis": "条例第四十六条",
                                 "using_system": "城市大脑", "period_days": "90",
                                 "columns": ["线路编号", "线路名称", "票价"]},
                      follow_redirects=False)
    assert made.status_code == 303, made.text
    app_url = made.headers["location"]
    shown = other.get(app_url)
    assert "待审核" in shown.text and "个工作日" in shown.text
    assert 'value="approve"' not in shown.text and 'value="withdraw"' in shown.text
    # the applicant cannot decide: 4xx, shown on the page
    own = other.post(app_url + "/decision", data={"csrf_token": token, "action": "approve"})
    assert 400 <= own.status_code < 500 and 'role="alert"' in own.text
    mine = other.get("/exchange/my")
    assert "我提交的申请" in mine.text and "公交" in mine.text
    # the provider sees it waiting and approves two of the three items
    editor = _as(client, "editor")
    waiting = editor.get("/exchange/my")
    assert "待我审核的申请" in waiting.text and app_url in waiting.text
    page = editor.get(app_url)
    assert page.status_code == 200 and 'value="approve"' in page.text
    ok = editor.post(app_url + "/decision", data={
        "csrf_token": _token(page.text), "action": "approve",
        "columns": ["线路编号", "线路名称"]}, follow_redirects=False)
    assert ok.status_code == 303
    assert "已批准" in other.get(app_url).text
    r = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member")).json()
    assert set(r["records"][0]) == {"_id", "线路编号", "线路名称"}
    # the grant is on the applicant's page with its scope and expiry; the provider revokes it
    assert "线路编号、线路名称" in other.get("/exchange/my").text
    listing = editor.get("/exchange/my")
    gid = re.search(r'action="/exchange/grants/([^/]+)/revoke"', listing.text).group(1)
    assert editor.post(f"/exchange/grants/{gid}/revoke", data={
        "csrf_token": _token(listing.text), "reason": "项目结束"},
        follow_redirects=False).status_code == 303
    assert client.get(f"{V1}/{data.closed}/search",
                      headers=city.headers("other_member")).status_code == 403


def test_refusing_needs_a_reason_shown_in_the_users_language(
        client: TestClient, city: City, data: Data) -> None:
    other = _as(client, "other_member")
    form = other.get(f"/exchange/apply/{city.resources['closed']}")
    url = re.search(r'action="(/exchange/apply/[^"]+)"', form.text).group(1)
    app_url = other.post(url, data={"csrf_token": _token(form.text), "kind": "sharing",
                                    "purpose": "监测", "legal_basis": "第四十六条",
                                    "using_system": "平台"},
                         follow_redirects=False).headers["location"]
    editor = _as(client, "editor")
    page = editor.get(app_url + "?lang=en")
    r = editor.post(app_url + "/decision", data={"csrf_token": _token(page.text),
                                                  "action": "refuse", "reason": ""})
    assert 400 <= r.status_code < 500 and 'role="alert"' in r.text
    r = editor.post(app_url + "/decision", data={"csrf_token": _token(page.text),
                                                  "action": "refuse", "reason": "用途不明确"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "用途不明确" in other.get("/exchange/my").text


def test_the_public_applies_with_the_agreement_and_gets_a_key_once(
        client: TestClient, city: City, data: Data) -> None:
    air = city.resources["air"]
    r = client.put(f"/api/v1/exchange/agreements/{air}", headers=city.headers("other_editor"),
                   json={"text": "第一条 仅用于约定用途。\n第二条 不得转售。"})
    assert r.status_code == 201
    public = _as(client, "public")
    form = public.get(f"/exchange/apply/{air}")
    assert "不得转售" in form.text and 'name="accept"' in form.text
    url = re.search(r'action="(/exchange/apply/[^"]+)"', form.text).group(1)
    values = {"csrf_token": _token(form.text), "kind": "opening", "purpose": "空气质量应用",
              "intended_use": "出行提示", "security_measures": "访问控制"}
    refused = public.post(url, data=values)  # the agreement not accepted
    assert 400 <= refused.status_code < 500 and "数据使用协议" in refused.text
    made = public.post(url, data={**values, "accept": "yes"}, follow_redirects=False)
    assert made.status_code == 303
    editor = _as(client, "other_editor")
    page = editor.get(made.headers["location"])
    assert editor.post(made.headers["location"] + "/decision", data={
        "csrf_token": _token(page.text), "action": "approve", "quota_per_day": "50"},
        follow_redirects=False).status_code == 303
    mine = public.get("/exchange/my")
    gid = re.search(r'action="/exchange/grants/([^/]+)/key"', mine.text).group(1)
    shown = public.post(f"/exchange/grants/{gid}/key", data={"csrf_token": _token(mine.text)})
    assert shown.status_code == 201
    key = re.search(r'<code class="secret">([^<]+)</code>', shown.text).group(1)
    assert key not in public.get("/exchange/my").text  # shown once
    assert client.get(f"{V1}/{data.air}/search", headers={"Authorization": key}
                      ).status_code == 200


def test_feedback_and_subscriptions_on_the_panel(client: TestClient, city: City,
                                                 data: Data) -> None:
    opened = city.resources["open"]
    public = _as(client, "public")
    panel = public.get(f"/dataset/{opened}/exchange")
    sent = public.post(f"/exchange/feedback/{opened}", data={
        "csrf_token": _token(panel.text), "kind": "problem", "title": "票价有误",
        "body": "第3行票价应为2元"}, follow_redirects=False)
    assert sent.status_code == 303
    empty = public.post(f"/exchange/feedback/{opened}", data={
        "csrf_token": _token(panel.text), "kind": "problem", "title": "", "body": "x"})
    assert 400 <= empty.status_code < 500
    # the provider's editor answers publicly; others see the answer, not the form
    editor = _as(client, "editor")
    page = editor.get(f"/dataset/{opened}/exchange")
    fid = re.search(r'action="/exchange/feedback/([^/]+)/answer"', page.text).group(1)
    assert editor.post(f"/exchange/feedback/{fid}/answer", data={
        "csrf_token": _token(page.text), "answer": "已更正"},
        follow_redirects=False).status_code == 303
    seen = client.get(f"/dataset/{opened}/exchange")
    assert "已更正" in seen.text and "/answer" not in seen.text
    # subscribing shows the secret once and the delivery log
    sub = public.post(f"/exchange/subscribe/{opened}", data={
        "csrf_token": _token(panel.text), "url": "https://example.org/hook"})
    assert sub.status_code == 201 and "whsec_" in sub.text and "推送记录" in sub.text
    bad = public.post(f"/exchange/subscribe/{opened}", data={
        "csrf_token": _token(panel.text), "url": "ftp://example.org"})
    assert 400 <= bad.status_code < 500 and "ftp://example.org" in bad.text


def test_statistics_public_and_per_organisation(client: TestClient, city: City,
                                                data: Data) -> None:
    page = client.get("/exchange/stats")
    assert page.status_code == 200 and "合计" in page.text
    assert "statistics" in client.get("/exchange/stats?lang=en").text
    jtj = _as(client, "member")
    assert jtj.get("/exchange/stats/jtj").status_code == 200
    assert jtj.get("/exchange/stats/hbj").status_code == 403
    assert client.get("/exchange/stats/jtj", follow_redirects=False).status_code == 303


def test_the_tasks_page_names_exchange_states(client: TestClient, city: City,
                                              data: Data) -> None:
    other = _as(client, "other_member")
    form = other.get(f"/exchange/apply/{city.resources['closed']}")
    url = re.search(r'action="(/exchange/apply/[^"]+)"', form.text).group(1)
    other.post(url, data={"csrf_token": _token(form.text), "kind": "sharing",
                          "purpose": "监测", "legal_basis": "第四十六条", "using_system": "平台"})
    tasks = _as(client, "editor").get("/tasks")
    assert "共享申请" in tasks.text and "exchange.sharing" not in tasks.text


def test_the_provider_approves_fewer_rows_with_a_filter_checked_against_the_items(
        client: TestClient, city: City, data: Data) -> None:
    other = _as(client, "other_member")
    form = other.get(f"/exchange/apply/{city.resources['closed']}")
    url = re.search(r'action="(/exchange/apply/[^"]+)"', form.text).group(1)
    app_url = other.post(url, data={"csrf_token": _token(form.text), "kind": "sharing",
                                    "purpose": "线路运行分析", "legal_basis": "条例第四十六条",
                                    "using_system": "城市大脑"},
                         follow_redirects=False).headers["location"]
    editor = _as(client, "editor")
    page = editor.get(app_url)
    assert 'name="row_filter"' in page.text and "全部数据行" in page.text
    decide = app_url + "/decision"
    approve = {"csrf_token": _token(page.text), "action": "approve",
               "columns": ["线路编号", "线路名称", "站点数"]}
    # an item the resource does not have: a 4xx in the page's language, what was typed kept
    bad = editor.post(decide, data={**approve, "row_filter": "站名 = 武林广场"})
    assert 400 <= bad.status_code < 500 and "不是该资源的信息项：站名" in bad.text
    assert "站名 = 武林广场" in bad.text and 'value="票价"' in bad.text \
        and 'value="票价" checked' not in bad.text  # the ticks kept too
    number = editor.post(decide, data={**approve, "row_filter": "站点数 = 二十"})
    assert 400 <= number.status_code < 500 and "“站点数”为数值型" in number.text
    en = editor.post(decide + "?lang=en", data={**approve, "row_filter": "线路名称 1路"})
    assert 400 <= en.status_code < 500 and "Cannot read the row filter" in en.text
    editor.get("/?lang=zh")  # back to Chinese
    assert "待审核" in other.get(app_url).text  # nothing was decided
    # fewer rows: two lines, typed with a Chinese comma
    ok = editor.post(decide, data={**approve, "row_filter": "线路名称 = 1路，K3路"},
                     follow_redirects=False)
    assert ok.status_code == 303, ok.text
    shown = other.get(app_url).text
    assert "已批准" in shown and "线路名称 = 1路、K3路" in shown
    read = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member"))
    assert read.status_code == 200, read.text
    assert sorted(r["线路名称"] for r in read.json()["records"]) == ["1路", "K3路"]
    assert set(read.json()["records"][0]) == {"_id", "线路编号", "线路名称", "站点数"}
    held = client.get("/api/v1/exchange/grants", headers=city.headers("other_member")).json()
    assert [g["row_filter"] for g in held if g["kind"] == "sharing"] == [
        {"线路名称": ["1路", "K3路"]}]


def test_a_department_asks_for_some_rows_and_the_provider_cannot_approve_more(
        client: TestClient, city: City, data: Data) -> None:
    other = _as(client, "other_member")
    form = other.get(f"/exchange/apply/{city.resources['closed']}")
    assert 'name="row_filter"' in form.text
    url = re.search(r'action="(/exchange/apply/[^"]+)"', form.text).group(1)
    values = {"csrf_token": _token(form.text), "kind": "sharing", "purpose": "线路运行分析",
              "legal_basis": "条例第四十六条", "using_system": "城市大脑"}
    bad = other.post(url, data={**values, "row_filter": "线路 = 1路"})
    assert 400 <= bad.status_code < 500 and "不是该资源的信息项：线路" in bad.text
    assert "线路 = 1路" in bad.text and "城市大脑" in bad.text  # what was typed is kept
    made = other.post(url, data={**values, "row_filter": "线路名称 = 1路、2路"},
                      follow_redirects=False)
    assert made.status_code == 303, made.text
    app_url = made.headers["location"]
    editor = _as(client, "editor")
    page = editor.get(app_url)
    assert "线路名称 = 1路、2路" in page.text  # the rows asked for
    assert "线路名称 = 1路, 2路</textarea>" in page.text  # the decision starts from them
    more = editor.post(app_url + "/decision", data={
        "csrf_token": _token(page.text), "action": "approve",
        "row_filter": "线路名称 = 1路, 2路, K3路"})
    assert more.status_code == 409 and "不能超出申请的范围" in more.text
    ok = editor.post(app_url + "/decision", data={
        "csrf_token": _token(page.text), "action": "approve", "row_filter": "线路名称 = 2路"},
        follow_redirects=False)
    assert ok.status_code == 303
    read = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member"))
    assert [r["线路名称"] for r in read.json()["records"]] == ["2路"]
