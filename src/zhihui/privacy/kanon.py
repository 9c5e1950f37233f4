"""k-anonymity over the quasi-identifiers an editor marks (sex, birth month, district …):
every combination of their values, as the protected copy would show them, must be shared by
at least k rows, or a person can be singled out by what is known about them from elsewhere.
The report gives k (the smallest group), how many groups there are, the sizes of the smallest
ones, and how many rows a chosen k would suppress. Group values are never shown: only sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from zhihui.datastore.infer import quote
from zhihui.datastore.storage import relation
from zhihui.privacy.deid import Plan

SMALLEST = 5


def report(source: Path, p: Plan, quasi: list[str], k: int) -> dict[str, Any]:
    """The k-anonymity of ``quasi`` in the copy that ``p`` describes (before row
    suppression), and what suppressing groups smaller than ``k`` would cost."""
    names = {c["id"] for c in p.columns}
    qi = [q for q in quasi if q in names]
    body = f"SELECT {', '.join(p.selects)} FROM {relation(source)}"
    con = duckdb.connect(":memory:", config={"memory_limit": "1GB"})
    try:
        if not qi:
            rows = con.execute(f"SELECT count(*) FROM ({body})").fetchone()[0]
            return {"quasi_identifiers": [], "rows": rows, "groups": 1 if rows else 0,
                    "k": rows, "smallest": [], "k_wanted": k, "rows_suppressed": 0}
        part = ", ".join(quote(q) for q in qi)
        groups = f"SELECT count(*) AS n FROM ({body}) GROUP BY {part}"
        rows, count, smallest_k, suppressed = con.execute(
            f"SELECT coalesce(sum(n), 0), count(*), min(n), "
            f"coalesce(sum(n) FILTER (WHERE n < ?), 0) FROM ({groups})", [k]).fetchone()
        smallest = con.execute(
            f"SELECT n, count(*) FROM ({groups}) GROUP BY n ORDER BY n LIMIT {SMALLEST}"
        ).fetchall()
    finally:
        con.close()
    return {"quasi_identifiers": qi, "rows": int(rows), "groups": int(count),
            "k": int(smallest_k or 0),
            "smallest": [{"size": int(n), "groups": int(g)} for n, g in smallest],
            "k_wanted": k, "rows_suppressed": int(suppressed)}
