"""Grants (授权, Art. 46): who outside the owning organisation reads what of a resource's data.

The decision for one read, ``decide``, is a pure function of the grants in the database at
that moment: nothing is cached, so a revocation takes effect on the next request.

Readers other than the owning organisation and the operator:
- a government member: sharing ``unconditional``: an automatic grant, made on first use
  (counted, audited); ``conditional``: a live grant to their org (or to them), else 403 saying
  how to apply; ``none``: 403 with the legal basis;
- anyone else: opening ``unconditional``: open data (Art. 48), nothing to check;
  ``conditional``: a live opening grant to them (API key, daily quota); anonymous: 401, sign in
  and apply.

A grant narrows the view to its approved data items (columns), rows (a filter of
``column = value`` / ``column in [values]``) and distributions; an opening grant's API key
reads no other resource's data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from zhihui.catalog.models import Resource
from zhihui.core import audit
from zhihui.core.accounts.models import ApiToken, User
from zhihui.core.authz import SYSTEM, Actor, require
from zhihui.core.errors import (
    FieldErrors,
    Forbidden,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
    ZhihuiError,
)
from zhihui.datastore import infer, query
from zhihui.db import new_id, utcnow
from zhihui.exchange.models import Grant, GrantUsage
from zhihui.exchange.service import insert_ignoring_conflict, refuse

MAX_FILTER_VALUES = 1000
EXPIRING_DAYS = 30  # grants ending within this many days are listed as "nearing expiry"


def is_live(g: Grant, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (g.revoked is None and g.valid_from <= now
            and (g.valid_until is None or g.valid_until > now))


def _applies_to(g: Grant, distribution_id: str | None) -> bool:
    return distribution_id is None or g.distribution_ids is None \
        or distribution_id in g.distribution_ids


def _width(g: Grant) -> tuple[int, int, int]:
    """Sort key: the widest grant first (every item, every row, every distribution)."""
    return (g.columns is not None, g.row_filter is not None, g.distribution_ids is not None)


def apply_link(r: Resource) -> str:
    return f"/exchange/apply/{r.name}"


@dataclass
class Decision:
    """What one read may see: ``grant`` narrows it (None with ``open_data``: the whole
    version, as the public reads it); ``error`` refuses it; ``make_automatic`` asks for the
    automatic grant of unconditional sharing to be made for ``org_id``."""

    grant: Grant | None = None
    open_data: bool = False
    error: ZhihuiError | None = None
    make_automatic: bool = False
    org_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.error is None


def owns(actor: Actor, r: Resource) -> bool:
    return actor.sysadmin or actor.capacity(r.owner_org_id) is not None


def _candidates(session: Session, actor: Actor, resource_ids: list[str]) -> list[Grant]:
    """Every grant (live or not) of these resources to the actor's orgs or to the actor, and
    the grant whose API key the actor is using (whatever its resource). One query."""
    holders = []
    if actor.memberships:
        holders.append(Grant.grantee_org_id.in_(list(actor.memberships)))
    if actor.user_id:
        holders.append(Grant.grantee_user_id == actor.user_id)
    conds = []
    if holders and resource_ids:
        conds.append(Grant.resource_id.in_(resource_ids) & or_(*holders))
    if actor.token_id:
        conds.append(Grant.token_id == actor.token_id)
    if not conds:
        return []
    return list(session.scalars(select(Grant).where(or_(*conds))))


def decide(session: Session, actor: Actor, r: Resource, distribution_id: str | None = None,
           now: datetime | None = None, candidates: list[Grant] | None = None) -> Decision:
    """The rule of the table above, without side effects (see ``narrow`` for those).
    ``candidates``: the actor's grants already read for several resources at once
    (``readable``); else they are read here."""
    if owns(actor, r):
        return Decision(open_data=True)
    now = now or utcnow()
    grants = _candidates(session, actor, [r.id]) if candidates is None else candidates
    key = next((g for g in grants if actor.token_id and g.token_id == actor.token_id), None)
    if key is not None:
        # an opening grant's API key is limited to its resource
        if key.resource_id != r.id:
            return Decision(error=Forbidden("exchange.key_other_resource"))
        if not is_live(key, now):
            return Decision(error=_dead(key, now))
        return Decision(grant=key)
    mine = [g for g in grants if g.resource_id == r.id and _applies_to(g, distribution_id)]
    live = sorted((g for g in mine if is_live(g, now)), key=_width)
    if actor.is_government:
        if r.sharing_type == "none":
            if r.opening_type == "unconditional":
                return Decision(open_data=True)
            return Decision(error=Forbidden("exchange.not_shared", title=r.title,
                                            legal_basis=r.sharing_legal_basis or "—"))
        if r.sharing_type == "unconditional":
            org_id = sorted(actor.memberships)[0] if actor.memberships else None
            auto = [g for g in mine if g.kind == "automatic" and g.grantee_org_id == org_id]
            if live:
                return Decision(grant=live[0])
            if auto and auto[0].revoked is not None:
                return Decision(error=_dead(auto[0], now))
            if org_id is None:  # the operator is handled by owns(); never reached
                return Decision(open_data=True)
            return Decision(make_automatic=True, org_id=org_id)
        if live:
            return Decision(grant=live[0])
        if r.opening_type == "unconditional":
            return Decision(open_data=True)
        if mine:
            return Decision(error=_dead(max(mine, key=lambda g: g.created), now))
        return Decision(error=Forbidden("exchange.needs_sharing_application", title=r.title,
                                        conditions=r.sharing_conditions or "—",
                                        url=apply_link(r)))
    if r.opening_type == "unconditional":
        return Decision(open_data=True)
    if r.opening_type == "conditional":
        if live:
            return Decision(grant=live[0])
        if mine:
            return Decision(error=_dead(max(mine, key=lambda g: g.created), now))
        cls = NotAuthenticated if actor.is_anonymous else Forbidden
        return Decision(error=cls("exchange.needs_opening_application", title=r.title,
                                  conditions=r.opening_conditions or "—", url=apply_link(r)))
    # opening none: resource.read already hides it from the public
    return Decision(error=NotFound("error.resource_not_found", id=r.id))


def _dead(g: Grant, now: datetime) -> ZhihuiError:
    if g.revoked is not None:
        return Forbidden("exchange.grant_revoked", id=g.id,
                         when=g.revoked.strftime("%Y-%m-%d %H:%M UTC"),
                         reason=g.revoked_reason or "—")
    if g.valid_from > now:
        return Forbidden("exchange.grant_not_yet", id=g.id,
                         when=g.valid_from.strftime("%Y-%m-%d"))
    assert g.valid_until is not None
    return Forbidden("exchange.grant_expired", id=g.id,
                     when=g.valid_until.strftime("%Y-%m-%d"))


def may_read(session: Session, actor: Actor, r: Resource) -> bool:
    """Whether ``actor`` may read some of ``r``'s data now (the automatic grant of
    unconditional sharing counts as given). For lists: the changes feed, subscriptions."""
    d = decide(session, actor, r)
    return d.allowed


def readable(session: Session, actor: Actor, resources: Iterable[Resource]) -> set[str]:
    """The ids of ``resources`` whose data ``actor`` may read now (``may_read`` for many):
    the actor's grants for all of them are read in one query, then one decision each."""
    rs = list(resources)
    others = [r.id for r in rs if not owns(actor, r)]
    held = _candidates(session, actor, others) if others else []
    now = utcnow()
    return {r.id for r in rs if decide(session, actor, r, now=now, candidates=held).allowed}


# --- narrowing one read ------------------------------------------------------------------------


def narrow(session: Session, actor: Actor, view: Any) -> Any:
    """The view ``actor`` may read through their grant (``access.narrower``): refusals are
    audited and raised; the automatic grant is made on first use; a quota is counted."""
    r = view.resource
    d = decide(session, actor, r, view.distribution.id)
    if d.error is not None:
        refuse(session, actor, d.error, "data.refused", "distribution", view.distribution.id,
               org_id=r.owner_org_id, detail={"resource": r.id})
    if d.make_automatic:
        assert d.org_id is not None
        d.grant = automatic_grant(session, actor, r, d.org_id)
    if d.grant is None:
        return view
    g = d.grant
    if g.quota_per_day is not None:
        _count_call(session, actor, g, view.distribution.id)
    return apply(view, g)


def apply(view: Any, g: Grant) -> Any:
    """The view narrowed to the grant's data items and rows; the audit entry names it."""
    columns = view.columns
    if g.columns is not None:
        allowed = set(g.columns)
        columns = [c for c in view.columns if c["id"] in allowed]
    where = view.where
    if g.row_filter:
        types = {c["id"]: c["type"] for c in view.version.columns}
        missing = [c for c in g.row_filter if c not in types]
        if missing:
            raise Forbidden("exchange.grant_filter_column", id=g.id, column=missing[0][:100])
        clause = row_filter_sql(g.row_filter, types)
        where = f"({where}) AND ({clause})" if where else clause
    return view.narrowed(columns=columns, where=where, notes={**view.notes, "grant": g.id})


def row_filter_sql(row_filter: dict[str, Any], types: dict[str, str]) -> str:
    """``{"区县": ["西湖区", "上城区"], "年份": 2024}`` as a DuckDB expression: identifiers
    quoted, values as quoted literals cast to the column's type. Never user SQL."""
    parts = []
    for column, value in sorted(row_filter.items()):
        values = value if isinstance(value, list) else [value]
        kind = types.get(column, "text")
        if kind == "text":
            literals = [query._literal(str(v)) for v in values]
        else:
            literals = [f"TRY_CAST({query._literal(str(v))} AS {infer.DUCKDB_TYPE[kind]})"
                        for v in values]
        parts.append(f"{infer.quote(column)} IN ({', '.join(literals) or 'NULL'})")
    return " AND ".join(parts) or "TRUE"


def _count_call(session: Session, actor: Actor, g: Grant, distribution_id: str) -> None:
    """One call against the grant's daily quota; over it: 429 and an audit entry."""
    day = utcnow().date()
    insert_ignoring_conflict(session, GrantUsage.__table__,
                             {"grant_id": g.id, "day": day, "calls": 0, "refused": 0},
                             ["grant_id", "day"])
    counted = session.execute(
        update(GrantUsage).where(GrantUsage.grant_id == g.id, GrantUsage.day == day,
                                 GrantUsage.calls < g.quota_per_day)
        .values(calls=GrantUsage.calls + 1)).rowcount
    if not counted:
        session.execute(update(GrantUsage).where(GrantUsage.grant_id == g.id,
                                                 GrantUsage.day == day)
                        .values(refused=GrantUsage.refused + 1))
        refuse(session, actor, TooManyRequests("exchange.quota_exceeded",
                                               quota=g.quota_per_day),
               "data.refused", "distribution", distribution_id, org_id=g.provider_org_id,
               detail={"resource": g.resource_id, "grant": g.id, "quota": g.quota_per_day})


def automatic_grant(session: Session, actor: Actor, r: Resource, org_id: str) -> Grant:
    """The grant of unconditional sharing to ``org_id``, made once (race-safe)."""
    key = f"{r.id}:{org_id}"
    gid = new_id()
    made = insert_ignoring_conflict(session, Grant.__table__, {
        "id": gid, "kind": "automatic", "resource_id": r.id, "provider_org_id": r.owner_org_id,
        "grantee_org_id": org_id, "purpose": "无条件共享 unconditional sharing",
        "valid_from": utcnow(), "auto_key": key, "created": utcnow(),
        "created_by": actor.name, "revoked_reason": ""}, ["auto_key"])
    g = session.scalar(select(Grant).where(Grant.auto_key == key))
    assert g is not None
    if made:
        audit.record(session, actor, "grant.create", "grant", g.id, org_id=r.owner_org_id,
                     content=grant_dict(g),
                     detail={"kind": "automatic", "resource": r.id, "grantee_org": org_id})
    return g


# --- managing grants ---------------------------------------------------------------------------


def grant_dict(g: Grant, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "id": g.id, "kind": g.kind, "resource_id": g.resource_id,
        "provider_org_id": g.provider_org_id, "grantee_org_id": g.grantee_org_id,
        "grantee_user_id": g.grantee_user_id, "distribution_ids": g.distribution_ids,
        "columns": g.columns, "row_filter": g.row_filter, "purpose": g.purpose,
        "valid_from": g.valid_from.isoformat(),
        "valid_until": g.valid_until.isoformat() if g.valid_until else None,
        "revoked": g.revoked.isoformat() if g.revoked else None,
        "revoked_by": g.revoked_by, "revoked_reason": g.revoked_reason,
        "application_id": g.application_id, "quota_per_day": g.quota_per_day,
        "has_key": g.token_id is not None, "live": is_live(g, now),
        "created": g.created.isoformat() if g.created else None,
    }


# Data item types (catalog.vocab.DATA_TYPES) whose filter values must read as a number or date
NUMBER_TYPES = frozenset({"I", "N", "Y", "B", "F"})
DATE_TYPES = frozenset({"D"})
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_FILTER_LINE = re.compile(r"[;；\n]")
_FILTER_VALUES = re.compile(r"[,，、]")


def check_scope(errors: FieldErrors, r: Resource, columns: list[str] | None,
                row_filter: dict[str, Any] | None, distribution_ids: list[str] | None,
                prefix: str = "") -> None:
    """Approved items must be the resource's data items; filter values plain scalars of the
    item's type (a number for numeric items, YYYY-MM-DD for dates)."""
    items = {i.get("name"): i for i in r.data_items or []}
    for c in columns or []:
        if c not in items:
            errors.add(f"{prefix}columns", "exchange.unknown_item", item=str(c)[:100])
    if columns is not None and not columns:
        errors.add(f"{prefix}columns", "field.required")
    for c, v in (row_filter or {}).items():
        if c not in items:
            errors.add(f"{prefix}row_filter", "exchange.unknown_item", item=str(c)[:100])
        values = v if isinstance(v, list) else [v]
        if not values or len(values) > MAX_FILTER_VALUES or not all(
                isinstance(x, str | int | float) and not isinstance(x, bool)
                and "\x00" not in str(x) for x in values):
            errors.add(f"{prefix}row_filter", "exchange.filter_values",
                       max=MAX_FILTER_VALUES)
            continue
        kind = (items.get(c) or {}).get("type")
        for x in values:
            text = str(x).strip()
            if kind in NUMBER_TYPES and not _NUMBER.fullmatch(text):
                errors.add(f"{prefix}row_filter", "exchange.filter_value_number",
                           column=str(c)[:100], value=text[:100])
            elif kind in DATE_TYPES and not _is_date(text):
                errors.add(f"{prefix}row_filter", "exchange.filter_value_date",
                           column=str(c)[:100], value=text[:100])
    known = {d.id for d in r.distributions}
    for d in distribution_ids or []:
        if d not in known:
            errors.add(f"{prefix}distribution_ids", "error.distribution_not_found",
                       id=str(d)[:100])


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def parse_row_filter(text: str, field: str = "row_filter") -> dict[str, list[str]] | None:
    """A row filter as a provider types it on the decision page: one condition a line (or
    separated by ；), each ``信息项 = 值`` or ``信息项 = 值1, 值2`` (, ， or 、 between values;
    ＝ also accepted). Empty: None (every row). Malformed: field errors in the user's
    language; the items and values are checked against the resource by ``check_scope``."""
    out: dict[str, list[str]] = {}
    errors = FieldErrors()
    for line in _FILTER_LINE.split((text or "").replace("＝", "=")):
        line = line.strip()
        if not line:
            continue
        column, sep, rest = line.partition("=")
        column = column.strip()
        values = [v.strip() for v in _FILTER_VALUES.split(rest) if v.strip()]
        if not sep or not column or not values:
            errors.add(field, "exchange.row_filter_syntax", line=line[:100])
            continue
        if column in out:
            errors.add(field, "exchange.row_filter_repeated", item=column[:100])
            continue
        out[column] = values
    errors.raise_if_any()
    return out or None


def create(session: Session, actor: Actor, r: Resource, *, kind: str,
           grantee_org_id: str | None = None, grantee_user_id: str | None = None,
           columns: list[str] | None = None, row_filter: dict[str, Any] | None = None,
           distribution_ids: list[str] | None = None, purpose: str = "",
           valid_from: datetime | None = None, valid_until: datetime | None = None,
           application_id: str | None = None, quota_per_day: int | None = None) -> Grant:
    """A grant, made when an application is approved (``applications.decide``)."""
    errors = FieldErrors()
    check_scope(errors, r, columns, row_filter, distribution_ids)
    errors.raise_if_any()
    g = Grant(id=new_id(), kind=kind, resource_id=r.id, provider_org_id=r.owner_org_id,
              grantee_org_id=grantee_org_id, grantee_user_id=grantee_user_id,
              columns=columns, row_filter=row_filter, distribution_ids=distribution_ids,
              purpose=purpose, valid_from=valid_from or utcnow(), valid_until=valid_until,
              application_id=application_id, quota_per_day=quota_per_day,
              created=utcnow(), created_by=actor.name, revoked_reason="")
    session.add(g)
    session.flush()
    audit.record(session, actor, "grant.create", "grant", g.id, org_id=r.owner_org_id,
                 content=grant_dict(g), detail={"kind": kind, "resource": r.id,
                                                "application": application_id})
    return g


def get(session: Session, actor: Actor, grant_id: str) -> Grant:
    g = session.get(Grant, grant_id) if grant_id and "\x00" not in grant_id else None
    if g is None:
        raise NotFound("exchange.grant_not_found", id=str(grant_id)[:100])
    require(actor, "grant.read", g)
    return g


def revoke(session: Session, actor: Actor, grant_id: str, reason: str) -> Grant:
    """Revoked at once: the next read through it is refused (nothing caches a grant)."""
    g = session.get(Grant, grant_id) if grant_id and "\x00" not in grant_id else None
    if g is None:
        refuse(session, actor, NotFound("exchange.grant_not_found", id=str(grant_id)[:100]),
               "grant.revoke", "grant", str(grant_id)[:64])
    require(actor, "grant.revoke", g)
    if not reason.strip():
        errors = FieldErrors()
        errors.add("reason", "field.required")
        errors.raise_if_any()
    if g.revoked is None:
        g.revoked = utcnow()
        g.revoked_by = actor.name
        g.revoked_reason = reason.strip()[:2000]
        if g.token_id:
            token = session.get(ApiToken, g.token_id)
            if token is not None and token.revoked is None:
                token.revoked = g.revoked
        audit.record(session, actor, "grant.revoke", "grant", g.id, org_id=g.provider_org_id,
                     detail={"reason": g.revoked_reason, "resource": g.resource_id})
    return g


def visible(session: Session, actor: Actor, *, resource_id: str | None = None,
            live_only: bool = False) -> list[Grant]:
    """Grants the actor may see: given by or to their organisations, to them; all for the
    operator."""
    q = select(Grant)
    if not actor.sysadmin:
        orgs = list(actor.memberships)
        q = q.where(or_(Grant.provider_org_id.in_(orgs), Grant.grantee_org_id.in_(orgs),
                        Grant.grantee_user_id == (actor.user_id or "")))
    if resource_id:
        q = q.where(Grant.resource_id == resource_id)
    out = list(session.scalars(q.order_by(Grant.created.desc()).limit(1000)))
    if live_only:
        now = utcnow()
        out = [g for g in out if is_live(g, now)]
    return out


def expiring(session: Session, actor: Actor, days: int = EXPIRING_DAYS) -> list[Grant]:
    """Live grants that end within ``days``: to renew by a new application."""
    now = utcnow()
    end = now + timedelta(days=days)
    return [g for g in visible(session, actor, live_only=True)
            if g.valid_until is not None and g.valid_until <= end]


def issue_key(session: Session, actor: Actor, grant_id: str) -> tuple[Grant, str]:
    """The API key of an opening grant, for its grantee: shown once; a new one replaces the
    old. It reads only this grant's resource, within its daily quota."""
    from zhihui.core.accounts import service as accounts

    g = get(session, actor, grant_id)
    if g.grantee_user_id is None or g.grantee_user_id != actor.user_id:
        raise Forbidden("exchange.key_not_yours")
    if not is_live(g):
        refuse(session, actor, _dead(g, utcnow()), "grant.key", "grant", g.id,
               org_id=g.provider_org_id)
    user = session.get(User, g.grantee_user_id)
    assert user is not None
    if g.token_id:
        old = session.get(ApiToken, g.token_id)
        if old is not None and old.revoked is None:
            old.revoked = utcnow()
    days = 3650
    if g.valid_until is not None:
        days = max(1, min(3650, (g.valid_until - utcnow()).days + 1))
    token, secret = accounts.create_token(session, SYSTEM, user=user,
                                          name=f"开放授权 grant {g.id}", days=days)
    g.token_id = token.id
    audit.record(session, actor, "grant.key", "grant", g.id, org_id=g.provider_org_id,
                 detail={"token": token.id})
    return g, secret


def usage(session: Session, grant_ids: Iterable[str]) -> dict[str, int]:
    """Calls counted today per grant (quota grants)."""
    ids = list(grant_ids)
    if not ids:
        return {}
    day = utcnow().date()
    return dict(session.execute(select(GrantUsage.grant_id, GrantUsage.calls).where(
        GrantUsage.grant_id.in_(ids), GrantUsage.day == day)).all())
