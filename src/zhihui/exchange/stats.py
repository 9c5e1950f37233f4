"""Exchange statistics (Art. 46): per resource and organisation, applications, approvals,
refusals, the median answer time in working days, live grants, and the calls and rows served
through grants (from the audit log's read entries, which name the grant they went through).
Aggregates are public; each organisation sees its own detail (``exchange.stats_org``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog.models import Resource
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import Actor, require
from zhihui.db import utcnow
from zhihui.exchange.grants import is_live
from zhihui.exchange.models import Application, Grant


def _blank() -> dict[str, Any]:
    return {"applications": 0, "approved": 0, "refused": 0, "pending": 0,
            "median_answer_days": None, "grants_live": 0, "calls": 0, "rows": 0,
            "_days": []}


def compute(session: Session, *, org_id: str | None = None) -> dict[str, dict[str, Any]]:
    """Figures per provider organisation and per resource (keys ``org:<id>``, ``<resource
    id>``), optionally for one provider only."""
    out: dict[str, dict[str, Any]] = defaultdict(_blank)
    q = select(Application)
    if org_id:
        q = q.where(Application.provider_org_id == org_id)
    for a in session.scalars(q):
        for key in (f"org:{a.provider_org_id}", a.resource_id):
            row = out[key]
            row["applications"] += 1
            if a.status in ("approved", "refused"):
                row[a.status] += 1
                if a.answer_days is not None:
                    row["_days"].append(a.answer_days)
            elif a.status == "submitted":
                row["pending"] += 1
    now = utcnow()
    gq = select(Grant)
    if org_id:
        gq = gq.where(Grant.provider_org_id == org_id)
    owners = {}
    for g in session.scalars(gq):
        owners[g.id] = g
        if is_live(g, now):
            out[f"org:{g.provider_org_id}"]["grants_live"] += 1
            out[g.resource_id]["grants_live"] += 1
    eq = select(AuditEntry.detail, AuditEntry.org_id).where(AuditEntry.action.like("data.%"),
                                                           AuditEntry.action != "data.refused")
    if org_id:
        eq = eq.where(AuditEntry.org_id == org_id)
    for detail, _org in session.execute(eq):
        gid = ((detail or {}).get("through") or {}).get("grant")
        g = owners.get(gid) if gid else None
        if g is None:
            continue
        for key in (f"org:{g.provider_org_id}", g.resource_id):
            out[key]["calls"] += int(detail.get("count", 1))
            out[key]["rows"] += int(detail.get("rows") or 0)
    for row in out.values():
        days = row.pop("_days")
        row["median_answer_days"] = statistics.median(days) if days else None
    return dict(out)


def public(session: Session) -> dict[str, Any]:
    """The portal's aggregates: per provider organisation and the city's total."""
    per = compute(session)
    orgs = {k[4:]: v for k, v in per.items() if k.startswith("org:")}
    total = _blank()
    days: list[float] = []
    for v in orgs.values():
        for k in ("applications", "approved", "refused", "pending", "grants_live", "calls",
                  "rows"):
            total[k] += v[k]
        if v["median_answer_days"] is not None:
            days.append(v["median_answer_days"])
    total.pop("_days")
    total["median_answer_days"] = statistics.median(days) if days else None
    return {"total": total, "organisations": orgs}


def for_org(session: Session, actor: Actor, org: Any) -> dict[str, Any]:
    """One organisation's own detail: its figures and each of its resources'."""
    require(actor, "exchange.stats_org", org)
    per = compute(session, org_id=org.id)
    titles = dict(session.execute(select(Resource.id, Resource.title).where(
        Resource.owner_org_id == org.id)).all())
    empty = {k: v for k, v in _blank().items() if k != "_days"}
    return {"organisation": per.get(f"org:{org.id}", empty),
            "resources": [{"resource_id": rid, "title": titles.get(rid, ""), **v}
                          for rid, v in per.items() if not rid.startswith("org:")]}
