"""The resource page's data panel: the public previews an opened resource's rows (never a
closed one's), sorts and filters them on the server, reads correct column statistics and chart
data; an editor uploads through the page, follows the job and reads its validation report."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.catalog.test_pages import csrf, sign_in
from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.audit.models import AuditEntry
from zhihui.datastore import jobs
from zhihui.db import Database
from zhihui.settings import Settings

V1 = "/api/v1/datastore"
HX = {"HX-Request": "true"}
AIR = [
    ["站点名称", "区县", "监测日期", "PM25", "优良", "备注"],
    ["西湖区站", "西湖区", "2024-05-01", "35", "是", "正常"],
    ["滨江区站", "滨江区", "2024-05-01", "42", "是", "正常"],
    ["上城区站", "上城区", "2024-05-02", "80", "否", "轻度污染"],
    ["萧山区站", "萧山区", "2024-05-04", "", "是", "设备检修"],
    ["余杭区站", "余杭区", "2024-05-04", "23", "是", "正常"],
]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(r) for r in rows).encode(encoding) + b"\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"job_workers": 0})


def put(client: TestClient, city: City, resource: str, rows: list[list[str]]) -> str:
    dist = new_distribution(city.db, city.resources[resource])
    r = client.post(f"{V1}/{dist}/versions", headers=city.headers("editor"),
                    files={"upload": ("空气质量.csv", csv_bytes(rows))})
    assert r.status_code == 201, r.text
    return dist


@pytest.fixture
def air(client: TestClient, city: City) -> str:
    return put(client, city, "open", AIR)


def table(page: str) -> list[list[str]]:
    """The preview's body rows as the reader sees them (cell texts)."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body, page[:2000]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def column(page: str, name: str) -> list[str]:
    return [row[AIR[0].index(name) + 1] for row in table(page)]


def test_the_public_previews_an_opened_resources_rows(client: TestClient, city: City,
                                                      air: str) -> None:
    rid = city.resources["open"]
    # the resource page loads the panel with htmx, and links to it without JavaScript
    resource_page = client.get(f"/dataset/{rid}").text
    assert f'hx-get="/dataset/{rid}/data"' in resource_page
    page = client.get(f"/dataset/{rid}/data")
    assert page.status_code == 200
    assert column(page.text, "站点名称") == ["西湖区站", "滨江区站", "上城区站", "萧山区站",
                                          "余杭区站"]
    assert "共 5 行" in page.text and "<html" in page.text
    fragment = client.get(f"/dataset/{rid}/data", headers=HX).text
    assert "<html" not in fragment and 'class="data-panel"' in fragment
    # every download of the version, Excel's GBK included
    for query in ("format=csv", "format=csv&amp;encoding=gbk", "format=csv&amp;bom=true",
                  "format=xlsx", "format=json", "format=parquet"):
        assert f"/datastore/dump/{air}?version=1&amp;{query}" in fragment
    assert 'data-src="/api/v1/datastore/' in fragment  # the chart
    assert "上传新版本" not in fragment  # no upload form for the public
    english = client.get(f"/dataset/{rid}/data?lang=en").text
    assert "5 rows; rows 1–5" in english


def test_the_public_sees_nothing_of_an_unopened_resource(client: TestClient, city: City
                                                         ) -> None:
    dist = put(client, city, "closed", AIR)
    rid = city.resources["closed"]
    for url in (f"/dataset/{rid}/data", f"/datastore/{dist}/preview",
                f"/datastore/{dist}/stats", f"{V1}/{dist}/stats",
                f"{V1}/{dist}/chart?column=PM25"):
        assert client.get(url).status_code == 404, url
    member = client.get(f"/dataset/{rid}/data", headers=city.headers("member"))
    assert member.status_code == 200 and "西湖区站" in member.text


def test_sorting_by_a_header_and_back(client: TestClient, air: str) -> None:
    down = client.get(f"/datastore/{air}/preview?sort=PM25&desc=1", headers=HX).text
    assert column(down, "PM25") == ["80", "42", "35", "23", "—"]  # empty cells last
    assert 'aria-sort="descending"' in down
    up = client.get(f"/datastore/{air}/preview?sort=PM25", headers=HX).text
    assert column(up, "PM25") == ["23", "35", "42", "80", "—"]
    # a third click on the header goes back to the file's order
    third = re.search(r'hx-get="([^"]*)"[^>]*>PM25 ▼', down)
    assert third and "sort=" not in html.unescape(third.group(1))
    by_date = client.get(f"/datastore/{air}/preview?sort=监测日期&desc=1", headers=HX).text
    assert column(by_date, "监测日期")[:2] == ["2024-05-04", "2024-05-04"]


def test_filters_per_column_contain_text_or_compare(client: TestClient, air: str) -> None:
    one = client.get(f"/datastore/{air}/preview", params={"f.区县": "滨江"}, headers=HX).text
    assert column(one, "站点名称") == ["滨江区站"] and "共 1 行" in one
    high = client.get(f"/datastore/{air}/preview", params={"f.PM25": ">=40", "sort": "PM25"},
                      headers=HX).text
    assert column(high, "PM25") == ["42", "80"]
    # the filter stays in the sort links and the form
    assert "f.PM25=%3E%3D40" in html.unescape(high) and 'value="&gt;=40"' in high
    none = client.get(f"/datastore/{air}/preview", params={"f.备注": "暴雨"}, headers=HX).text
    assert table(none) == [] and "没有符合筛选条件的行" in none
    bad = client.get(f"/datastore/{air}/preview", params={"f.PM25": ">=很高"}, headers=HX)
    assert bad.status_code == 409 and "PM25" in bad.text and "很高" in bad.text
    unknown = client.get(f"/datastore/{air}/preview?sort=没有这列", headers=HX)
    assert unknown.status_code == 200  # an unknown sort column is ignored


def test_paging_through_the_rows(client: TestClient, city: City) -> None:
    rows = [["编号", "名称"]] + [[str(i), f"站点{i}"] for i in range(1, 46)]
    dist = put(client, city, "open", rows)
    second = client.get(f"/datastore/{dist}/preview?page=2", headers=HX).text
    assert [r[1] for r in table(second)] == [str(i) for i in range(21, 41)]
    assert "共 45 行，第 21–40 行" in second and "第 2 / 3 页" in second
    last = client.get(f"/datastore/{dist}/preview?page=3", headers=HX).text
    assert len(table(last)) == 5 and "下一页" not in last


def test_column_statistics_of_a_known_table(client: TestClient, city: City, db: Database,
                                            air: str) -> None:
    got = client.get(f"{V1}/{air}/stats").json()
    assert got["rows"] == 5 and got["version"] == 1
    cols = {c["id"]: c for c in got["columns"]}
    assert {k: cols["PM25"][k] for k in ("type", "nulls", "distinct", "min", "max", "mean")} \
        == {"type": "integer", "nulls": 1, "distinct": 4, "min": 23, "max": 80, "mean": 45.0}
    assert {k: cols["监测日期"][k] for k in ("type", "nulls", "min", "max", "mean")} == {
        "type": "date", "nulls": 0, "min": "2024-05-01", "max": "2024-05-04",
        "mean": "2024-05-02"}
    assert (cols["优良"]["true"], cols["优良"]["false"]) == (4, 1)
    assert cols["备注"]["top"][0] == {"value": "正常", "count": 3}
    assert cols["区县"]["distinct"] == 5 and cols["区县"]["distinct_approx"] is False
    fragment = client.get(f"/datastore/{air}/stats", headers=HX).text
    assert re.search(r'data-column="PM25">.*?<td class="num">1</td>.*?45\.0', fragment, re.S)
    assert "正常 <span class=\"muted\">×3</span>" in fragment
    with db.session() as s:  # Art. 50: the statistics are a read of the data, logged
        assert "data.stats" in set(s.scalars(select(AuditEntry.action)))


def test_chart_data_for_numbers_and_dates(client: TestClient, air: str) -> None:
    hist = client.get(f"{V1}/{air}/chart", params={"column": "PM25"}).json()
    assert hist["kind"] == "histogram" and sum(hist["counts"]) == 4
    assert hist["labels"][0].startswith("23") and hist["counts"][0] == 1
    days = client.get(f"{V1}/{air}/chart", params={"column": "监测日期"}).json()
    assert days["kind"] == "timeline" and days["unit"] == "day"
    assert days["labels"] == ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]
    assert days["counts"] == [2, 1, 0, 2]
    text = client.get(f"{V1}/{air}/chart", params={"column": "区县"})
    assert text.status_code == 400 and "不是数值或日期" in text.json()["error"]["message"]


def test_an_editor_uploads_through_the_page_and_reads_the_report(
        client: TestClient, city: City, db: Database, settings: Settings, air: str) -> None:
    rid = city.resources["open"]
    sign_in(client, "editor")
    panel = client.get(f"/dataset/{rid}/data", headers=HX).text
    assert "上传新版本" in panel and f'value="{air}"' in panel
    token = csrf(client, f"/dataset/{rid}/data")
    # 120 readings and one row with a field too many: under 1 %, so it is only reported
    more = [AIR[0]] + [[f"站点{i}", "临平区", "2024-05-05", str(i), "是", "正常"]
                       for i in range(1, 121)]
    more.insert(50, ["坏行", "临平区", "2024-05-05", "1", "是", "正常", "多余"])
    form = {"csrf_token": token, "distribution": air, "encoding": "gbk"}
    files = {"upload": ("空气质量（GBK）.csv", csv_bytes(more, "gbk"))}
    assert client.post(f"/datastore/upload/{rid}", data={**form, "csrf_token": "x"},
                       files=files).status_code == 403
    sent = client.post(f"/datastore/upload/{rid}", data=form, files=files, headers=HX)
    assert sent.status_code == 200 and "<progress" in sent.text and "排队中" in sent.text
    job_id = re.search(r'id="job-([0-9a-f-]+)"', sent.text).group(1)
    assert 'hx-trigger="every 1s"' in sent.text  # polled while it runs
    assert jobs.Worker(db, settings.data_root).drain() == [(job_id, "succeeded")]
    done = client.get(f"/datastore/jobs/{job_id}", headers=HX).text
    assert "every 1s" not in done and "已生成第 2 版数据" in done
    assert "读取 121 行，入库 120 行，拒绝 1 行" in done
    # the rejected row with its line number, its text and the reason, in Chinese
    assert re.search(r"<tr><td>51</td><td></td><td><code>坏行,临平区.*?多余</code></td>"
                     r"<td>字段数多于表头</td></tr>", done), done
    assert re.search(r"<td>PM25</td><td>整数</td><td>0</td><td>0</td><td>120</td>", done)
    # without htmx: a redirect to the job's own page
    plain = client.post(f"/datastore/upload/{rid}", data=form, files=files,
                        follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].startswith("/datastore/jobs/")


def test_a_bad_upload_says_why_in_chinese_and_keeps_the_version(
        client: TestClient, city: City, db: Database, settings: Settings, air: str) -> None:
    rid = city.resources["open"]
    sign_in(client, "editor")
    token = csrf(client, f"/dataset/{rid}/data")
    missing = client.post(f"/datastore/upload/{rid}", data={"csrf_token": token,
                                                            "distribution": air}, headers=HX)
    assert missing.status_code == 409 and "请选择要上传的文件" in missing.text
    bad = client.post(f"/datastore/upload/{rid}", headers=HX,
                      data={"csrf_token": token, "distribution": air},
                      files={"upload": ("坏.csv", "站点,数值\n甲,1\n乙,2,3\n".encode())})
    job_id = re.search(r'id="job-([0-9a-f-]+)"', bad.text).group(1)
    assert jobs.Worker(db, settings.data_root).drain() == [(job_id, "failed")]
    failed = client.get(f"/datastore/jobs/{job_id}", headers=HX).text
    assert "上传失败，当前数据版本未改变" in failed and "第 3 行" in failed
    assert "共 5 行" in client.get(f"/datastore/{air}/preview", headers=HX).text
    # another department's editor cannot upload here, nor see the job
    client.post("/user/logout", data={"csrf_token": csrf(client, f"/dataset/{rid}")})
    sign_in(client, "other_editor")
    assert client.get(f"/datastore/jobs/{job_id}").status_code == 404
    token = csrf(client, f"/dataset/{rid}/data")
    assert client.post(f"/datastore/upload/{rid}", data={"csrf_token": token},
                       files={"upload": ("a.csv", b"a\n1\n")}).status_code == 403


def test_statistics_charts_and_previews_read_only_the_narrowed_view(
        client: TestClient, city: City, air: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """When privacy or a grant narrows what a reader sees, the panel shows no more."""
    from zhihui.core.authz import can
    from zhihui.datastore import access

    def clean_days_only(session, actor, view, number):  # type: ignore[no-untyped-def]
        if can(actor, "resource.update", view.resource):
            return view
        return view.narrowed(columns=[c for c in view.columns if c["id"] != "备注"],
                             where='"优良"', notes={**view.notes, "test": "good days"})

    monkeypatch.setattr(access, "_narrowers", [clean_days_only])
    got = client.get(f"{V1}/{air}/stats").json()
    assert got["rows"] == 4 and "备注" not in {c["id"] for c in got["columns"]}
    assert {c["id"]: c for c in got["columns"]}["PM25"]["max"] == 42
    hist = client.get(f"{V1}/{air}/chart", params={"column": "PM25"}).json()
    assert sum(hist["counts"]) == 3
    page = client.get(f"/datastore/{air}/preview", headers=HX).text
    assert "上城区站" not in page and "轻度污染" not in page and "共 4 行" in page
    assert client.get(f"{V1}/{air}/chart", params={"column": "备注"}).status_code == 400
    editor = client.get(f"{V1}/{air}/stats", headers=city.headers("editor")).json()
    assert editor["rows"] == 5
