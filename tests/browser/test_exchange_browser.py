"""Applications in Debian's chromium, as the people involved click through them: a department
member applies for a conditionally shared resource, the provider's admin approves fewer data
items and rows, the applicant sees the grant and reads only what was approved;
a member of the public accepts a resource's usage agreement, is approved, and is shown the API
key once. Screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.test_portal_browser import ARTIFACTS, CHROMIUM, htmx_served, page  # noqa: F401
from tests.exchange.conftest import _exchange_rules, data  # noqa: F401
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def _sign_in(tab, site: str, name: str) -> None:  # type: ignore[no-untyped-def]
    tab.goto(site + "/user/login")
    tab.fill("input[name=username]", name)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_load_state()


def _another_person(tab):  # type: ignore[no-untyped-def]
    """A second browser window with its own cookies (the provider's desk)."""
    return tab.context.browser.new_context(
        locale="zh-CN", viewport={"width": 1200, "height": 900}).new_page()


def test_a_department_applies_the_provider_approves_fewer_items_and_rows_and_it_reads_them(  # type: ignore[no-untyped-def]  # noqa: E501
        page, site, city, data):  # noqa: F811
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    closed = city.resources["closed"]
    # 生态环境局's member finds 交通运输局's conditionally shared bus lines
    _sign_in(page, site, "other_member")
    page.goto(site + f"/dataset/{closed}")
    if htmx_served(site):
        page.wait_for_selector("#exchange a:has-text('申请使用')")  # the panel, by htmx
        page.click("#exchange a:has-text('申请使用')")
    else:
        page.goto(site + f"/exchange/apply/{closed}")
    page.wait_for_selector("form textarea[name=purpose]")
    assert page.is_checked("input[name=columns][value=线路编号]")
    page.fill("textarea[name=purpose]", "公交线路与空气质量关联分析")
    page.fill("textarea[name=legal_basis]", "《杭州城市大脑赋能城市治理促进条例》")
    page.fill("input[name=using_system]", "生态环境监测平台")
    page.screenshot(path=str(ARTIFACTS / "ex-1-apply.png"), full_page=True)
    page.click("form.resource-form button[type=submit]")
    page.wait_for_url("**/exchange/applications/*")
    application = page.url
    assert "待审核" in page.inner_text("main") and "个工作日" in page.inner_text("main")

    # 交通运输局's admin finds it among the applications waiting for them
    provider = _another_person(page)
    _sign_in(provider, site, "admin")
    provider.goto(site + "/exchange/my")
    assert "待我审核的申请" in provider.inner_text("main")
    provider.click(f"a[href='{application.removeprefix(site)}']")
    provider.wait_for_selector("input[name=action][value=approve]", state="attached")
    # fewer items: the line's number and name only; fewer rows: two lines. A filter on an
    # item the resource lacks is refused in the page's language first.
    for item in ("开通日期", "票价", "空调", "站点数", "备注"):
        provider.uncheck(f"input[name=columns][value={item}]")
    provider.fill("textarea[name=row_filter]", "区县 = 西湖区")
    provider.click("button:has-text('批准')")
    provider.wait_for_selector("[role=alert]")
    assert "不是该资源的信息项：区县" in provider.inner_text("[role=alert]")
    assert not provider.is_checked("input[name=columns][value=票价]")  # the ticks are kept
    provider.fill("textarea[name=row_filter]", "线路名称 = 1路, K3路")
    provider.screenshot(path=str(ARTIFACTS / "ex-2-decide.png"), full_page=True)
    provider.click("button:has-text('批准')")
    provider.wait_for_load_state()
    assert "已批准" in provider.inner_text("main")

    # the applicant sees the grant and reads only the approved items and rows
    page.reload()
    assert "已批准" in page.inner_text("main")
    page.goto(site + "/exchange/my")
    held = page.inner_text("main")
    assert "线路编号、线路名称" in held and "线路名称 = 1路、K3路" in held
    page.screenshot(path=str(ARTIFACTS / "ex-3-grant.png"), full_page=True)
    page.goto(site + f"/dataset/{closed}/data")
    page.wait_for_selector(".ds-table")
    header = [h.strip() for h in page.locator(".ds-table thead th").all_inner_texts()]
    assert "线路编号" in " ".join(header) and "线路名称" in " ".join(header)
    assert not any(h.startswith(("票价", "开通日期", "站点数")) for h in header)
    rows = [r.split("\t") for r in page.locator(".ds-table tbody tr").all_inner_texts()]
    assert [r[1:] for r in rows] == [["001", "1路"], ["003", "K3路"]]  # after _id
    page.screenshot(path=str(ARTIFACTS / "ex-4-read.png"), full_page=True)
    assert errors == []


def test_the_public_accepts_the_agreement_is_approved_and_sees_the_key_once(  # type: ignore[no-untyped-def]  # noqa: E501
        page, site, city, data, client):  # noqa: F811
    air = city.resources["air"]
    r = client.put(f"/api/v1/exchange/agreements/{air}", headers=city.headers("other_editor"),
                   json={"text": "第一条 仅用于约定用途。\n第二条 不得转售。"})
    assert r.status_code == 201
    _sign_in(page, site, "public")
    page.goto(site + f"/exchange/apply/{air}")
    assert "不得转售" in page.inner_text(".agreement")
    page.fill("textarea[name=purpose]", "公交出行小程序")
    page.fill("textarea[name=intended_use]", "展示线路信息")
    page.fill("textarea[name=security_measures]", "访问控制、日志留存")
    # without accepting the agreement the browser does not send the form
    page.click("form.resource-form button[type=submit]")
    assert "/exchange/apply/" in page.url
    assert page.evaluate("document.querySelector('input[name=accept]').validity.valueMissing")
    page.check("input[name=accept]")
    page.screenshot(path=str(ARTIFACTS / "ex-5-agreement.png"), full_page=True)
    page.click("form.resource-form button[type=submit]")
    page.wait_for_url("**/exchange/applications/*")
    application = page.url.removeprefix(site)

    provider = _another_person(page)
    _sign_in(provider, site, "other_editor")
    provider.goto(site + application)
    provider.fill("input[name=quota_per_day]", "50")
    provider.click("button:has-text('批准')")
    provider.wait_for_load_state()
    assert "已批准" in provider.inner_text("main")

    page.goto(site + "/exchange/my")
    page.click("button:has-text('领取 API 密钥')")
    page.wait_for_selector("#new-key code.secret")
    key = page.inner_text("#new-key code.secret").strip()
    assert re.fullmatch(r"\S{20,}", key)
    page.screenshot(path=str(ARTIFACTS / "ex-6-key.png"), full_page=True)
    page.goto(site + "/exchange/my")  # shown once: not on the page again
    assert key not in page.content()
    # the key reads this resource's data, and no other's
    with httpx.Client(base_url=site, headers={"Authorization": key}) as api:
        assert api.get(f"/api/v1/datastore/{data.air}/search").status_code == 200
        assert api.get(f"/api/v1/datastore/{data.open}/search").status_code == 403
