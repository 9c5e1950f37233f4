"""A department brings its files as they are: GBK CSV with a title row, Excel with a title
row over the header, NDJSON; each upload becomes a new immutable version, typed, reported,
described in the catalogue, audited."""

from __future__ import annotations

import hashlib
import io
import json

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from tests.datastore.helpers import BUS_LINES, csv_text, ndjson_bytes, new_distribution, xlsx_bytes
from tests.factories import City
from zhihui.catalog import service as catalog
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import SYSTEM
from zhihui.core.errors import Forbidden, NotFound, ValidationFailed
from zhihui.datastore import service as ds
from zhihui.datastore import versions
from zhihui.datastore.query import Search
from zhihui.settings import Settings


def _ingest(city: City, settings: Settings, dist: str, data: bytes, filename: str,
            role: str = "editor", **options):  # type: ignore[no-untyped-def]
    with city.db.session() as s:
        v = ds.ingest(s, city.actors[role], dist, io.BytesIO(data), filename,
                      ds.IngestOptions(**options), data_root=settings.data_root)
        return ds.version_dict(v)


def test_a_gbk_csv_with_a_title_row_is_read_typed_and_described_in_the_catalogue(
        city: City, settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    data = csv_text(BUS_LINES).encode("gbk")
    v = _ingest(city, settings, dist, data, "公交线路.csv")

    assert v["number"] == 1 and v["rows"] == 5 and v["encoding"] == "gb18030"
    assert v["report"]["source"]["header_row"] == 2  # under the title row
    types = {c["id"]: c["type"] for c in v["columns"]}
    assert types == {"线路编号": "text", "线路名称": "text", "开通日期": "date",
                     "票价": "decimal", "空调": "boolean", "站点数": "integer",
                     "联系电话": "text", "备注": "text"}
    fare = next(c for c in v["report"]["columns"] if c["id"] == "票价")
    assert fare["nulls"] == 1 and fare["distinct"] == 4
    assert v["sha256"] == hashlib.sha256(data).hexdigest()
    assert (settings.data_root / "_originals" / v["sha256"][:2] / v["sha256"]).read_bytes() \
        == data

    with city.db.session() as s:
        shown = catalog.show(s, SYSTEM, city.resources["open"])
        items = {i["name"]: i["type"] for i in shown["data_items"]}
        assert items["开通日期"] == "D" and items["空调"] == "L" and items["站点数"] == "N"
        assert items["线路编号"] == "C"
        d = next(x for x in shown["distributions"] if x["id"] == dist)
        assert d["datastore_active"] is True and d["hash"] == f"sha256:{v['sha256']}"
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "datastore.ingest"))
        assert entry is not None and entry.target_id == dist and entry.actor_name == "editor"
        rows = ds.search(s, SYSTEM, dist, Search(sort="_id"), data_root=settings.data_root)
    first = rows["records"][0]
    assert first["线路编号"] == "001" and first["开通日期"] == "2024-05-01"
    assert first["空调"] is True and first["联系电话"] == BUS_LINES[1][6]
    assert rows["records"][1]["开通日期"] == "2024-05-02"  # 2024年5月2日
    assert rows["records"][2]["开通日期"] == "2024-05-03"  # 20240503


def test_an_excel_sheet_is_chosen_and_its_title_row_skipped(city: City,
                                                            settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    data = xlsx_bytes({
        "说明": [["字段", "含义"], ["票价", "元"]],
        "线路": [["线路名称", "开通日期", "票价"], ["1路", "2024-05-01", 2],
                 ["2路", "2024-05-02", 2.5]],
    })
    v = _ingest(city, settings, dist, data, "lines.xlsx", sheet="线路")
    assert v["source_format"] == "xlsx" and v["rows"] == 2
    assert v["report"]["source"]["sheets"] == ["说明", "线路"]
    assert v["report"]["source"]["header_row"] == 2
    assert [(c["id"], c["type"]) for c in v["columns"]] == [
        ("线路名称", "text"), ("开通日期", "date"), ("票价", "decimal")]
    with pytest.raises(ValidationFailed) as exc:
        _ingest(city, settings, dist, data, "lines.xlsx", sheet="没有")
    assert "说明、线路" in exc.value.render("zh")


def test_ndjson_and_a_json_array_are_read_by_key(city: City, settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["air"])
    records = [{"站点": "西湖", "PM2.5": 35, "时间": "2024-05-01 08:00:00"},
               {"站点": "滨江", "PM2.5": 41.5, "时间": "2024-05-01 09:00:00", "备注": "补测"}]
    v = _ingest(city, settings, dist, ndjson_bytes(records), "air.ndjson", role="other_editor")
    assert [(c["id"], c["type"]) for c in v["columns"]] == [
        ("站点", "text"), ("PM2.5", "decimal"), ("时间", "datetime"), ("备注", "text")]
    v2 = _ingest(city, settings, dist, json.dumps(records, ensure_ascii=False).encode(),
                 "air.json", role="other_editor")
    assert v2["number"] == 2 and v2["rows"] == 2 and v2["source_format"] == "json"


@pytest.mark.parametrize(("name", "values", "expected"), [
    ("数量", ["1", "-20", "300"], "integer"),
    ("金额", ["1.5", "2", "-0.25"], "decimal"),
    ("是否开放", ["是", "否", "是"], "boolean"),
    ("有效", ["Y", "N", "y"], "boolean"),
    ("启用", ["true", "FALSE", "True"], "boolean"),
    ("日期", ["2024-05-01", "2024/5/1", "2024年5月1日"], "date"),
    ("日期", ["20240501", "20231231", "19991001"], "date"),
    ("时间", ["2024-05-01 08:30:00", "2024/5/1 8:30", "2024-05-01T23:59:59"], "datetime"),
    ("邮编", ["310000", "310012", "311100"], "text"),  # a code, by its name
    ("代码", ["012", "013", "101"], "text"),
    ("序号", ["012", "013", "101"], "text"),  # leading zeros
    ("身份证", ["330106199001011234", "33010619900101123X", "330106199001011230"], "text"),
    ("统一社会信用代码", ["91330100MA27XXXX1A", "11330100002489809A", "1"], "text"),
    ("联系人手机", ["13812345678", "13912345678", "13712345678"], "text"),
    ("值", ["13812345678", "13912345678", "13712345678"], "text"),  # mobile numbers
    ("日期", ["2024-02-30", "2024-05-01", "2024-05-02"], "text"),  # not a real date
    ("数量", ["1", "2", "很多"], "text"),
    ("数量", ["1", "-", ""], "integer"),  # "-" is how departments write "no value"
])
def test_type_inference(city: City, settings: Settings, name: str, values: list[str],
                        expected: str) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    data = csv_text([[name, "说明"], *[[v, "x"] for v in values]], title=None).encode()
    v = _ingest(city, settings, dist, data, "t.csv")
    assert v["columns"][0]["type"] == expected


def test_a_later_value_that_breaks_the_sampled_type_demotes_the_column(
        city: City, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "SAMPLE_ROWS", 3)
    dist = new_distribution(city.db, city.resources["open"])
    data = csv_text([["数量"], ["1"], ["2"], ["3"], ["4.5"], ["五"]], title=None).encode()
    assert _ingest(city, settings, dist, data, "t.csv")["columns"][0]["type"] == "text"
    data = csv_text([["数量"], ["1"], ["2"], ["3"], ["4.5"]], title=None).encode()
    assert _ingest(city, settings, dist, data, "t.csv")["columns"][0]["type"] == "decimal"


def test_an_editor_overrides_a_type_and_cells_that_do_not_fit_are_reported(
        city: City, settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    data = csv_text([["编号", "值"], ["1", "a"], ["2", "b"], ["x3", "c"]], title=None).encode()
    v = _ingest(city, settings, dist, data, "t.csv", types={"编号": "integer"})
    assert v["columns"][0]["type"] == "integer"
    assert v["report"]["cells_rejected"] == [
        {"record": 3, "column": "编号", "value": "x3", "reason": "not_integer"}]


def test_encodings_are_detected(city: City, settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    simplified = csv_text([["区县", "名称"], ["西湖区", "杭州市第一人民医院"]], title=None)
    traditional = csv_text([["區域", "名稱"], ["中正區", "臺北市立聯合醫院"]], title=None)
    for text, encoding in ((simplified, "utf-8-sig"), (simplified, "gb18030"),
                           (simplified, "utf-16"), (traditional, "big5")):
        v = _ingest(city, settings, dist, text.encode(encoding), "t.csv")
        assert v["encoding"] == encoding
        with city.db.session() as s:
            rows = ds.search(s, SYSTEM, dist, Search(), data_root=settings.data_root)
        assert rows["records"][0][rows["fields"][2]["id"]] in ("杭州市第一人民医院",
                                                               "臺北市立聯合醫院")


def test_tab_and_semicolon_files_are_sniffed(city: City, settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    v = _ingest(city, settings, dist, "区县\t人口\n西湖区\t1,200\n上城区\t1,300\n".encode(),
                "p.txt")
    assert v["report"]["source"]["delimiter"] == "\t" and [c["id"] for c in v["columns"]] \
        == ["区县", "人口"]
    v = _ingest(city, settings, dist, "区县;人口\n西湖区;12\n".encode(), "p.csv")
    assert v["report"]["source"]["delimiter"] == ";"


def test_versions_are_immutable_and_the_old_one_stays_readable(city: City,
                                                               settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    v1 = _ingest(city, settings, dist, "名称,数量\n甲,1\n乙,2\n".encode(), "a.csv")
    v2 = _ingest(city, settings, dist, "名称,数量\n丙,3\n".encode(), "a.csv")
    assert (v1["number"], v2["number"]) == (1, 2) and v1["id"] != v2["id"]
    old_file = settings.data_root / v1["resource_id"] / v1["id"] / "data.parquet"
    assert pq.read_table(old_file).num_rows == 2
    with city.db.session() as s:
        assert ds.search(s, SYSTEM, dist, Search(), data_root=settings.data_root)["total"] == 1
        old = ds.search(s, SYSTEM, dist, Search(), data_root=settings.data_root, number=1)
        assert [r["名称"] for r in old["records"]] == ["甲", "乙"]
        assert [v.number for v in ds.list_versions(s, SYSTEM, dist)] == [2, 1]
        assert ds.info(s, SYSTEM, dist, data_root=settings.data_root)["meta"]["versions"] == 2


@pytest.mark.parametrize(("data", "filename", "words"), [
    (b"", "a.csv", "空"),
    (b"\x00\x01\x02binary\x00" * 50, "a.csv", "二进制"),
    ("名称,数量\n".encode(), "a.csv", "没有数据"),
    ("名称,数量\n甲,1\n乙,2,3\n丙,4\n".encode(), "a.csv", "第 3 行"),
    ("名称,数量\n甲,1\n".encode() + "乙,2\n".encode("gbk") * 3 + "丙,3\n".encode(),
     "a.csv", "第 3 行"),
    (b"PK\x03\x04 not a zip", "a.xlsx", "损坏"),
    (b"not an excel file", "a.xlsx", "扩展名"),
    (b'[{"a": 1}, ', "a.json", "JSON"),
])
def test_a_bad_file_is_refused_with_the_reason_and_the_current_version_stays(
        city: City, settings: Settings, data: bytes, filename: str, words: str) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    _ingest(city, settings, dist, "名称,数量\n甲,1\n".encode(), "good.csv")
    with pytest.raises(ValidationFailed) as exc:
        _ingest(city, settings, dist, data, filename)
    assert words in exc.value.render("zh")
    assert exc.value.status == 409
    with city.db.session() as s:
        assert [v.number for v in ds.list_versions(s, SYSTEM, dist)] == [1]
        rows = ds.search(s, SYSTEM, dist, Search(), data_root=settings.data_root)
    assert rows["records"][0]["名称"] == "甲"
    assert list((settings.data_root / "_tmp").iterdir()) == []  # nothing half-written left


def test_a_few_bad_rows_among_many_are_skipped_and_reported(city: City,
                                                            settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    lines = ["名称,数量"] + [f"站点{i},{i}" for i in range(300)]
    lines[101] = "坏行,1,2"
    v = _ingest(city, settings, dist, ("\n".join(lines) + "\n").encode(), "a.csv")
    report = v["report"]
    assert (report["rows_read"], report["rows_loaded"], report["rows_rejected"]) == \
        (300, 299, 1)
    assert report["rejected"][0]["row"] == 102
    assert report["rejected"][0]["reason"] == "too_many_fields"


def test_a_member_of_another_organisation_cannot_upload(city: City,
                                                        settings: Settings) -> None:
    dist = new_distribution(city.db, city.resources["open"])
    with pytest.raises(Forbidden):
        _ingest(city, settings, dist, b"a,b\n1,2\n", "a.csv", role="other_editor")
    with pytest.raises(Forbidden):
        _ingest(city, settings, dist, b"a,b\n1,2\n", "a.csv", role="member")


def test_the_public_cannot_read_the_rows_of_an_unopened_resource(city: City,
                                                                 settings: Settings) -> None:
    from zhihui.core.authz import ANONYMOUS

    dist = new_distribution(city.db, city.resources["closed"])
    _ingest(city, settings, dist, "车辆,位置\n浙A1,西湖\n".encode(), "a.csv")
    with city.db.session() as s:
        with pytest.raises(NotFound):
            ds.search(s, ANONYMOUS, dist, Search(), data_root=settings.data_root)
        with pytest.raises(NotFound):
            ds.dump(s, city.actors["public"], dist, data_root=settings.data_root)
        assert ds.search(s, city.actors["member"], dist, Search(),
                         data_root=settings.data_root)["total"] == 1
    # another department reads conditionally shared data only through a grant (exchange)
    with city.db.session() as s, pytest.raises(Forbidden):
        ds.search(s, city.actors["other_member"], dist, Search(), data_root=settings.data_root)
