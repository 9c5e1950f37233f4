"""Figures for the audit log (issue 4): appends per second (single and batched), the cost a
read adds to a request, time to verify 1,000,000 entries, proof sizes and times.

    .venv/bin/python benchmarks/audit_log.py [--entries 1000000] [--ten-million]

Runs on a fresh SQLite file in a temporary folder (or ZHIHUI_BENCH_DATABASE_URL)."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text

from zhihui.core import audit
from zhihui.core.audit import merkle, service
from zhihui.core.audit.models import AuditNode
from zhihui.core.authz import ANONYMOUS, Actor
from zhihui.db import Database, upgrade

EDITOR = Actor(user_id="u-1", name="editor", memberships={"org-1": "editor"}, token_id="t-1",
               client="10.0.0.1")


def fresh(home: Path) -> Database:
    url = os.environ.get("ZHIHUI_BENCH_DATABASE_URL") or f"sqlite:///{home / 'bench.db'}"
    if url.startswith("postgresql"):
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.engine.dispose()
    upgrade(url)
    return Database(url)


def change(i: int) -> dict:
    return {"action": "resource.changed", "target_type": "resource", "target_id": f"r-{i}",
            "org_id": "org-1", "content": {"title": f"资源 {i}", "revision": i},
            "detail": {"revision": i}}


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s ({n:,} in {seconds:.2f} s)"


def proofs(db: Database, size: int, samples: int = 200) -> None:
    rng = random.Random(4)
    with db.session() as s:
        t, lengths = [], []
        for _ in range(samples):
            i = rng.randrange(size)
            t0 = time.perf_counter()
            p = service.inclusion_proof(s, i, size)
            t.append(time.perf_counter() - t0)
            lengths.append(len(p["proof"]))
        print(f"  inclusion proof at {size:,}: {max(lengths)} hashes max "
              f"({max(lengths) * 32} bytes), p50 {statistics.median(t) * 1000:.2f} ms")
        t, lengths = [], []
        for _ in range(samples):
            first = rng.randrange(1, size)
            t0 = time.perf_counter()
            p = service.consistency_proof(s, first, size)
            t.append(time.perf_counter() - t0)
            lengths.append(len(p["proof"]))
        print(f"  consistency proof to {size:,}: {max(lengths)} hashes max "
              f"({max(lengths) * 32} bytes), p50 {statistics.median(t) * 1000:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--ten-million", action="store_true",
                    help="also build a 10^7-leaf tree (subtree hashes only) for proof figures")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        key = service.LogKey(home, "bench.example/audit")
        db = fresh(home)
        print(f"audit log benchmark on {db.engine.dialect.name}")

        n = 2000
        t0 = time.perf_counter()
        for i in range(n):
            with db.session() as s:
                audit.record(s, EDITOR, **{k: v for k, v in change(i).items()})
        print("append, one entry per transaction:", rate(n, time.perf_counter() - t0))

        per_read, tally = [], []
        with db.session() as s:
            for i in range(2000):
                t1 = time.perf_counter()
                audit.record_read(s, EDITOR, "distribution", "d-1", org_id="org-1",
                                  content={"rows": [[i, "值"]]}, rows=1, size=40)
                s.flush()
                per_read.append(time.perf_counter() - t1)
            for i in range(2000):
                t1 = time.perf_counter()
                audit.record_read(s, ANONYMOUS, "distribution", f"d-{i % 10}", rows=20,
                                  size=800)
                tally.append(time.perf_counter() - t1)
        print(f"record_read cost (in the request's transaction): signed-in "
              f"p50 {statistics.median(per_read) * 1000:.3f} ms, anonymous tally "
              f"p50 {statistics.median(tally) * 1000:.3f} ms")

        total, batch = args.entries, 10_000
        t0 = time.perf_counter()
        for start in range(0, total, batch):
            with db.session() as s:
                audit.record_many(s, EDITOR, (change(i) for i in range(start, start + batch)))
        appended = time.perf_counter() - t0
        print(f"append, batched ({batch:,} per transaction):", rate(total, appended))
        t0 = time.perf_counter()
        with db.session() as s:
            cp = service.integrate(s, key)
        integrated = time.perf_counter() - t0
        print("sequencer (leaf index, subtree hashes, checkpoint):",
              rate(cp.tree_size, integrated))
        print("append + integrate, batched:", rate(total, appended + integrated))

        t0 = time.perf_counter()
        with db.session() as s:
            report = service.verify_log(s, key)
        assert report.ok, report.problems
        print(f"verify {report.tree_size:,} entries (rebuild, compare every stored hash): "
              f"{time.perf_counter() - t0:.1f} s")
        proofs(db, cp.tree_size)

        if args.ten_million:
            size = 10_000_000
            db10 = Database(f"sqlite:///{home / 'ten.db'}")
            upgrade(db10.url)
            t0 = time.perf_counter()
            tree, rows = merkle.CompactRange(), []
            with db10.session() as s:
                for i in range(size):
                    for level, idx, h in tree.append(merkle.leaf_hash(i.to_bytes(8, "big"))):
                        rows.append({"level": level, "idx": idx, "hash": h})
                    if len(rows) >= 200_000:
                        s.execute(insert(AuditNode), rows)
                        rows.clear()
                s.execute(insert(AuditNode), rows)
                s.execute(text("INSERT INTO audit_log_state (id, origin, tree_size, updated)"
                               " VALUES (1, 'bench', :n, CURRENT_TIMESTAMP)"), {"n": size})
            print(f"built a 10^7-leaf tree of subtree hashes in {time.perf_counter() - t0:.0f} s")
            proofs(db10, size)


if __name__ == "__main__":
    main()
