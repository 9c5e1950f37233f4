"""The one-enterprise profile (一企一档, Art. 40-41): for one unified social credit code, the
rows keyed by it in every resource whose data has a code column, each read as the viewer
through ``datastore.access.view`` (so grants, privacy and the opening rules apply and every
read is audited by the datastore's read path), and for the sources the viewer may not read,
which they are and why, with the way to apply.

Art. 41 asks departments to share credit information so that an enterprise is not asked for
the same facts twice; the profile is that join, never wider than what the viewer may read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhihui.catalog.models import Distribution, Resource
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor, can
from zhihui.core.errors import ZhihuiError
from zhihui.datastore import query
from zhihui.datastore import service as datastore
from zhihui.datastore.models import DatastoreVersion
from zhihui.exchange import grants
from zhihui.privacy.detect import is_uscc

CODE_COLUMN = "统一社会信用代码"  # the data item name of GB 32100 codes in the catalogue
CODE_KINDS = frozenset({"uscc"})  # a column classified as holding such codes
ROWS_PER_SOURCE = 50  # one enterprise has few rows per source; more are counted, not shown
NAME_COLUMNS = ("企业名称", "单位名称", "名称", "纳税人名称", "当事人名称", "主体名称")


class InvalidCode(ZhihuiError):
    """A code that is not a GB 32100 unified social credit code (422: the request is well
    formed, the value is not)."""

    status = 422
    default_key = "exchange.uscc_invalid"


def normalise(code: str) -> str:
    """Codes are printed in upper case; users paste them with spaces or in lower case."""
    return "".join(code.split()).upper()


def check(code: str) -> str:
    value = normalise(code or "")[:40]
    if not is_uscc(value):
        raise InvalidCode("exchange.uscc_invalid", code=value or "—")
    return value


@dataclass
class Source:
    """A distribution whose current version has a code column."""

    resource: Resource
    distribution: Distribution
    org: Organisation | None
    column: str


def _code_column(columns: list[dict[str, Any]]) -> str | None:
    for c in columns:
        if c.get("id") == CODE_COLUMN or c.get("kind") in CODE_KINDS \
                or c.get("detected") in CODE_KINDS:
            return str(c["id"])
    return None


def sources(session: Session) -> list[Source]:
    """Every distribution whose current version has a code column, by provider and title.

    One query for the current versions (the highest number per distribution), one for their
    resources and distributions, one for the organisations."""
    latest = (select(DatastoreVersion.distribution_id,
                     func.max(DatastoreVersion.number).label("n"))
              .group_by(DatastoreVersion.distribution_id).subquery())
    rows = session.execute(
        select(DatastoreVersion.distribution_id, DatastoreVersion.columns)
        .join(latest, (latest.c.distribution_id == DatastoreVersion.distribution_id)
              & (latest.c.n == DatastoreVersion.number))).all()
    found = {d: col for d, cols in rows if (col := _code_column(list(cols or [])))}
    if not found:
        return []
    pairs = session.execute(
        select(Distribution, Resource).join(Resource, Resource.id == Distribution.resource_id)
        .where(Distribution.id.in_(list(found)))).all()
    org_ids = {r.owner_org_id for _d, r in pairs}
    orgs = {o.id: o for o in session.scalars(
        select(Organisation).where(Organisation.id.in_(list(org_ids))))}
    out = [Source(r, d, orgs.get(r.owner_org_id), found[d.id]) for d, r in pairs
           if not r.deleted]
    out.sort(key=lambda s: (s.org.title if s.org else "", s.resource.title, s.distribution.id))
    return out


def _resource(r: Resource, org: Organisation | None) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "title": r.title, "title_en": r.title_en,
            "sharing_type": r.sharing_type, "opening_type": r.opening_type,
            "organization": {"name": org.name, "title": org.title, "title_en": org.title_en}
            if org else None}


def profile(session: Session, actor: Actor, code: str, *, data_root: Path,
            lang: str = "zh") -> dict[str, Any]:
    """The enterprise's rows from each source the viewer may read, and the sources they may
    not read with the reason (the read path's own 401/403 message) and an apply link.

    Sources the viewer may not even see in the catalogue (``resource.read``) are left out:
    naming them would disclose what the catalogue hides."""
    uscc = check(code)
    readable: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    name = ""
    for s in sources(session):
        if not can(actor, "resource.read", s.resource):
            continue
        entry = {"resource": _resource(s.resource, s.org), "distribution": s.distribution.id,
                 "distribution_name": s.distribution.name, "column": s.column}
        try:
            out = datastore.search(
                session, actor, s.distribution.id,
                query.Search(filters={s.column: uscc}, limit=ROWS_PER_SOURCE),
                data_root=data_root)
        except ZhihuiError as exc:
            refused.append({**entry, "status": exc.status, "reason_key": exc.message.key,
                            "reason": exc.render(lang),
                            "apply": _apply_link(s.resource, exc)})
            continue
        records = out.get("records") or []
        fields = [f["id"] for f in out.get("fields", []) if f["id"] != "_id"]
        if records and not name:
            name = next((str(records[0][c]) for c in NAME_COLUMNS
                         if c in records[0] and records[0][c]), "")
        readable.append({**entry, "version": out.get("version"), "total": out.get("total"),
                         "fields": fields, "records": records,
                         })
    return {"uscc": uscc, "name": name, "sources": readable, "refused": refused,
            "found": sum(1 for x in readable if x["records"])}


def _apply_link(r: Resource, exc: ZhihuiError) -> str | None:
    """Where to apply, when an application could open the source (not for 不予共享)."""
    if exc.status in (401, 403) and exc.message.key in (
            "exchange.needs_sharing_application", "exchange.needs_opening_application",
            "exchange.grant_expired", "exchange.grant_revoked"):
        return grants.apply_link(r)
    return None
