"""Column types from the text departments write: integer, decimal, boolean (是/否, Y/N,
true/false), date (2024-05-01, 2024/5/1, 2024年5月1日, 20240501), datetime, text.

Every rule is a SQL expression over a trimmed cell ``v`` so that DuckDB checks it over the
whole column at column speed. A column takes the first type (in ``PREFERENCE`` order) that
every non-empty cell of a sample satisfies; the whole column is then verified, and demoted to
the next candidate if a later cell breaks it. Codes stay text: leading zeros (postal codes),
more than 15 digits (身份证号, 统一社会信用代码), mobile numbers, and columns whose name says
they hold a code (编码, 代码, 号码, 电话 …)."""

from __future__ import annotations

import re

# What departments write for "no value" in a typed column (a text column keeps them as text).
NULL_TOKENS = ("null", "none", "na", "n/a", "-", "--", "—", "/", "无数据")

TYPES = ("integer", "decimal", "boolean", "date", "datetime", "text")
# dates first: 20240501 is a date (a code column named as one stays text, see CODE_NAME)
PREFERENCE = ("boolean", "date", "datetime", "integer", "decimal", "text")

# type -> the catalogue's data-item type code (GB/T 21063.3, catalog.vocab.ITEM_TYPES)
ITEM_TYPE = {"integer": "N", "decimal": "N", "boolean": "L", "date": "D", "datetime": "T",
             "text": "C"}
# type -> DuckDB type of the Parquet column; and the CKAN DataStore field type
DUCKDB_TYPE = {"integer": "BIGINT", "decimal": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
               "datetime": "TIMESTAMP", "text": "VARCHAR"}
CKAN_TYPE = {"integer": "int", "decimal": "numeric", "boolean": "bool", "date": "date",
             "datetime": "timestamp", "text": "text"}

TRUE_WORDS = ("是", "y", "yes", "true", "t")
FALSE_WORDS = ("否", "n", "no", "false", "f")

CODE_NAME = re.compile(
    r"编码|代码|编号|号码|电话|手机|邮编|邮政|证号|身份证|账号|卡号|工号|学号|"
    r"(^|[_\s])(id|code|no|tel|phone|mobile|zip|postcode)($|[_\s])", re.I)

_INT = r"[+-]?(0|[1-9][0-9]{0,14})"
_DEC = r"[+-]?(0|[1-9][0-9]{0,14})\.[0-9]+"
_DATE = (r"[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?"
         r"|(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])")
_TIME = r"[ T][0-9]{1,2}[:时][0-9]{1,2}([:分][0-9]{1,2}(\.[0-9]{1,6})?秒?)?分?"
_MOBILE = r"1[3-9][0-9]{9}"
DATE_FORMATS = "['%Y-%m-%d', '%Y%m%d']"
DATETIME_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S.%f']"


def quote(name: str) -> str:
    """A SQL identifier, whatever characters the name holds."""
    return '"' + name.replace('"', '""') + '"'


def cell(col: str) -> str:
    """The trimmed cell, NULL when empty or a null token."""
    c = quote(col)
    tokens = ", ".join(f"'{t}'" for t in NULL_TOKENS)
    return f"(CASE WHEN lower(trim({c})) IN ('', {tokens}) THEN NULL ELSE trim({c}) END)"


def _normalised(v: str) -> str:
    # 2024/5/1, 2024.5.1, 2024年5月1日 8时30分 -> 2024-5-1 8:30
    return (f"replace(replace(replace(replace(replace(replace(replace(replace(replace("
            f"{v}, '年', '-'), '月', '-'), '日', ''), '/', '-'), '.', '-'), 'T', ' '),"
            f" '时', ':'), '分', ':'), '秒', '')")


def _datetime_text(v: str) -> str:
    # a trailing ':' left by 8时30分 goes
    return f"rtrim({_normalised(v)}, ':')"


def _then(first: str, second: str) -> str:
    """SQL ``first AND second`` that evaluates ``second`` only where ``first`` holds: DuckDB
    evaluates both sides of AND over a whole vector, and a failing ``try_strptime`` is slow
    (~10x a regex), so the regex must filter before it (CASE evaluates per branch)."""
    return f"(CASE WHEN {first} THEN {second} ELSE false END)"


def matches(kind: str, v: str) -> str:
    """SQL: the non-null trimmed cell ``v`` is a value of ``kind``."""
    if kind == "integer":
        return f"regexp_full_match({v}, '{_INT}')"
    if kind == "decimal":
        return f"regexp_full_match({v}, '{_INT}|{_DEC}')"
    if kind == "boolean":
        words = ", ".join(f"'{w}'" for w in TRUE_WORDS + FALSE_WORDS)
        return f"lower({v}) IN ({words})"
    if kind == "date":
        # the fraction part of 2024.05.01 must not be mistaken: regex first, then a real date
        return _then(f"regexp_full_match({v}, '{_DATE}')",
                     f"try_strptime({_normalised(v)}, {DATE_FORMATS}) IS NOT NULL")
    if kind == "datetime":
        return _then(f"regexp_full_match({v}, '({_DATE}){_TIME}')",
                     f"try_strptime({_datetime_text(v)}, {DATETIME_FORMATS}) IS NOT NULL")
    return "true"


_PLAIN_DATE = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
_PLAIN_TIME = r" [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?"
_PLAIN_DATETIME_FORMATS = "['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']"


def _cases(words: tuple[str, ...]) -> str:
    """The words as SQL literals the way machines write them: as listed, upper, capitalised."""
    forms = dict.fromkeys(f for w in words for f in (w, w.upper(), w.capitalize()))
    return ", ".join(f"'{f}'" for f in forms)


def plain_value(kind: str, c: str) -> str:
    """SQL: the raw cell ``c`` (not trimmed) as a value of ``kind`` when it is written the
    plain way machines export it (12, 2.5, 2024-05-01, 2024-05-01 08:30:00, 是, TRUE), else
    NULL. Every plain cell also ``matches`` the kind and reads to the same value as ``cast``:
    the cheap check the write tries first, before the full one (trim, null tokens, Chinese
    dates) that a column needs only when one of its cells is not plain. Each cell is parsed
    once (the check is the parse): no ``lower()`` copy of each cell, and dates through
    DuckDB's own ISO parser, which reads a ``YYYY-M-D`` text as ``strptime('%Y-%m-%d')``
    does."""
    if kind == "integer":
        return f"(CASE WHEN regexp_full_match({c}, '{_INT}') THEN CAST({c} AS BIGINT) END)"
    if kind == "decimal":
        return (f"(CASE WHEN regexp_full_match({c}, '{_INT}|{_DEC}') THEN CAST({c} AS DOUBLE) "
                "END)")
    if kind == "boolean":
        return (f"(CASE WHEN {c} IN ({_cases(TRUE_WORDS)}) THEN true "
                f"WHEN {c} IN ({_cases(FALSE_WORDS)}) THEN false END)")
    if kind == "date":
        return (f"(CASE WHEN regexp_full_match({c}, '{_PLAIN_DATE}') THEN "
                f"TRY_CAST({c} AS DATE) END)")
    if kind == "datetime":
        # strptime, not CAST: CAST takes 24:00:00 as the next day, the full check does not
        return (f"(CASE WHEN regexp_full_match({c}, '{_PLAIN_DATE}{_PLAIN_TIME}') THEN "
                f"try_strptime({c}, {_PLAIN_DATETIME_FORMATS}) END)")
    return c


def plain(kind: str, c: str) -> str:
    """SQL: the raw cell ``c`` is a value of ``kind`` written the plain way (``plain_value``)."""
    return f"({plain_value(kind, c)} IS NOT NULL)"


def value(kind: str, v: str) -> str:
    """SQL: the non-null trimmed cell ``v`` as a value of ``kind`` where it ``matches`` the
    kind, else NULL (the check and the cast in one expression)."""
    if kind in ("integer", "decimal"):
        return f"(CASE WHEN {matches(kind, v)} THEN {cast(kind, v, v)} END)"
    if kind == "date":
        return f"(CASE WHEN regexp_full_match({v}, '{_DATE}') THEN {cast(kind, v, v)} END)"
    if kind == "datetime":
        return (f"(CASE WHEN regexp_full_match({v}, '({_DATE}){_TIME}') THEN "
                f"{cast(kind, v, v)} END)")
    return cast(kind, v, v)


def numeric_shape(v: str) -> str:
    """SQL: the trimmed cell ``v`` holds only characters that numbers, dates and times are
    written with (so a cell with any other character can only be text or a boolean word)."""
    return f"regexp_full_match({v}, '[-+0-9./: T年月日时分秒]+')"


def mobile(v: str) -> str:
    return f"regexp_full_match({v}, '{_MOBILE}')"


def cast(kind: str, v: str, raw: str) -> str:
    """SQL: the cell as a value of ``kind`` (NULL where it is not one)."""
    if kind == "integer":
        return f"TRY_CAST({v} AS BIGINT)"
    if kind == "decimal":
        return f"TRY_CAST({v} AS DOUBLE)"
    if kind == "boolean":
        true = ", ".join(f"'{w}'" for w in TRUE_WORDS)
        false = ", ".join(f"'{w}'" for w in FALSE_WORDS)
        return (f"(CASE WHEN lower({v}) IN ({true}) THEN true "
                f"WHEN lower({v}) IN ({false}) THEN false END)")
    if kind == "date":
        return f"CAST(try_strptime({_normalised(v)}, {DATE_FORMATS}) AS DATE)"
    if kind == "datetime":
        return f"try_strptime({_datetime_text(v)}, {DATETIME_FORMATS})"
    return raw


def candidates(name: str, counts: dict[str, int], non_null: int, mobiles: int) -> list[str]:
    """The types every sampled cell satisfies, most specific first (text always last)."""
    if non_null == 0:
        return ["text"]
    out = [k for k in PREFERENCE if k != "text" and counts.get(k, 0) == non_null]
    if CODE_NAME.search(name) or (mobiles == non_null):
        # a code is text even when it looks like a number or a date (20240501 as a 编号)
        out = [k for k in out if k == "boolean"]
    # integer before decimal: a later cell with a fraction demotes the column to decimal
    return [*out, "text"]
