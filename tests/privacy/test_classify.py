"""Classifying columns from their header and a sample of values, with a confidence."""

from tests.privacy.test_validators import make_id, make_uscc
from zhihui.privacy.classify import classify_column, classify_table

IDS = [make_id(f"3301061990010{d}12{d}") for d in range(1, 10)]


def test_an_id_column_is_sensitive_with_or_without_its_header():
    headed = classify_column("公民身份号码", IDS)
    assert (headed.type, headed.personal, headed.sensitive) == ("resident_id", True, True)
    unheaded = classify_column("col7", IDS)
    assert unheaded.type == "resident_id" and unheaded.sensitive
    assert headed.confidence > unheaded.confidence >= 0.9


def test_a_masked_or_empty_column_under_a_personal_header_stays_flagged():
    masked = classify_column("身份证号", ["330106********1234"] * 5)
    assert masked.type == "resident_id" and masked.personal and masked.confidence < 0.5
    empty = classify_column("手机号码", [None, "", " "])
    assert empty.type == "mobile" and empty.personal and empty.confidence == 0.5


def test_names_need_their_header():
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳娜娜"]
    legal = classify_column("法定代表人", names)
    assert (legal.type, legal.personal, legal.sensitive) == ("person_name", True, False)
    assert legal.confidence >= 0.8
    assert classify_column("col2", names).confidence < 0.5
    assert classify_column("所属区县", ["西湖区", "上城区", "拱墅区"]).type is None


def test_a_telephone_column_mixing_mobiles_and_landlines():
    c = classify_column("联系电话", ["13812345678", "0571-87654321", "19912345678"])
    assert c.type == "mobile" and c.personal and c.confidence >= 0.9


def test_organisation_codes_are_personal_only_for_individual_businesses():
    companies = classify_column("统一社会信用代码", ["91350100M000100Y43"])
    assert companies.type == "uscc" and not companies.personal
    stalls = [make_uscc("92330106", f"MA2H0K{d}P") for d in range(5)]
    individual = classify_column("统一社会信用代码", stalls)
    assert individual.type == "uscc" and individual.personal and not individual.sensitive


def test_ordinary_columns_are_not_personal():
    for header, values in (
        ("金额（元）", ["12345.67", "100", "0.5"]),
        ("受理日期", ["2023-11-05", "20231105", "2023年11月5日"]),
        ("订单编号", ["202311051234567890", "202311051234567891"]),
        ("企业名称", ["杭州某某科技有限公司"]),
        ("手机号码数量", ["3", "5"]),
    ):
        assert classify_column(header, values).personal is False, header


def test_locations_are_sensitive_in_a_table_about_people_only():
    hospitals = classify_table(
        ["医院名称", "地址", "经度", "纬度"],
        [["浙大一院", "杭州市上城区庆春路79号", "120.17921", "30.25689"]],
    )
    assert [c.type for c in hospitals] == [None, "address", "coordinates", "coordinates"]
    assert not any(c.personal for c in hospitals)
    cases = classify_table(
        ["姓名", "手机", "住址", "经度", "纬度", "处罚金额"],
        [
            ["张伟", "13812345678", "杭州市上城区庆春路79号", "120.17921", "30.25689", "500"],
            ["王芳", "13912345678", "杭州市西湖区文三路90号", "120.13011", "30.27702", "200"],
        ],
    )
    assert [c.personal for c in cases] == [True, True, True, True, True, False]
    assert [c.sensitive for c in cases] == [False, False, False, True, True, False]


def test_the_privacy_page_documents_every_type():
    from pathlib import Path

    from zhihui.privacy.detect import TYPES

    page = (Path(__file__).resolve().parents[2] / "docs" / "privacy.md").read_text("utf-8")
    assert [t for t in TYPES if f"`{t}`" not in page] == []


def test_a_large_table_is_sampled_in_runs_spread_over_it_the_same_each_time(tmp_path):
    """The sample reads runs of rows from across the file (not its head only, not every row
    group), on an upload (``_id`` is the position) and on a revised version (stored ``_id``
    with gaps)."""
    import duckdb

    from zhihui.privacy import service

    positional = tmp_path / "upload.parquet"
    duckdb.sql(f"COPY (SELECT i AS n, '第' || i || '行' AS label FROM range(50000) t(i)) "
               f"TO '{positional}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
    revised = tmp_path / "revised.parquet"
    duckdb.sql(f"COPY (SELECT i * 2 + 1 AS _id, i AS n FROM range(25000) t(i)) "
               f"TO '{revised}' (FORMAT parquet)")
    for path in (positional, revised):
        rows = service._sample(path, ["n"])
        numbers = [int(r[0]) for r in rows]
        assert 900 <= len(rows) <= service.SAMPLE_ROWS and numbers == sorted(numbers)
        assert numbers[0] == 0 and numbers[-1] > 40000 * (0.5 if path == revised else 1)
        assert service._sample(path, ["n"]) == rows
    small = tmp_path / "small.parquet"
    duckdb.sql(f"COPY (SELECT i AS n FROM range(300) t(i)) TO '{small}' (FORMAT parquet)")
    assert len(service._sample(small, ["n"])) == 300
