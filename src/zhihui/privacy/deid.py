"""De-identification as DuckDB SQL: each column rule becomes one expression over the original
Parquet file, so a protected copy is written in one streaming ``COPY`` and never holds the
originals (PIPL Art. 73: de-identified information cannot identify a person without
additional information kept apart).

Methods (``Rule.method``):
- ``mask``: keep ``keep_start`` and ``keep_end`` characters, stars between (330106********1234,
  138****5678, 张*); a value no longer than what is kept becomes all stars;
- ``pseudonym``: HMAC-SHA256 of the value under the resource's key, hex, first 24 characters:
  the same person gets the same pseudonym in every version, so records can still be joined,
  and nobody without the key can test a guessed ID number against it;
- ``generalise``: a date to its ``month`` or ``year``, a number to a ``band`` of ``width``
  (age 37 -> 30-39), an address to its ``district`` (浙江省杭州市西湖区…号 -> 浙江省杭州市西湖区);
- ``suppress``: the column is left out.
Row suppression: with quasi-identifiers and k > 1, rows whose group (the same protected
quasi-identifier values) has fewer than k rows are left out."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from zhihui.datastore.infer import quote
from zhihui.datastore.storage import relation
from zhihui.privacy import detect as d

METHODS = ("mask", "pseudonym", "generalise", "suppress")
GENERALISE_TO = ("month", "year", "band", "district")
# What each generalisation can read, by the datastore's column types.
GENERALISE_TYPES = {
    "month": ("date", "datetime", "text"),
    "year": ("date", "datetime", "text", "integer"),
    "band": ("integer", "decimal", "text"),
    "district": ("text",),
}
# Default characters kept by a mask, by detected type: the forms people know from receipts.
MASK_KEEP: dict[str | None, tuple[int, int]] = {
    d.RESIDENT_ID: (6, 4), d.BANK_CARD: (6, 4), d.MOBILE: (3, 4), d.FIXED_LINE: (4, 2),
    d.PERSON_NAME: (1, 0), d.PASSPORT: (1, 2), d.TRAVEL_PERMIT: (1, 2),
    d.VEHICLE_PLATE: (2, 2), d.USCC: (8, 2), d.ADDRESS: (6, 0),
}
PSEUDONYM_LENGTH = 24
DISTRICT_RE = "^(?:.{0,8}?省)?(?:.{0,10}?市)?.{0,10}?(?:区|县|市|旗)"
MEMORY = "1GB"


@dataclass(frozen=True)
class Rule:
    column: str
    method: str
    keep_start: int | None = None
    keep_end: int | None = None
    to: str | None = None
    width: int | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Rule:
        return cls(**{k: data.get(k) for k in
                      ("column", "method", "keep_start", "keep_end", "to", "width")})

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _text(col: str) -> str:
    return f"CAST({quote(col)} AS VARCHAR)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def mask_sql(col: str, keep_start: int, keep_end: int, kind: str | None = None) -> str:
    v = _text(col)
    if kind == d.EMAIL and keep_start <= 1 and keep_end == 0:
        return (f"CASE WHEN {v} IS NULL THEN NULL WHEN contains({v}, '@') THEN "
                f"left({v}, 1) || '***@' || split_part({v}, '@', 2) "
                f"ELSE repeat('*', length({v})) END")
    keep = keep_start + keep_end
    return (f"CASE WHEN {v} IS NULL THEN NULL "
            f"WHEN length({v}) <= {keep} THEN repeat('*', length({v})) "
            f"ELSE left({v}, {keep_start}) || repeat('*', length({v}) - {keep}) || "
            f"right({v}, {keep_end}) END")


def pseudonym_sql(col: str, key: bytes) -> str:
    """HMAC-SHA256 (RFC 2104) in SQL: the key's inner and outer pads are constants."""
    padded = key.ljust(64, b"\0") if len(key) <= 64 else key
    inner = bytes(b ^ 0x36 for b in padded).hex()
    outer = bytes(b ^ 0x5C for b in padded).hex()
    v = _text(col)
    return (f"CASE WHEN {v} IS NULL THEN NULL ELSE left(sha256(unhex('{outer}') || "
            f"unhex(sha256(unhex('{inner}') || encode({v})))), {PSEUDONYM_LENGTH}) END")


def generalise_sql(col: str, to: str, width: int | None) -> tuple[str, str]:
    """The expression and the type of what it gives."""
    c = quote(col)
    if to == "month":
        return f"strftime(TRY_CAST({c} AS DATE), '%Y-%m')", "text"
    if to == "year":
        return f"year(TRY_CAST({c} AS DATE))", "integer"
    if to == "band":
        w = width or 10
        x = f"floor(TRY_CAST({c} AS DOUBLE) / {w}) * {w}"
        return (f"CAST(CAST({x} AS BIGINT) AS VARCHAR) || '-' || "
                f"CAST(CAST({x} + {w - 1} AS BIGINT) AS VARCHAR)"), "text"
    # district: the administrative part before the street; nothing when it cannot be found
    return f"nullif(regexp_extract({_text(col)}, {_literal(DISTRICT_RE)}, 0), '')", "text"


def expression(rule: Rule, kind: str | None, key: bytes) -> tuple[str, str] | None:
    """(SQL, output type) of a rule, or None for a suppressed column."""
    if rule.method == "suppress":
        return None
    if rule.method == "pseudonym":
        return pseudonym_sql(rule.column, key), "text"
    if rule.method == "generalise":
        return generalise_sql(rule.column, rule.to or "", rule.width)
    start, end = MASK_KEEP.get(kind, (1, 1))
    if kind == d.EMAIL:
        start, end = 1, 0
    if rule.keep_start is not None:
        start = rule.keep_start
    if rule.keep_end is not None:
        end = rule.keep_end
    return mask_sql(rule.column, start, end, kind), "text"


@dataclass(frozen=True)
class Plan:
    """The SELECT list of a protected copy and the schema it gives."""

    selects: list[str]
    columns: list[dict[str, Any]]


def plan(columns: list[dict[str, Any]], rules: dict[str, Rule], kinds: dict[str, str | None],
         key: bytes) -> Plan:
    selects = ["_id"]
    out = []
    for c in columns:
        rule = rules.get(c["id"])
        if rule is None:
            selects.append(quote(c["id"]))
            out.append(dict(c))
            continue
        got = expression(rule, kinds.get(c["id"]), key)
        if got is None:
            continue
        sql, kind = got
        selects.append(f"{sql} AS {quote(c['id'])}")
        item_type = {"integer": "N", "text": "C"}[kind]
        out.append({**c, "type": kind, "item_type": item_type, "length": None,
                    "protected": rule.method})
    return Plan(selects, out)


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:", config={
        "memory_limit": MEMORY, "temp_directory": str(work),
        "autoinstall_known_extensions": False, "autoload_known_extensions": False})


def protected_sql(source: Path, p: Plan, quasi: list[str], k: int) -> str:
    body = f"SELECT {', '.join(p.selects)} FROM {relation(source)}"
    names = {c["id"] for c in p.columns}
    qi = [q for q in quasi if q in names]
    if k > 1 and qi:
        part = ", ".join(quote(q) for q in qi)
        cols = ", ".join(["_id", *[quote(c["id"]) for c in p.columns]])
        return (f"SELECT {cols} FROM (SELECT *, count(*) OVER (PARTITION BY {part}) AS "
                f"_group_size FROM ({body})) WHERE _group_size >= {int(k)} ORDER BY _id")
    return body + " ORDER BY _id"


def write(source: Path, target: Path, p: Plan, quasi: list[str], k: int) -> int:
    """Write the protected copy beside the version (a temporary name, then renamed: a reader
    never sees half a file); returns its row count."""
    if target.exists():
        return _rows(target)
    work = target.parent / f".protected-{uuid.uuid4().hex}"
    con = _connect(target.parent)
    try:
        con.execute(f"COPY ({protected_sql(source, p, quasi, k)}) TO {_literal(str(work))} "
                    "(FORMAT parquet, COMPRESSION zstd)")
        os.replace(work, target)
    finally:
        con.close()
        work.unlink(missing_ok=True)
    return _rows(target)


def _rows(path: Path) -> int:
    con = duckdb.connect(":memory:")
    try:
        return con.execute(
            f"SELECT count(*) FROM read_parquet({_literal(str(path))})").fetchone()[0]
    finally:
        con.close()
