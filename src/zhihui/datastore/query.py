"""Queries over versions' Parquet files in DuckDB: the CKAN datastore_search (filters, q, sort,
paging, distinct) built from bound parameters, and datastore_search_sql, which takes one
SELECT from the caller and therefore runs locked down: parsed first (only SELECT, no table
functions, only the resource tables named), then on a connection that can read nothing but the
named files (``allowed_paths``, ``enable_external_access=false``, configuration locked), with a
time limit and a row cap."""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from zhihui.core.errors import BadRequest, Message, ValidationFailed
from zhihui.datastore.infer import CKAN_TYPE, FALSE_WORDS, TRUE_WORDS, quote
from zhihui.datastore.storage import relation

if TYPE_CHECKING:
    from zhihui.datastore.index import Indexes

log = logging.getLogger(__name__)

LIMIT_DEFAULT = 100
LIMIT_MAX = 32000  # CKAN's ckan.datastore.search.rows_max
SQL_ROWS_MAX = 32000
SQL_SECONDS = 10.0
MEMORY = "512MB"
RANGE_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "ne": "<>"}
# functions that reach outside the tables (refused even though the connection cannot)
DENIED_FUNCTIONS = {"getenv", "current_setting", "read_text", "read_blob", "glob", "query",
                    "query_table", "sniff_csv", "parquet_metadata", "parquet_schema"}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """A Parquet file seen through a projection and a row filter (``access.View``)."""

    path: Path
    columns: list[str] | None = None  # None: every column
    where: str | None = None  # a DuckDB boolean expression written by a service


CACHED_DATABASES = 32
_databases: OrderedDict[tuple[Any, ...], duckdb.DuckDBPyConnection] = OrderedDict()
_databases_lock = threading.Lock()


def connect(tables: dict[str, Path | Source], *, threads: int = 2
            ) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that sees each file in ``tables`` as a view named by its key
    (projected and filtered as its ``Source`` says), and can open no other file, load no
    extension and change none of this.

    Opening and locking down a database costs ~10 ms, more than a filtered page of 10M rows;
    versions never change, so each set of tables keeps its configured database (the
    ``CACHED_DATABASES`` most recently used) and every caller gets its own cursor on it
    (closing the cursor leaves the database for the next)."""
    sources = {name: t if isinstance(t, Source) else Source(t) for name, t in tables.items()}
    key = (threads, tuple(sorted(
        (name, str(s.path), None if s.columns is None else tuple(s.columns), s.where)
        for name, s in sources.items())))
    with _databases_lock:
        base = _databases.get(key)
        if base is None:
            base = _open(sources, threads)
            _databases[key] = base
            if len(_databases) > CACHED_DATABASES:
                _databases.popitem(last=False)  # closed when its last cursor is
        else:
            _databases.move_to_end(key)
        return base.cursor()


def _open(sources: dict[str, Source], threads: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={
        "threads": threads, "memory_limit": MEMORY,
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
    })
    paths = ", ".join(_literal(str(s.path)) for s in sources.values())
    con.execute(f"SET allowed_paths=[{paths}]")
    con.execute("SET enable_external_access=false")
    # the footer of a 10 M-row file (600 row groups) is parsed once, not by every query
    # (measured: a filtered count 80 -> 17 ms); the files never change
    con.execute("SET parquet_metadata_cache=true")
    for name, src in sources.items():
        cols = "*" if src.columns is None else ", ".join(quote(c) for c in src.columns)
        where = f" WHERE {src.where}" if src.where else ""
        con.execute(f"CREATE VIEW {quote(name)} AS SELECT {cols} FROM "
                    f"{relation(src.path)}{where}")
    con.execute("SET lock_configuration=true")
    return con


def _invalid(name: str, key: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(key, fields={name: [Message(key, params)]}, **params)


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


# --- datastore_search ------------------------------------------------------------------------


@dataclass
class Search:
    filters: dict[str, Any] = field(default_factory=dict)
    q: str | dict[str, str] = ""
    fields: list[str] | None = None
    sort: str = ""
    limit: int = LIMIT_DEFAULT
    offset: int = 0
    include_total: bool = True
    distinct: bool = False
    records_format: str = "objects"  # objects / lists / csv / tsv


def _typed(kind: str, value: Any, column: str) -> Any:
    """A filter value (text from a URL, or JSON) as a value of the column's type."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        if kind == "integer":
            if isinstance(value, bool):
                raise ValueError
            return int(text)
        if kind == "decimal":
            return float(text)
        if kind == "boolean":
            low = text.lower()
            if low in TRUE_WORDS or low == "1":
                return True
            if low in FALSE_WORDS or low == "0":
                return False
            raise ValueError
        if kind == "date":
            t = re.sub(r"[年月/.]", "-", text).replace("日", "")
            if re.fullmatch(r"\d{8}", t):
                t = f"{t[:4]}-{t[4:6]}-{t[6:]}"
            y, m, d = (int(x) for x in t.split("-"))
            return date(y, m, d)
        if kind == "datetime":
            return datetime.fromisoformat(text.replace("/", "-"))
    except (ValueError, TypeError):
        raise _invalid("filters", "datastore.filter_value", column=column, value=text[:50],
                       type=CKAN_TYPE[kind]) from None
    return text


def _sql_value(value: Any) -> str:
    """A typed filter value as a SQL literal. Values are written into the statement, not
    bound: DuckDB pushes a literal comparison into the Parquet scan (row groups skipped by
    their statistics, dictionary filters), a bound parameter it evaluates row by row
    (measured: a filtered count 8x slower)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"'{value}'::DOUBLE"
    if isinstance(value, datetime):
        return f"TIMESTAMP {_literal(value.isoformat(sep=' '))}"
    if isinstance(value, date):
        return f"DATE {_literal(value.isoformat())}"
    return _literal(str(value))


def _where(columns: dict[str, str], s: Search) -> tuple[str, list[Any]]:
    """The WHERE clause of a search, values written as literals (``_sql_value``); the list of
    parameters stays for callers that bind some (empty here)."""
    conds: list[str] = []
    params: list[Any] = []
    if not isinstance(s.filters, dict):
        raise _invalid("filters", "datastore.filters_shape")
    for name, wanted in s.filters.items():
        if name not in columns:
            raise _invalid("filters", "datastore.field_unknown", field=str(name)[:100])
        kind, col = columns[name], quote(name)
        if isinstance(wanted, dict):
            for op, value in wanted.items():
                if op not in RANGE_OPS:
                    raise _invalid("filters", "datastore.filter_operator", operator=str(op)[:20],
                                   operators=", ".join(RANGE_OPS))
                conds.append(f"{col} {RANGE_OPS[op]} {_sql_value(_typed(kind, value, name))}")
            continue
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values:
            conds.append("false")
            continue
        typed = [_typed(kind, v, name) for v in values]
        parts = []
        present = [v for v in typed if v is not None]
        if present:
            parts.append(f"{col} IN ({', '.join(_sql_value(v) for v in present)})")
        if len(present) < len(typed):
            parts.append(f"{col} IS NULL")
        conds.append("(" + " OR ".join(parts) + ")")
    if s.q:
        texts = [n for n, k in columns.items() if k == "text"]
        if isinstance(s.q, dict):
            for name, words in s.q.items():
                if name not in columns:
                    raise _invalid("q", "datastore.field_unknown", field=str(name)[:100])
                for word in str(words).split():
                    conds.append(f"contains(CAST({quote(name)} AS VARCHAR), "
                                 f"{_sql_value(word)})")
        else:
            # every word somewhere in the row's text (substring: works for Chinese unsegmented)
            for word in str(s.q).split():
                if not texts:
                    conds.append("false")
                    break
                conds.append("(" + " OR ".join(f"contains({quote(n)}, {_sql_value(word)})"
                                               for n in texts) + ")")
    return (" WHERE " + " AND ".join(conds)) if conds else "", params


def _order(columns: dict[str, str], sort: str, fields: list[str]) -> str:
    if not sort.strip():
        return " ORDER BY _id" if "_id" in fields else ""
    parts = []
    for item in sort.split(","):
        words = item.strip().rsplit(" ", 1)
        name, direction = words[0].strip().strip('"'), "ASC"
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            direction = words[1].upper()
        elif len(words) == 2:
            name = item.strip().strip('"')
        if name not in columns:
            raise _invalid("sort", "datastore.field_unknown", field=name[:100])
        parts.append(f"{quote(name)} {direction} NULLS LAST")
    return " ORDER BY " + ", ".join(parts)


def search(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str],
           s: Search, index: Indexes | None = None) -> dict[str, Any]:
    """Run a datastore_search over one table; ``columns`` maps names (with _id) to types.
    With ``index`` (the file's row and text indexes, ``index.py``) the page and total come
    from it when it can give exactly what the scan would; else DuckDB scans."""
    fields = s.fields or list(columns)
    for name in fields:
        if name not in columns:
            raise _invalid("fields", "datastore.field_unknown", field=str(name)[:100])
    if not 0 <= s.limit <= LIMIT_MAX:
        raise _invalid("limit", "field.range", min=0, max=LIMIT_MAX)
    if s.offset < 0:
        raise _invalid("offset", "field.range", min=0, max=2**62)
    where, params = _where(columns, s)  # checks the search whichever way it is answered
    select = ", ".join(quote(f) for f in fields)
    distinct = "DISTINCT " if s.distinct else ""
    base = f"SELECT {distinct}{select} FROM {quote(table)}{where}"
    answered = None
    if index is not None:
        from zhihui.datastore import index as indexes

        try:
            answered = indexes.answer(index, columns, s, fields)
        except (sqlite3.Error, ValueError, KeyError):  # a damaged index: the scan still answers
            log.exception("index of %s not usable; scanning", table)
            answered = None
    if answered is not None:
        rows = answered[0]
    elif s.distinct or "_id" not in columns:
        order = _order(columns, s.sort, fields) if not s.distinct or s.sort else ""
        rows = con.execute(f"{base}{order} LIMIT {s.limit} OFFSET {s.offset}",
                           params).fetchall()
    else:
        rows = _page(con, table, select, where, params, _order(columns, s.sort, ["_id"]), s)
    out: dict[str, Any] = {
        "fields": [{"id": f, "type": CKAN_TYPE[columns[f]]} for f in fields],
        "limit": s.limit, "offset": s.offset,
        "answered_by": "scan" if answered is None else "index",
    }
    if answered is not None and s.include_total:
        out["total"] = answered[1]
        out["total_was_estimated"] = False
    elif s.include_total:
        counted = f"({base})" if s.distinct else f"{quote(table)}{where}"
        out["total"] = con.execute(f"SELECT count(*) FROM {counted}", params).fetchone()[0]
        out["total_was_estimated"] = False
    values = [[json_value(v) for v in row] for row in rows]
    if s.records_format == "objects":
        out["records"] = [dict(zip(fields, row, strict=True)) for row in values]
    elif s.records_format == "lists":
        out["records"] = values
    elif s.records_format in ("csv", "tsv"):
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="," if s.records_format == "csv" else "\t",
                            lineterminator="\n")
        writer.writerows([[neutral(v) for v in row] for row in values])
        out["records"] = buf.getvalue()
    else:
        raise _invalid("records_format", "field.choice", choices="objects, lists, csv, tsv")
    out["records_format"] = s.records_format
    return out


def _page(con: duckdb.DuckDBPyConnection, table: str, select: str, where: str,
          params: list[Any], order: str, s: Search) -> list[tuple[Any, ...]]:
    """A page in two steps (late materialisation): the ``_id`` of its rows first, reading
    only the filtered and sorted columns; then the rows themselves, from the row groups that
    hold those ids (``_id`` grows with the file, so the range skips the others by their
    statistics). Reading every column of every matching row group for 100 rows cost ~5x.
    The rows are picked by a semi-join: ``_id IN (…)`` kept DuckDB from pruning by the range
    where ``_id`` is the row's position (storage.relation; 45 ms against 4 ms on 1 M rows)."""
    if order != " ORDER BY _id":
        order += ", _id"  # ties in a stable order, so that pages do not overlap
    ids = [r[0] for r in con.execute(
        f"SELECT _id FROM {quote(table)}{where}{order} LIMIT {s.limit} OFFSET {s.offset}",
        params).fetchall()]
    if not ids:
        return []
    t = quote(table)
    found = con.execute(
        f"SELECT {t}._id AS \"__page_id\", {select} FROM {t} SEMI JOIN (SELECT unnest(["
        f"{', '.join(str(int(i)) for i in ids)}]) AS \"__page_id\") AS page ON "
        f"{t}._id = page.\"__page_id\" WHERE {t}._id BETWEEN {min(ids)} AND {max(ids)}"
    ).fetchall()
    by_id = {row[0]: row[1:] for row in found}
    return [by_id[i] for i in ids if i in by_id]


# --- datastore_search_sql --------------------------------------------------------------------


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def tables_of(sql: str) -> list[str]:
    """The tables one read-only SELECT names; anything else is refused (400)."""
    if not sql.strip():
        raise _invalid("sql", "ckan.missing")
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    except duckdb.Error:
        raise BadRequest("datastore.sql_invalid", detail="") from None
    finally:
        con.close()
    if tree.get("error"):
        message = str(tree.get("error_message", ""))
        if "Only SELECT" in message:
            raise BadRequest("datastore.sql_select_only")
        raise BadRequest("datastore.sql_invalid", detail=message[:300])
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise BadRequest("datastore.sql_one_statement")
    ctes: set[str] = set()
    tables: list[str] = []
    for node in _walk(statements[0]):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    ctes.add(entry["key"])
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            raise BadRequest("datastore.sql_table_function")
        if node.get("class") == "FUNCTION" and str(node.get("function_name", "")).lower() in \
                DENIED_FUNCTIONS:
            raise BadRequest("datastore.sql_function", function=node["function_name"])
        if kind == "BASE_TABLE":
            if node.get("schema_name") or node.get("catalog_name"):
                raise BadRequest("datastore.sql_table", table=str(node.get("table_name"))[:100])
            tables.append(str(node.get("table_name")))
    return [t for t in dict.fromkeys(tables) if t not in ctes]


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, *, rows_max: int = SQL_ROWS_MAX,
            seconds: float = SQL_SECONDS) -> dict[str, Any]:
    """Run the checked SELECT with a deadline (the connection is interrupted) and a row cap."""
    timer = threading.Timer(seconds, con.interrupt)
    timer.start()
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description or []]
        types = [str(d[1]) for d in cursor.description or []]
        rows = cursor.fetchmany(rows_max + 1)
    except duckdb.InterruptException:
        raise BadRequest("datastore.sql_timeout", seconds=int(seconds)) from None
    except duckdb.PermissionException:
        raise BadRequest("datastore.sql_forbidden") from None
    except duckdb.Error as exc:
        raise BadRequest("datastore.sql_invalid", detail=str(exc).splitlines()[0][:300]) from None
    finally:
        timer.cancel()
    out: dict[str, Any] = {
        "fields": [{"id": n, "type": _ckan_type(t)} for n, t in zip(names, types, strict=True)],
        "records": [dict(zip(names, [json_value(v) for v in row], strict=True))
                    for row in rows[:rows_max]],
    }
    if len(rows) > rows_max:
        out["records_truncated"] = True
    return out


def _ckan_type(duck: str) -> str:
    duck = duck.upper()
    if duck in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "int"
    if duck in ("DOUBLE", "FLOAT") or duck.startswith("DECIMAL"):
        return "numeric"
    if duck == "BOOLEAN":
        return "bool"
    if duck == "DATE":
        return "date"
    if duck.startswith("TIMESTAMP"):
        return "timestamp"
    return "text"


# --- downloads ---------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe (OWASP
    CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def batches(con: duckdb.DuckDBPyConnection, sql: str, size: int = 10_000
            ) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in batches, so that a download is never built whole in memory."""
    reader = con.sql(sql).to_arrow_reader(size)
    for batch in reader:
        columns = [c.to_pylist() for c in batch.columns]
        yield list(zip(*columns, strict=True))
