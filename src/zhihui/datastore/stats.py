"""Per-column statistics and chart data for the resource page (Art. 48: open data that people
can understand at a glance), computed by DuckDB over the version as the caller may read it.

Both read through ``access.view`` and ``service._source``, like every other read path: a
de-identified copy, hidden columns and narrowed rows (privacy, grants) apply to statistics
and charts exactly as to search and downloads, and each read is in the audit log (Art. 50)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from zhihui.core.authz import Actor
from zhihui.core.errors import BadRequest
from zhihui.datastore import access, query, service
from zhihui.datastore.infer import quote

TOP_VALUES = 5
EXACT_DISTINCT_ROWS = 2_000_000  # above this, distinct counts are HyperLogLog estimates
MAX_TOP_COLUMNS = 60  # top values are one GROUP BY each: the first this many text columns
NUMBERS = ("integer", "decimal")
DATES = ("date", "datetime")
BINS = 20
DAY_SPAN = 92  # up to three months: counts per day; up to twenty years: per month
MONTH_SPAN = 20 * 366


def _value(v: Any) -> Any:
    return query.json_value(v)


def column_stats(session: Session, actor: Actor, distribution_id: str, *, data_root: Path,
                 number: int | None = None) -> dict[str, Any]:
    """Type, nulls and distinct values of every column the caller may read; min, max and
    mean of numbers and dates; counts of yes/no; the most common text values."""
    view = access.view(session, actor, distribution_id, number, data_root=data_root)
    table = quote(view.table)
    con = query.connect({view.table: service._source(view)})
    try:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        exact = rows <= EXACT_DISTINCT_ROWS
        exprs: list[str] = []
        for c in view.columns:
            col = quote(c["id"])
            exprs += [f"count({col})",
                      f"count(DISTINCT {col})" if exact else f"approx_count_distinct({col})"]
            if c["type"] in NUMBERS:
                exprs += [f"min({col})", f"max({col})", f"avg({col})"]
            elif c["type"] in DATES:
                exprs += [f"min({col})", f"max({col})", f"avg(epoch({col}))"]
            elif c["type"] == "boolean":
                exprs += [f"count_if({col})", f"count_if(NOT {col})", "NULL"]
            else:
                exprs += ["NULL", "NULL", "NULL"]
        got = con.execute(f"SELECT {', '.join(exprs)} FROM {table}").fetchone() if exprs else ()
        columns = []
        texts = 0
        for i, c in enumerate(view.columns):
            non_null, distinct, a, b, mean = got[5 * i: 5 * i + 5]
            out: dict[str, Any] = {"id": c["id"], "type": c["type"], "nulls": rows - non_null,
                                   "distinct": min(distinct, non_null),
                                   "distinct_approx": not exact}
            if c["type"] in NUMBERS:
                out.update(min=_value(a), max=_value(b),
                           mean=None if mean is None else round(float(mean), 4))
            elif c["type"] in DATES:
                out.update(min=_value(a), max=_value(b), mean=_mean_time(c["type"], mean))
            elif c["type"] == "boolean":
                out.update(true=a, false=b)
            elif texts < MAX_TOP_COLUMNS:
                texts += 1
                col = quote(c["id"])
                top = con.execute(
                    f"SELECT {col}, count(*) AS n FROM {table} WHERE {col} IS NOT NULL "
                    f"GROUP BY {col} ORDER BY n DESC, {col} LIMIT {TOP_VALUES}").fetchall()
                out["top"] = [{"value": _value(v), "count": n} for v, n in top]
            columns.append(out)
    finally:
        con.close()
    result = {"resource_id": view.table, "version": view.version.number, "rows": rows,
              "columns": columns}
    service._log_read(session, actor, view, "data.stats", rows=0, content=result)
    return result


def _mean_time(kind: str, seconds: float | None) -> str | None:
    if seconds is None or not math.isfinite(seconds):
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.date().isoformat() if kind == "date" else moment.replace(
        tzinfo=None).isoformat(timespec="seconds")


def chart(session: Session, actor: Actor, distribution_id: str, column: str, *,
          data_root: Path, number: int | None = None, bins: int = BINS) -> dict[str, Any]:
    """What the page's ECharts draws for one column: a histogram of a number column, counts
    per day, month or year of a date column."""
    view = access.view(session, actor, distribution_id, number, data_root=data_root)
    kinds = {c["id"]: c["type"] for c in view.columns}
    if column not in kinds:
        raise BadRequest("datastore.field_unknown", field=column[:100])
    kind = kinds[column]
    if kind not in NUMBERS + DATES:
        raise BadRequest("data_panel.chart_type", column=column[:100])
    bins = max(1, min(bins, 100))
    con = query.connect({view.table: service._source(view)})
    try:
        if kind in NUMBERS:
            result = _histogram(con, quote(view.table), quote(column), kind, bins)
        else:
            result = _timeline(con, quote(view.table), quote(column), kind)
    finally:
        con.close()
    result.update(resource_id=view.table, version=view.version.number, column=column,
                  type=kind)
    service._log_read(session, actor, view, "data.chart", rows=0, content=result)
    return result


def _histogram(con: Any, table: str, col: str, kind: str, bins: int) -> dict[str, Any]:
    low, high, n = con.execute(
        f"SELECT min({col}), max({col}), count({col}) FROM {table}").fetchone()
    if not n:
        return {"kind": "histogram", "labels": [], "counts": [], "values": 0}
    low, high = float(low), float(high)
    if kind == "integer":
        # whole-number bins, so that 1..5 is five bars and not 20 fractions
        width = float(max(1, math.ceil((high - low + 1) / bins)))
        bins = int((high - low) // width) + 1
    else:
        width = (high - low) / bins if high > low else 1.0
        bins = bins if high > low else 1
    got = dict(con.execute(
        f"SELECT least(CAST(floor(({col} - ?) / ?) AS BIGINT), ?) AS b, count(*) FROM {table} "
        f"WHERE {col} IS NOT NULL GROUP BY b", [low, width, bins - 1]).fetchall())
    labels = []
    for i in range(bins):
        start = low + i * width
        if kind == "integer":
            end = start + width - 1
            labels.append(f"{int(start)}" if end == start else f"{int(start)}–{int(end)}")
        else:
            labels.append(f"{_short(start)}–{_short(start + width)}")
    return {"kind": "histogram", "labels": labels,
            "counts": [int(got.get(i, 0)) for i in range(bins)], "values": int(n)}


def _short(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e6 else f"{x:.3e}"


def _timeline(con: Any, table: str, col: str, kind: str) -> dict[str, Any]:
    low, high, n = con.execute(
        f"SELECT min({col}), max({col}), count({col}) FROM {table}").fetchone()
    if not n:
        return {"kind": "timeline", "unit": "day", "labels": [], "counts": [], "values": 0}
    first = low.date() if isinstance(low, datetime) else low
    last = high.date() if isinstance(high, datetime) else high
    span = (last - first).days
    unit = "day" if span <= DAY_SPAN else "month" if span <= MONTH_SPAN else "year"
    got = {_key(k, unit): int(c) for k, c in con.execute(
        f"SELECT CAST(date_trunc('{unit}', {col}) AS DATE) AS k, count(*) FROM {table} "
        f"WHERE {col} IS NOT NULL GROUP BY k ORDER BY k").fetchall()}
    labels = _steps(first, last, unit)
    if len(labels) > 1000:  # a few absurd dates (year 1 to 9999): only the years present
        labels = sorted(got)
    return {"kind": "timeline", "unit": unit, "labels": labels,
            "counts": [got.get(label, 0) for label in labels], "values": int(n)}


def _key(d: date, unit: str) -> str:
    return d.isoformat() if unit == "day" else d.strftime("%Y-%m") if unit == "month" \
        else f"{d.year:04d}"


def _steps(first: date, last: date, unit: str) -> list[str]:
    """Every day, month or year from ``first`` to ``last``: gaps show as zero."""
    if unit == "day":
        return [date.fromordinal(o).isoformat()
                for o in range(first.toordinal(), last.toordinal() + 1)]
    if unit == "month":
        out = []
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    return [f"{y:04d}" for y in range(first.year, last.year + 1)]
