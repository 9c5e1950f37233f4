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
