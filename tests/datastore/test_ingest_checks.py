"""The write checks each cell with one expression per column: the cheap ``plain`` form first,
the full one (trim, null tokens, Chinese dates) after. Both must read every cell exactly as
the rules of ``infer.matches`` and ``infer.cast`` do, or a column's type would depend on which
check happened to run."""

from __future__ import annotations

import duckdb
import pytest

from zhihui.datastore import infer

CELLS = [
    "0", "12", "-7", "+5", "0104", "3.5", "-0.25", "1e3", "1_000", "0x10", " 12", "12 ",
    "123456789012345", "1234567890123456", "2024-05-01", "2024-5-1", "2024-02-30",
    "0000-01-01", "24-05-01", "2024/5/1", "2024年5月1日", "20240501", "2024.05.01",
    "2024-05-01 08:30", "2024-05-01 08:30:00", "2024-5-1 8:3:5", "2024-05-01 24:00:00",
    "2024-05-01 23:59:60", "2024-05-01T08:30:00", "2024年5月1日 8时30分", "是", "否", "Y",
    "n", "TRUE", "False", "yEs", "t", "-", "无数据", "", "abc", "１２",
]
KINDS = [k for k in infer.TYPES if k != "text"]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(":memory:")
    c.execute("CREATE TABLE t (c VARCHAR)")
    c.executemany("INSERT INTO t VALUES (?)", [[x] for x in CELLS])
    yield c
    c.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_plain_cell_reads_as_the_full_rules_read_it(con: duckdb.DuckDBPyConnection,
                                                      kind: str) -> None:
    v = infer.cell("c")
    rows = con.execute(
        f"SELECT c, {infer.plain_value(kind, 'c')}, {infer.plain(kind, 'c')}, "
        f"{v} IS NOT NULL AND {infer.matches(kind, v)}, {infer.cast(kind, v, 'c')} "
        "FROM t").fetchall()
    for cell, plain_value, is_plain, matches, cast in rows:
        assert is_plain == (plain_value is not None), cell
        if is_plain:
            assert matches and plain_value == cast, (cell, plain_value, cast)


@pytest.mark.parametrize("kind", KINDS)
def test_the_full_check_is_matches_then_cast(con: duckdb.DuckDBPyConnection,
                                             kind: str) -> None:
    v = infer.cell("c")
    rows = con.execute(
        f"SELECT c, {infer.value(kind, v)}, coalesce({infer.matches(kind, v)}, false), "
        f"{infer.cast(kind, v, 'c')} FROM t WHERE {v} IS NOT NULL").fetchall()
    for cell, value, matches, cast in rows:
        assert value == (cast if matches else None), (cell, value, matches, cast)


def test_codes_and_rounding_are_not_plain_numbers(con: duckdb.DuckDBPyConnection) -> None:
    def plain(kind: str, cell: str) -> object:
        return con.execute(f"SELECT {infer.plain_value(kind, 'x')} FROM (SELECT ?::VARCHAR "
                           "AS x)", [cell]).fetchone()[0]

    assert plain("integer", "0104") is None  # a code keeps its zero: not 104
    assert plain("integer", "3.5") is None  # DuckDB's CAST would round it to 4
    assert plain("integer", "1234567890123456") is None  # 16 digits: an identifier
    assert plain("decimal", "1e3") is None
    assert plain("datetime", "2024-05-01 24:00:00") is None  # CAST: the next day
    assert plain("boolean", "是") is True and plain("boolean", "FALSE") is False
