"""The datastore over HTTP: upload through /api/v1 and CKAN's resource_create (as ckanapi sends
it), search with filters, q in Chinese, sort and paging, locked-down SQL, and downloads that
cannot run formulas."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from ckanapi import RemoteCKAN
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.datastore.helpers import BUS_LINES, csv_text, new_distribution
from tests.factories import City

V1 = "/api/v1/datastore"
CKAN = "/api/3/action/"


def upload(client: TestClient, city: City, dist: str, data: bytes, filename: str = "a.csv",
           role: str = "editor", **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"{V1}/{dist}/versions", headers=city.headers(role),
                       files={"upload": (filename, data)}, data=form)


@pytest.fixture
def lines(client: TestClient, city: City) -> str:
    dist = new_distribution(city.db, city.resources["open"])
    r = upload(client, city, dist, csv_text(BUS_LINES).encode("gbk"), "公交线路.csv")
    assert r.status_code == 201, r.text
    return dist


def test_an_upload_over_http_returns_the_version_and_its_report(client: TestClient, city: City,
                                                               lines: str) -> None:
    r = client.get(f"{V1}/{lines}/versions")
    assert r.status_code == 200
    [v] = r.json()
    assert v["number"] == 1 and v["rows"] == 5 and v["report"]["rows_rejected"] == 0
    info = client.get(f"{V1}/{lines}").json()
    assert info["meta"]["count"] == 5
    assert {f["id"]: f["type"] for f in info["fields"]}["开通日期"] == "date"


def test_a_malformed_upload_is_a_4xx_in_chinese_and_the_previous_version_stays(
        client: TestClient, city: City, lines: str) -> None:
    bad = "线路名称,票价\n1路,2\n2路,2,3\n".encode()
    r = upload(client, city, lines, bad)
    assert r.status_code == 409
    assert "第 3 行" in r.json()["error"]["message"]
    english = client.post(f"{V1}/{lines}/versions?lang=en", headers=city.headers("editor"),
                          files={"upload": ("a.csv", bad)})
    assert "Row 3" in english.json()["error"]["message"]
    assert [v["number"] for v in client.get(f"{V1}/{lines}/versions").json()] == [1]
    assert client.get(f"{V1}/{lines}/search").json()["total"] == 5


def test_uploads_need_the_right_to_edit_the_resource(client: TestClient, city: City,
                                                     lines: str) -> None:
    assert upload(client, city, lines, b"a,b\n1,2\n", role="other_editor").status_code == 403
    assert upload(client, city, lines, b"a,b\n1,2\n", role="anonymous").status_code == 401


def test_the_public_cannot_read_an_unopened_resources_rows(client: TestClient,
                                                           city: City) -> None:
    dist = new_distribution(city.db, city.resources["closed"])
    assert upload(client, city, dist, "车辆,位置\n浙A1,西湖\n".encode()).status_code == 201
    assert client.get(f"{V1}/{dist}/search").status_code == 404
    assert client.get(f"/datastore/dump/{dist}").status_code == 404
    r = client.get(f"{V1}/{dist}/search", headers=city.headers("member"))
    assert r.status_code == 200 and r.json()["total"] == 1


def test_search_filters_q_sort_and_paging(client: TestClient, lines: str) -> None:
    def search(**params):  # type: ignore[no-untyped-def]
        r = client.get(f"{V1}/{lines}/search", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    got = search(filters=json.dumps({"空调": "是"}), sort="票价 desc", fields="线路名称,票价")
    assert [r["线路名称"] for r in got["records"]] == ["1路", "5路", "K3路"]
    assert got["total"] == 3 and [f["id"] for f in got["fields"]] == ["线路名称", "票价"]
    got = search(filters=json.dumps({"线路编号": ["001", "004"]}))
    assert [r["线路名称"] for r in got["records"]] == ["1路", "4路"]
    got = search(filters=json.dumps({"开通日期": {"gte": "2024-05-02", "lt": "2024年5月4日"}}))
    assert [r["线路名称"] for r in got["records"]] == ["2路", "K3路"]
    assert search(q="交通")["total"] == 2  # 夜间交通线路, 西湖 交通枢纽
    assert search(q="交通 夜间")["total"] == 1
    page = search(sort="站点数 asc", limit=2, offset=2)
    assert [r["线路名称"] for r in page["records"]] == ["1路", "4路"] and page["total"] == 5
    assert search(fields="空调", distinct="true", sort="空调")["records"] == [
        {"空调": False}, {"空调": True}]
    lists = search(fields="线路编号,票价", limit=1, records_format="lists")
    assert lists["records"] == [["001", 2.0]]
    assert search(fields="线路编号", limit=2, records_format="csv")["records"] == "001\n002\n"
    assert "total" not in search(include_total="false")
    r = client.get(f"{V1}/{lines}/search", params={"filters": json.dumps({"没有": 1})})
    assert r.status_code == 409 and "没有这个字段" in r.json()["error"]["message"]
    r = client.get(f"{V1}/{lines}/search", params={"filters": json.dumps({"站点数": "很多"})})
    assert r.status_code == 409


@pytest.mark.parametrize("sql", [
    'DROP TABLE "{id}"',
    "COPY (SELECT 1) TO '/tmp/x.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    'SELECT 1 FROM "{id}"; SELECT 2',
    "ATTACH '/tmp/evil.db' AS evil",
    "INSTALL httpfs",
    "SET enable_external_access=true",
    "SELECT getenv('HOME')",
    'SELECT * FROM "00000000-0000-0000-0000-000000000000"',
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM information_schema.tables",
])
def test_sql_refuses_anything_but_one_select_over_resource_tables(client: TestClient,
                                                                  lines: str, sql: str) -> None:
    r = client.post(f"{V1}/sql", json={"sql": sql.replace("{id}", lines)})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"]


def test_sql_reads_resource_tables_by_id(client: TestClient, lines: str) -> None:
    sql = (f'WITH t AS (SELECT * FROM "{lines}") SELECT "空调", count(*) AS n, '
           f'sum("站点数") AS stops FROM t GROUP BY 1 ORDER BY 1')
    r = client.post(f"{V1}/sql", json={"sql": sql})
    assert r.status_code == 200, r.text
    assert r.json()["records"] == [{"空调": False, "n": 2, "stops": 43},
                                   {"空调": True, "n": 3, "stops": 32}]


def test_downloads_in_every_format_neutralise_formulas(client: TestClient, lines: str) -> None:
    r = client.get(f"/datastore/dump/{lines}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert rows[0][:3] == ["_id", "线路编号", "线路名称"]
    notes = [row[8] for row in rows[1:]]
    assert notes[2] == "'=HYPERLINK(\"http://x\")" and notes[3] == "'+1 公交换乘"
    assert notes[4] == "'@西湖 交通枢纽"
    assert client.get(f"/datastore/dump/{lines}?bom=true").content.startswith(
        "\ufeff".encode())
    gbk = client.get(f"/datastore/dump/{lines}?encoding=gbk").content.decode("gbk")
    assert "途经武林广场" in gbk
    tsv = client.get(f"/datastore/dump/{lines}?format=tsv").text
    assert tsv.splitlines()[1].split("\t")[2] == "1路"
    body = client.get(f"/datastore/dump/{lines}?format=json").json()
    assert len(body["records"]) == 5 and body["fields"][0]["id"] == "_id"
    wb = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/datastore/dump/{lines}?format=xlsx").content))
    cell = wb.active.cell(row=4, column=9)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"  # text, no formula
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(client.get(f"/datastore/dump/{lines}?format=parquet")
                                     .content))
    assert table.num_rows == 5
    assert client.get(f"/datastore/dump/{lines}?format=exe").status_code == 409


def test_ckanapi_uploads_a_file_and_drives_the_datastore(site: str, city: City,
                                                         tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "空气质量.csv"
    path.write_bytes("站点,PM2.5,日期\n西湖,35,2024-05-01\n滨江,41,2024-05-01\n"
                     "西湖,28,2024-05-02\n".encode("gbk"))
    # an unconditionally opened resource: conditionally opened data needs an opening grant
    # (docs/exchange.md)
    editor = RemoteCKAN(site, apikey=city.tokens["editor"])
    public = RemoteCKAN(site)
    try:
        with open(path, "rb") as f:
            res = editor.action.resource_create(package_id=city.resources["open"], upload=f)
        assert res["datastore_active"] is True and res["url_type"] == "upload"
        assert res["url"].endswith(f"/datastore/dump/{res['id']}")
        found = public.action.datastore_search(resource_id=res["id"], filters={"站点": "西湖"},
                                               sort="日期 desc")
        assert found["total"] == 2 and [r["PM2.5"] for r in found["records"]] == [28, 35]
        assert public.action.datastore_search(resource_id=res["id"], q="滨")["total"] == 1
        info = public.action.datastore_info(id=res["id"])
        assert [f["id"] for f in info["fields"]] == ["站点", "PM2.5", "日期"]
        sql = public.action.datastore_search_sql(
            sql=f'SELECT avg("PM2.5") AS mean FROM "{res["id"]}"')
        assert sql["records"] == [{"mean": 104 / 3}]
        with open(path, "rb") as f:
            again = editor.action.resource_update(id=res["id"], upload=f)
        assert again["datastore_active"] is True
        from ckanapi import ValidationError

        with pytest.raises(ValidationError):
            public.action.datastore_search_sql(sql=f'DELETE FROM "{res["id"]}"')
    finally:
        editor.close()
        public.close()


def test_the_cli_ingests_a_file_into_a_resource(settings, city: City, tmp_path,  # type: ignore[no-untyped-def]
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from zhihui.cli import app

    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    path = tmp_path / "lines.csv"
    path.write_bytes(csv_text(BUS_LINES).encode("gbk"))
    result = CliRunner().invoke(app, ["data", "ingest", str(path), "--resource",
                                      city.resources["open"]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output and "5 rows" in result.output
    dist = result.output.split(" of ", 1)[1].split(":", 1)[0]
    result = CliRunner().invoke(app, ["data", "versions", dist], catch_exceptions=False)
    assert result.exit_code == 0 and "lines.csv" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    result = CliRunner().invoke(app, ["data", "ingest", str(bad), "--resource", dist])
    assert result.exit_code == 1 and "文件是空的" in result.output


def test_every_read_of_data_is_in_the_audit_log(client: TestClient, city: City,
                                                lines: str) -> None:
    """Art. 50: queries and downloads are logged; anonymous reads of open data are tallied
    per client and minute."""
    from sqlalchemy import select

    from zhihui.core.audit.models import AuditEntry

    client.get(f"/api/v1/datastore/{lines}/search", params={"q": "交通"},
               headers=city.headers("member"))
    for _ in range(3):
        client.get(f"/datastore/dump/{lines}")
    with city.db.session() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.actor_name, AuditEntry.detail)
                         .where(AuditEntry.target_id == lines,
                                AuditEntry.action.like("data.%"))).all()
    by_action = {(a, who): d for a, who, d in rows}
    assert by_action[("data.search", "member")]["rows"] == 2
    tally = by_action[("data.download", "anonymous")]
    assert tally["count"] == 3 and tally["rows"] == 15


def test_the_public_sees_report_counts_but_not_the_rejected_values(client: TestClient,
                                                                   city: City) -> None:
    """Rejected cells quote the original data: only the resource's editors read them."""
    dist = new_distribution(city.db, city.resources["open"])
    data = "线路名称,票价\n1路,2\n2路,贰元\n3路,3\n4路,4\n5路,5\n".encode()
    assert upload(client, city, dist, data, types='{"票价": "integer"}',
                  max_rejected="0.5").status_code == 201
    [mine] = client.get(f"{V1}/{dist}/versions", headers=city.headers("editor")).json()
    [public] = client.get(f"{V1}/{dist}/versions").json()
    assert [c["value"] for c in mine["report"]["cells_rejected"]] == ["贰元"]
    assert public["report"]["cells_rejected"] == [
        {k: v for k, v in mine["report"]["cells_rejected"][0].items() if k != "value"}]
    assert "贰元" not in str(public)


def test_datastore_search_says_whether_q_is_answered_from_its_index(
        client: TestClient, lines: str, settings, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """``meta.q_ready`` is false until the text index of a large table is built; the answer
    is the same before and after (tests/datastore/test_query_index.py for the details)."""
    from pathlib import Path

    from zhihui.datastore import index

    monkeypatch.setattr(index, "INDEX_MIN_ROWS", 5)  # the 5 bus lines stand for a large table
    monkeypatch.setattr(index, "DISTINCT_SHARE", 1)
    monkeypatch.setattr(index, "request_build", lambda p: False)  # built below, not meanwhile
    url = f"{CKAN}datastore_search?resource_id={lines}&q=交通"
    before = client.get(url).json()["result"]
    assert before["meta"]["q_ready"] is False and before["meta"]["answered_by"] == "scan"
    info = client.get(f"{CKAN}datastore_info?id={lines}").json()["result"]
    assert info["meta"]["q_ready"] is False
    parquet = next(Path(settings.data_root).glob(f"{lines}/*/data.parquet"))
    assert index.build(parquet).text
    after = client.get(url).json()["result"]
    assert after["meta"] == {"q_ready": True, "index_ready": True, "answered_by": "index"}
    assert after["records"] == before["records"] and after["total"] == 2
