"""An editor in Debian's chromium uploads a GBK CSV through the resource page, watches the
job's progress turn into the validation report, sorts the preview by clicking a header and
sees an ECharts chart drawn; on a phone nothing sticks out sideways. Screenshots go to
tests/browser/artifacts/."""

from __future__ import annotations

import threading

import pytest

from tests.browser.test_portal_browser import ARTIFACTS, CHROMIUM, htmx_served, page  # noqa: F401
from tests.factories import PASSWORD
from zhihui.datastore import jobs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]

PM25 = [20 + (i * 7) % 90 for i in range(1, 61)]
READINGS = "\n".join(
    ["监测站,区县,监测日期,PM25,备注"]
    + [f"西湖区站{i},西湖区,2024-05-{i % 28 + 1:02d},{PM25[i - 1]},正常"
       for i in range(1, 61)]) + "\n"


@pytest.fixture
def worker(app, settings):  # type: ignore[no-untyped-def]
    """The site runs without its lifespan: a worker thread takes the page's jobs."""
    stop = threading.Event()
    thread = jobs.Worker(app.state.db, settings.data_root, poll_seconds=0.2).start_thread(stop)
    yield
    stop.set()
    thread.join(timeout=30)


def test_upload_progress_report_sort_and_chart(page, site, city, worker, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    if not htmx_served(site):
        pytest.skip("htmx and echarts come from npm (make assets)")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    gbk = tmp_path / "空气质量监测.csv"
    gbk.write_bytes(READINGS.encode("gbk"))

    page.goto(site + "/user/login")
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(site + f"/dataset/{city.resources['open']}")
    page.wait_for_selector("#data-panel .ds-upload")  # loaded by htmx
    page.click(".ds-upload summary")
    page.set_input_files(".ds-upload input[type=file]", str(gbk))
    page.select_option(".ds-upload select[name=encoding]", "gbk")
    page.click(".ds-upload button[type=submit]")
    page.wait_for_selector(".ds-job progress")
    page.screenshot(path=str(ARTIFACTS / "ds-1-progress.png"), full_page=True)
    # the job is polled until it ends; then its report shows
    page.wait_for_selector(".ds-job-succeeded .ds-report", timeout=60_000)
    report = page.inner_text(".ds-job-succeeded")
    assert "已生成第 1 版数据" in report and "读取 60 行，入库 60 行，拒绝 0 行" in report
    page.screenshot(path=str(ARTIFACTS / "ds-2-report.png"), full_page=True)

    page.click(".ds-job-succeeded a[href$='/data']")
    page.wait_for_selector(".ds-table")
    assert "西湖区站1" in page.inner_text(".ds-table tbody")
    # sort by clicking the PM25 header: the server sorts, htmx swaps the table
    page.click(".ds-table th a.ds-sort:has-text('PM25')")
    page.wait_for_selector(".ds-table th[aria-sort=ascending]")
    values = [int(v) for v in page.locator(".ds-table tbody tr td:nth-child(5)").all_inner_texts()]
    assert values == sorted(values) and values[0] == min(PM25)
    page.click(".ds-table th a.ds-sort:has-text('PM25')")
    page.wait_for_selector(".ds-table th[aria-sort=descending]")
    top = int(page.locator(".ds-table tbody tr td:nth-child(5)").first.inner_text())
    assert top == max(PM25)
    # the chart: ECharts draws a canvas from the chart JSON
    page.wait_for_selector(".ds-chart canvas", timeout=30_000)
    page.locator(".ds-stats").scroll_into_view_if_needed()
    page.wait_for_selector(".ds-stats-table")  # statistics loaded when scrolled into view
    page.screenshot(path=str(ARTIFACTS / "ds-3-preview-chart.png"), full_page=True)
    page.select_option(".ds-chart-column", "监测日期")
    page.wait_for_function(
        "document.querySelector('.ds-chart').getAttribute('data-drawn') === '监测日期'")
    # nothing broke the content security policy on the way
    assert not [e for e in errors if "Content Security Policy" in e], errors

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector(".ds-chart canvas", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "ds-4-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
