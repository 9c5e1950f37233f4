"""A person in Debian's chromium: search for a Chinese word, open a resource, sign in as an
editor and change its title. Screenshots go to tests/browser/artifacts/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def htmx_served(site: str) -> bool:
    """htmx comes from npm (make installs it); the pages work without it."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(site + "/static/vendor/htmx.org/dist/htmx.min.js") as r:
            return r.status == 200
    except urllib.error.URLError:
        return False


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
        yield context.new_page()
        browser.close()


def test_search_open_and_edit(page, site, city):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(site + "/")
    page.screenshot(path=str(ARTIFACTS / "1-home.png"), full_page=True)
    page.type("input[name=q]", "交通")
    if htmx_served(site):
        # htmx suggests titles while the user types
        page.wait_for_selector(".suggest-list >> text=城市交通流量监测数据")
        page.screenshot(path=str(ARTIFACTS / "1b-suggest.png"))
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/dataset?q=*")
    assert "共找到 1 个数据资源" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "2-search.png"), full_page=True)

    page.click("text=城市交通流量监测数据")
    assert page.inner_text("h1") == "城市交通流量监测数据"
    assert "无条件开放" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "3-resource.png"), full_page=True)
    url = page.url

    page.click("text=登录")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(url)
    page.click("text=编辑")
    page.fill("input[name=title]", "城市道路交通流量监测数据")
    # Conditions are asked for only when the opening type is conditional (CSS, no script).
    assert not page.is_visible("textarea[name=opening_conditions]")
    page.select_option("select[name=opening_type]", "conditional")
    assert page.is_visible("textarea[name=opening_conditions]")
    assert not page.is_visible("textarea[name=opening_legal_basis]")
    page.select_option("select[name=opening_type]", "unconditional")
    page.screenshot(path=str(ARTIFACTS / "4-edit.png"), full_page=True)
    page.click("button.primary")
    page.wait_for_url("**/dataset/*")
    assert page.inner_text("h1") == "城市道路交通流量监测数据"
    assert "修改了资源" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "5-saved.png"), full_page=True)
    # nothing broke the content security policy on the way
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_phone_width_and_english(page, site, city):  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site + "/dataset?q=air+quality&lang=en")
    assert "1 resources found" in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "6-phone-en.png"), full_page=True)
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
