"""Art. 50 on the pages people read: the disputed mark in the data panel's preview, the
"report an error" link on the resource page, and the organisation page's overdue requests."""

from __future__ import annotations

import re

USCC = "统一社会信用代码"


def _file(client, dist, **over):
    body = {"distribution_id": dist, "contact_name": "王小明", "contact_phone": "13912345678",
            "locator": {USCC: "91330100MA27XK2B2C"}, "kind": "correct",
            "what_is_wrong": "注册资本已变更", "corrections": {"注册资本": "1200"}}
    body.update(over)
    r = client.post("/api/v1/requests", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _disputed_rows(html: str) -> list[str]:
    """The first cell (the _id) of each row the preview marks as disputed."""
    return re.findall(r'<tr class="ds-disputed" data-disputed="1"><td class="num">'
                      r'<span class="badge[^"]*" title="[^"]+">[^<]+</span> (\d+)</td>', html)


def test_the_preview_marks_the_disputed_rows_it_shows(client, city, companies):
    before = client.get(f"/datastore/{companies}/preview")
    assert before.status_code == 200 and _disputed_rows(before.text) == []
    filed = _file(client, companies)
    page = client.get(f"/datastore/{companies}/preview")
    assert _disputed_rows(page.text) == ["2"]
    assert "异议" in page.text and "第五十条" in page.text
    en = client.get(f"/datastore/{companies}/preview?lang=en")
    assert "Disputed" in en.text and "Art. 50" in en.text
    # a filter that leaves the record out shows no mark at all
    other = client.get(f"/datastore/{companies}/preview", params={"f.企业名称": "良渚"})
    assert _disputed_rows(other.text) == [] and "ds-disputed" not in other.text
    # the whole panel (the resource page's htmx load) carries it too
    panel = client.get(f"/dataset/{city.resources['open']}/data")
    assert _disputed_rows(panel.text) == ["2"]
    # answered: the mark goes
    done = client.post(f"/api/v1/requests/{filed['id']}/decision",
                       headers=city.headers("editor"),
                       json={"decision": "refuse", "comment": "登记机关记录为准"})
    assert done.status_code == 200
    assert _disputed_rows(client.get(f"/datastore/{companies}/preview").text) == []


def test_the_resource_page_links_to_the_form_prefilled_with_its_file(client, city, companies):
    page = client.get(f"/dataset/{city.resources['open']}")
    assert "报告错误" in page.text
    link = re.search(r'href="(/requests/new\?resource=[^"]+)"', page.text).group(1)
    assert "Report an error" in client.get(f"/dataset/{city.resources['open']}?lang=en").text
    form = client.get(link)
    assert form.status_code == 200
    assert f'name="distribution_id" value="{companies}"' in form.text
    # a resource without data says so, in the reader's language
    bare = client.get(f"/requests/new?resource={city.resources['air']}&lang=zh")
    assert bare.status_code == 404 and "还没有" in bare.text


def test_a_resource_with_two_data_files_asks_which(client, city, companies, settings):
    import io

    from tests.datastore.helpers import csv_text, new_distribution
    from zhihui.core.authz import SYSTEM
    from zhihui.datastore import versions

    from .conftest import COMPANIES

    second = new_distribution(city.db, city.resources["open"], "企业登记信息（二）")
    with city.db.session() as s:
        versions.ingest(s, SYSTEM, second, io.BytesIO(csv_text(COMPANIES, None).encode()),
                        "b.csv", data_root=settings.data_root)
    page = client.get(f"/requests/new?resource={city.resources['open']}")
    assert page.status_code == 200 and "请选择" in page.text
    assert f"/requests/new?distribution={companies}" in page.text
    assert f"/requests/new?distribution={second}" in page.text


def _make_overdue(city, case_id):
    from datetime import UTC, datetime

    from zhihui.core.workflow.models import WorkflowCase

    with city.db.session() as s:
        s.get(WorkflowCase, case_id).due = datetime(2020, 1, 1, tzinfo=UTC)


def test_the_organisation_page_counts_overdue_requests_and_lists_them_to_its_own(
        client, city, companies):
    from tests.core.workflow.test_api_pages import _login

    org_page = client.get("/organization/jtj")
    assert 'hx-get="/organization/jtj/requests/overdue"' in org_page.text
    htmx = {"hx-request": "true"}
    quiet = client.get("/organization/jtj/requests/overdue", headers=htmx)
    assert quiet.status_code == 200 and "超期" not in quiet.text
    filed = _file(client, companies)
    _make_overdue(city, filed["case_id"])
    public = client.get("/organization/jtj/requests/overdue", headers=htmx)
    assert "超期未答复：1 件" in public.text
    # the public sees the count, not which resource or request, nor who filed it
    assert filed["id"] not in public.text and "王小明" not in public.text
    assert "/dataset/" not in public.text
    assert "Overdue: 1" in client.get("/organization/jtj/requests/overdue?lang=en").text
    api = client.get("/api/v1/organizations/jtj/requests/overdue").json()
    assert api == {"count": 1, "listed": False, "requests": []}
    other = client.get("/api/v1/organizations/jtj/requests/overdue",
                       headers=city.headers("other_editor")).json()
    assert other["listed"] is False
    listed = client.get("/api/v1/organizations/jtj/requests/overdue",
                        headers=city.headers("member")).json()
    assert listed["listed"] and listed["requests"][0]["request_id"] == filed["id"]
    _login(client, "editor")
    mine = client.get("/organization/jtj/requests/overdue?lang=zh", headers=htmx)
    assert f'href="/requests/manage/{filed["id"]}"' in mine.text
    assert "待答复：1 件" in mine.text and "王小明" not in mine.text
