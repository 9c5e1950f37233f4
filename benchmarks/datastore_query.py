"""Datastore queries (issue 3) on a large version: the generated enterprise table (the same as
``datastore_ingest.py``) ingested through the real ingest, then, through the service (as the
public, audit entries included):

- datastore_search with a filter (区县) and a page of 100 at offset 0 and at 5,000, with
  include_total (and once without it);
- datastore_search with a full-text ``q`` in Chinese (a company-name fragment);
- a GROUP BY through datastore_search_sql;

Each query runs twice in the same minutes, its rounds interleaved so that a noisy neighbour
slows both alike: answered by a DuckDB scan of the Parquet file (the index switched off, as
before the indexes existed), and answered from the row and text indexes (``datastore/index.py``,
built here after publishing if they are not there yet; their build times are printed).
p50 and p95 of ``--repeat`` runs each, then HTTP requests/s against ``zhihui serve --workers 2``
(CKAN's GET /api/3/action/datastore_search) with ``--threads`` client threads.

    .venv/bin/python benchmarks/datastore_query.py [--rows 10000000] [--data DIR] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datastore_ingest as gen  # noqa: E402 - the generator of the ingest benchmark

FILTER = {"区县": "西湖区"}
WORD = "华能文化"  # ~1 in 1,500 companies: 华能 + any word + 文化
NEXT_PAGE = f"q={WORD}, next page (offset 100), include_total remembered"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--data", default="", help="keep/reuse the generated CSV here")
    ap.add_argument("--home", default="", help="keep/reuse the ingested home here")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data or tmp)
        data.mkdir(parents=True, exist_ok=True)
        csv_path = data / f"enterprises-{args.rows}-open.csv"
        if not csv_path.exists():
            t = time.perf_counter()
            # switchboards, not mobiles: the public may read the table (no personal data)
            gen.generate(csv_path, args.rows, mobiles=False)
            print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.0f} s")
        home = Path(args.home or Path(tmp) / "home")
        fresh = not (home / "zhihui.db").exists()
        if fresh:
            home.mkdir(parents=True, exist_ok=True)
            gen.prepare_home(home)
        run(home, csv_path, fresh, args)


def run(home: Path, csv_path: Path, fresh: bool, args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from zhihui.catalog.models import Distribution
    from zhihui.core.authz import ANONYMOUS, SYSTEM
    from zhihui.datastore import index
    from zhihui.datastore import service as ds
    from zhihui.datastore.query import Search
    from zhihui.db import Database

    db = Database(f"sqlite:///{home}/zhihui.db")
    root = home / "data"
    with db.session() as s:
        dist = s.scalar(select(Distribution.id))
    if fresh:
        t = time.perf_counter()
        with db.session() as s:
            v = ds.ingest(s, SYSTEM, dist, csv_path, csv_path.name, data_root=root)
            rows = v.rows
        print(f"ingest: {rows:,} rows in {time.perf_counter() - t:.1f} s (queryable)")
    with db.session() as s:
        version = ds.get_version(s, SYSTEM, dist)
        parquet = root / version.path / "data.parquet"
    built = index.build(parquet)  # what a background build does after publishing
    print(f"row index (after publishing): {built.rows_seconds:.1f} s"
          + ("" if built.rows_seconds else " (already there)")
          + f", {index.rows_path(parquet).stat().st_size / 1e6:,.0f} MB; posting lists for "
          + (", ".join(built.indexed_columns) or "(see the index)"))
    print(f"text index (after publishing): {built.text_seconds:.1f} s"
          + ("" if built.text_seconds else " (already there)")
          + f", {index.text_path(parquet).stat().st_size / 1e6:,.0f} MB; Parquet "
          + f"{parquet.stat().st_size / 1e6:,.0f} MB")
    with db.session() as s:
        meta = ds.info(s, SYSTEM, dist, data_root=root)["meta"]
    print(f"version {meta['version']}: {meta['count']:,} rows, q_ready={meta.get('q_ready')}")
    scanning = False
    for_view = index.for_view

    def maybe_index(*a: Any) -> Any:
        return None if scanning else for_view(*a)

    ds.index.for_view = maybe_index  # type: ignore[assignment]

    def search(**kw: Any) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            with db.session() as s:
                return ds.search(s, ANONYMOUS, dist, Search(**kw), data_root=root)
        return go

    def sql(statement: str) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            with db.session() as s:
                return ds.search_sql(s, ANONYMOUS, statement, data_root=root)
        return go

    table = f'"{dist}"'
    cases = {
        "filter, page 100 at offset 0, include_total": search(filters=FILTER, limit=100),
        "filter, page 100 at offset 5,000, include_total":
            search(filters=FILTER, limit=100, offset=5000),
        "filter, page 100 at offset 0, no total":
            search(filters=FILTER, limit=100, include_total=False),
        f"q={WORD}, page 100, include_total": search(q=WORD, limit=100),
        f"q={WORD}, page 100, no total": search(q=WORD, limit=100, include_total=False),
        NEXT_PAGE: search(q=WORD, limit=100, offset=100),
        "SQL: GROUP BY 区县, count, avg(注册资本)": sql(
            f'SELECT "区县", count(*) AS n, avg("注册资本（万元）") AS capital FROM {table} '
            'GROUP BY "区县" ORDER BY n DESC'),
    }
    print(f"\n| query ({meta['count']:,} rows, in-process, {args.repeat} runs) | rows | total "
          "| scan p50 ms | p95 | index p50 ms | p95 | answered by |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, fn in cases.items():
        samples: dict[bool, list[float]] = {True: [], False: []}
        results: dict[bool, dict[str, Any]] = {}
        for scan in (True, False):  # warm both
            scanning = scan
            results[scan] = fn()
        for _ in range(args.repeat):
            for scan in (True, False):
                scanning = scan
                if label != NEXT_PAGE:
                    index.forget_totals()  # a first page: no total remembered
                t = time.perf_counter()
                results[scan] = fn()
                samples[scan].append((time.perf_counter() - t) * 1000)
        a, b = dict(results[True]), dict(results[False])
        by = b.get("meta", {}).get("answered_by", "SQL: DuckDB in both")
        a.pop("meta", None)
        b.pop("meta", None)
        if label.startswith("SQL"):  # parallel sums differ in the last digits between runs
            a, b = _rounded(a), _rounded(b)
        same = "" if a == b else " **DIFFERENT**"
        s50, s95 = percentiles(samples[True])
        i50, i95 = percentiles(samples[False])
        total = b.get("total", "")
        print(f"| {label} | {len(b['records'])} | {total} | {s50:.1f} | {s95:.1f} | {i50:.1f} | "
              f"{i95:.1f} | {by}{same} |", flush=True)
    if args.requests:
        http(home, dist, args)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def http(home: Path, dist: str, args: argparse.Namespace) -> None:
    import catalog_search as cs

    class Home:
        def __init__(self) -> None:
            self.home = home
            self.url = f"sqlite:///{home}/zhihui.db"

    base = f"/api/3/action/datastore_search?resource_id={dist}"
    paths = {
        "filter, page 100, include_total": [
            f"{base}&limit=100&filters={quote(json.dumps(FILTER, ensure_ascii=False))}"],
        f"q={WORD}, page 100": [f"{base}&limit=100&q={quote(WORD)}"],
    }
    server = cs.Server(Home(), workers=2)  # type: ignore[arg-type]
    try:
        server.wait()
        print(f"\n| HTTP, zhihui serve --workers 2, {args.threads} client threads | requests "
              "| req/s | p50 ms | p95 ms | errors |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, ps in paths.items():
            cs.drive(server.base, ps, 8, args.threads)  # warm both workers
            load = cs.drive(server.base, ps, args.requests, args.threads)
            p50, p95 = percentiles(load.latencies_ms)
            print(f"| {label} | {load.requests} | {load.rps:.0f} | {p50:.1f} | {p95:.1f} | "
                  f"{load.errors} |", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
