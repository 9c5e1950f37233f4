"""Art. 50 in Debian's chromium: a citizen opens a resource, clicks 报告错误, fills the
request form in Chinese and gets a receipt code; the record shows as disputed in the data
panel; an editor of the owning department finds the request among their tasks and accepts
it; the receipt then shows the corrected version. Screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import io

import pytest

from tests.browser.test_portal_browser import ARTIFACTS, CHROMIUM, htmx_served, page  # noqa: F401
from tests.datastore.helpers import csv_text, new_distribution
from tests.factories import PASSWORD
from tests.privacy.requests.conftest import COMPANIES
from zhihui.core.authz import SYSTEM
from zhihui.datastore import versions

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]

USCC = "统一社会信用代码"


@pytest.fixture
def companies(city, settings) -> str:  # type: ignore[no-untyped-def]
    dist = new_distribution(city.db, city.resources["open"], "企业登记信息")
    with city.db.session() as s:
        versions.ingest(s, SYSTEM, dist, io.BytesIO(csv_text(COMPANIES, title=None).encode()),
                        "companies.csv", data_root=settings.data_root)
    return dist


def test_a_citizen_reports_an_error_and_the_department_accepts_it(
        page, site, city, companies):  # type: ignore[no-untyped-def]  # noqa: F811
    if not htmx_served(site):
        pytest.skip("htmx comes from npm (make assets)")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # a citizen, not signed in, on the resource page
    page.goto(site + f"/dataset/{city.resources['open']}")
    page.click("a:has-text('报告错误')")
    page.wait_for_selector("form[action='/requests/new']")
    assert page.input_value("input[name=distribution_id]") == companies
    page.fill("input[name=contact_name]", "王小明")
    page.fill("input[name=contact_phone]", "13912345678")
    page.fill("input[name=loc_col_0]", USCC)
    page.fill("input[name=loc_val_0]", "91330100MA27XK2B2C")
    page.check("input[name=kind][value=correct]")
    page.fill("textarea[name=what_is_wrong]", "本公司注册资本已于2024年增资至1200万元")
    page.fill("input[name=fix_col_0]", "注册资本")
    page.fill("input[name=fix_val_0]", "1200")
    page.screenshot(path=str(ARTIFACTS / "rq-1-form.png"), full_page=True)
    page.click("form[action='/requests/new'] button[type=submit]")
    page.wait_for_selector("#receipt")
    receipt = page.inner_text("#receipt").strip()
    assert len(receipt.replace("-", "")) >= 16 and "请妥善保存回执码" in page.content()
    page.screenshot(path=str(ARTIFACTS / "rq-2-receipt.png"), full_page=True)

    # the record is marked disputed in the resource page's data panel (loaded by htmx)
    page.goto(site + f"/dataset/{city.resources['open']}")
    page.wait_for_selector(".ds-table tr.ds-disputed")
    marked = page.locator(".ds-table tr.ds-disputed")
    assert marked.count() == 1 and "91330100MA27XK2B2C" in marked.inner_text()
    assert "此记录有待处理的更正" in marked.locator(".badge").get_attribute("title")

    # an editor of the owning department: the request is among their tasks
    page.goto(site + "/user/login")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(site + "/tasks")
    task = page.locator("table.tasks a:has-text('更正请求')")
    assert task.count() == 1
    task.click()
    section = page.locator("section.card:has-text('王小明')")
    section.wait_for()
    assert "注册资本 = 1200" in section.inner_text()
    page.screenshot(path=str(ARTIFACTS / "rq-3-queue.png"), full_page=True)
    section.locator("input[name=decision][value=accept]").check()
    section.locator("textarea[name=comment]").fill("经核对登记档案，注册资本已变更")
    section.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("section.card:has-text('王小明')").count() == 0  # answered
    page.goto(site + "/tasks")
    assert page.locator("table.tasks a:has-text('更正请求')").count() == 0

    # the citizen follows it by the receipt: accepted, with the corrected version
    page.goto(site + f"/requests/{receipt}")
    text = page.inner_text("main")
    assert "已采纳" in text and "已发布更正后的第 2 版数据" in text
    page.screenshot(path=str(ARTIFACTS / "rq-4-accepted.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors
