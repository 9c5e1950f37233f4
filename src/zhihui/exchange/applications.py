"""Sharing applications (共享申请, Art. 46) and opening applications (开放申请, Art. 48), run on
``core.workflow``: a department applies for another's conditionally shared resource (items,
rows, purpose, legal basis, period, the system that will use it); an enterprise or citizen
applies for a conditionally opened one (purpose, intended use, security measures, the usage
agreement it accepts). The provider answers within ``ZHIHUI_WORKFLOW__SHARING_DAYS`` (or
``OPENING_DAYS``) working days, default 10: approve (all, or fewer items or rows) or refuse
with a reason; an overdue application escalates to the operator, who may decide (Art. 7).
Approval makes the grant, in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.core import audit
from zhihui.core.authz import Actor, can, require
from zhihui.core.errors import Conflict, FieldErrors, Forbidden, NotFound
from zhihui.core.workflow import service as workflow
from zhihui.core.workflow.calendar import default_calendar
from zhihui.core.workflow.models import WorkflowCase
from zhihui.core.workflow.service import Transition, applicant, deciders, define_process
from zhihui.db import new_id, utcnow
from zhihui.exchange import grants
from zhihui.exchange.models import Agreement, Application, Grant
from zhihui.exchange.service import refuse

DEFAULT_QUOTA = 1000  # calls a day of an opening grant, unless the provider sets another
KINDS = ("sharing", "opening")


def _on_approve(session: Session, actor: Actor, case: WorkflowCase, data: dict[str, Any]
                ) -> None:
    app = session.get(Application, case.subject_id)
    assert app is not None
    r = session.scalar(select(Resource).where(Resource.id == app.resource_id))
    assert r is not None
    columns = data.get("columns", app.columns)
    row_filter = data.get("row_filter", app.row_filter)
    _check_narrower(app, columns, row_filter)
    now = utcnow()
    quota = data.get("quota_per_day") or (DEFAULT_QUOTA if app.kind == "opening" else None)
    g = grants.create(
        session, actor, r, kind=app.kind,
        grantee_org_id=app.applicant_org_id if app.kind == "sharing" else None,
        grantee_user_id=app.applicant_id if app.kind == "opening" else None,
        columns=columns, row_filter=row_filter, distribution_ids=app.distribution_ids,
        purpose=app.purpose, valid_from=now, valid_until=now + timedelta(days=app.period_days),
        application_id=app.id, quota_per_day=quota)
    _close(app, actor, "approved", now, "")
    app.grant_id = g.id


def _on_refuse(session: Session, actor: Actor, case: WorkflowCase, data: dict[str, Any]
               ) -> None:
    app = session.get(Application, case.subject_id)
    assert app is not None
    _close(app, actor, "refused", utcnow(), data.get("reason", ""))


def _on_withdraw(session: Session, actor: Actor, case: WorkflowCase, data: dict[str, Any]
                 ) -> None:
    app = session.get(Application, case.subject_id)
    assert app is not None
    _close(app, actor, "withdrawn", utcnow(), "")


def _close(app: Application, actor: Actor, status: str, now: datetime, reason: str) -> None:
    app.status = status
    app.decided = now
    app.decided_by = actor.name
    app.reason = (reason or "")[:5000]
    app.answer_days = default_calendar().working_days_between(app.created, now)


def _process(name: str, days_setting: str) -> Any:
    return define_process(
        name, states=("submitted", "approved", "refused", "withdrawn"), initial="submitted",
        final=("approved", "refused", "withdrawn"),
        transitions=(
            Transition("submitted", "approve", "approved", deciders, effect=_on_approve),
            Transition("submitted", "refuse", "refused", deciders, comment_required=True,
                       effect=_on_refuse),
            Transition("submitted", "withdraw", "withdrawn", applicant, is_task=False,
                       effect=_on_withdraw),
        ),
        deadlines={"submitted": (days_setting, 10)})


SHARING = _process("exchange.sharing", "sharing_days")
OPENING = _process("exchange.opening", "opening_days")
PROCESS = {"sharing": SHARING, "opening": OPENING}


# --- usage agreements --------------------------------------------------------------------------


def current_agreement(session: Session, r: Resource) -> Agreement | None:
    return session.scalar(select(Agreement).where(Agreement.resource_id == r.id)
                          .order_by(Agreement.version.desc()).limit(1))


def publish_agreement(session: Session, actor: Actor, resource_id: str, text: str
                      ) -> Agreement:
    """A new version of the resource's usage agreement; earlier acceptances keep theirs."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "agreement.update", r)
    if not text.strip():
        errors = FieldErrors()
        errors.add("text", "field.required")
        errors.raise_if_any()
    last = session.scalar(select(func.max(Agreement.version)).where(
        Agreement.resource_id == r.id)) or 0
    a = Agreement(id=new_id(), resource_id=r.id, version=last + 1, text=text.strip(),
                  created=utcnow(), created_by=actor.name)
    session.add(a)
    session.flush()
    audit.record(session, actor, "agreement.publish", "resource", r.id, org_id=r.owner_org_id,
                 content=a.text, detail={"version": a.version})
    return a


# --- applying ----------------------------------------------------------------------------------


def submit(session: Session, actor: Actor, kind: str, body: dict[str, Any]) -> Application:
    """File an application; every refusal (no such resource, not shareable, not one's to
    apply for) is a precise 4xx with an audit entry."""
    rid = str(body.get("resource_id") or "")[:100]
    try:
        r = catalog.get_resource(session, actor, rid)
    except NotFound as exc:
        refuse(session, actor, exc, "application.create", "resource", rid or None,
               detail={"kind": kind})
    if kind == "sharing":
        if r.sharing_type == "none":
            refuse(session, actor, Forbidden("exchange.apply_not_shared", title=r.title,
                                             legal_basis=r.sharing_legal_basis or "—"),
                   "application.create", "resource", r.id, org_id=r.owner_org_id)
        if r.sharing_type == "unconditional":
            refuse(session, actor, Conflict("exchange.apply_unconditional", title=r.title),
                   "application.create", "resource", r.id, org_id=r.owner_org_id)
        if not can(actor, "application.create_sharing", r):
            refuse(session, actor, Forbidden("exchange.apply_sharing_who"),
                   "application.create", "resource", r.id, org_id=r.owner_org_id)
    else:
        if r.opening_type != "conditional":
            refuse(session, actor, Conflict("exchange.apply_not_conditional", title=r.title),
                   "application.create", "resource", r.id, org_id=r.owner_org_id)
        require(actor, "application.create_opening", r)
    errors = FieldErrors()
    for name in ("purpose",) + (("legal_basis", "using_system") if kind == "sharing"
                                else ("intended_use", "security_measures")):
        if not str(body.get(name) or "").strip():
            errors.add(name, "field.required")
    columns, row_filter = body.get("columns"), body.get("row_filter")
    grants.check_scope(errors, r, columns, row_filter, body.get("distribution_ids"))
    agreement = None
    if kind == "opening":
        agreement = current_agreement(session, r)
        if agreement is None:
            errors.add("agreement_version", "exchange.agreement_missing")
        elif body.get("agreement_version") != agreement.version:
            errors.add("agreement_version", "exchange.agreement_accept",
                       version=agreement.version)
    renews = body.get("renews_grant_id")
    if renews:
        g = session.get(Grant, renews)
        if g is None or g.resource_id != r.id or not can(actor, "grant.read", g):
            errors.add("renews_grant_id", "exchange.grant_not_found", id=str(renews)[:40])
    errors.raise_if_any()
    org_id = None
    if kind == "sharing":
        org_id = sorted(o for o in actor.memberships if o != r.owner_org_id)[0]
    now = utcnow()
    app = Application(
        id=new_id(), kind=kind, resource_id=r.id, provider_org_id=r.owner_org_id,
        applicant_id=actor.user_id, applicant_name=actor.name, applicant_org_id=org_id,
        distribution_ids=body.get("distribution_ids"), columns=columns, row_filter=row_filter,
        purpose=str(body.get("purpose")).strip(), legal_basis=str(body.get("legal_basis") or ""),
        using_system=str(body.get("using_system") or "")[:200],
        intended_use=str(body.get("intended_use") or ""),
        security_measures=str(body.get("security_measures") or ""),
        agreement_version=agreement.version if agreement else None,
        period_days=int(body.get("period_days") or 365), renews_grant_id=renews,
        status="submitted", due=now.date(), created=now, decided_by="", reason="")
    session.add(app)
    session.flush()
    label = "共享申请" if kind == "sharing" else "开放申请"
    case = workflow.open_case(
        session, actor, PROCESS[kind], ("exchange_application", app.id),
        owner_org_id=r.owner_org_id, title=f"{r.title}（{label}）",
        data={"resource": r.id, "columns": columns, "row_filter": row_filter}, now=now)
    app.workflow_id = case.id
    if case.due is not None:
        app.due = case.due.date()
    audit.record(session, actor, "application.create", "application", app.id,
                 org_id=r.owner_org_id, content=application_dict(app),
                 detail={"kind": kind, "resource": r.id, "case": case.id})
    return app


def _check_narrower(app: Application, columns: list[str] | None,
                    row_filter: dict[str, Any] | None) -> None:
    """A provider may approve fewer items or rows than asked, never more."""
    errors = FieldErrors()
    if app.columns is not None and (columns is None or not set(columns) <= set(app.columns)):
        errors.add("columns", "exchange.approve_more_items")
    for c, v in (app.row_filter or {}).items():
        asked = set(v if isinstance(v, list) else [v])
        given = (row_filter or {}).get(c)
        if given is None or not set(given if isinstance(given, list) else [given]) <= asked:
            errors.add("row_filter", "exchange.approve_more_rows", column=c)
    errors.raise_if_any()


def get(session: Session, actor: Actor, application_id: str) -> Application:
    app = session.get(Application, application_id) \
        if application_id and "\x00" not in application_id else None
    if app is None or not can(actor, "application.read", app):
        raise NotFound("exchange.application_not_found", id=str(application_id)[:100])
    return app


def decide(session: Session, actor: Actor, application_id: str, action: str, *,
           reason: str = "", columns: list[str] | None = None,
           row_filter: dict[str, Any] | None = None, quota_per_day: int | None = None,
           fields_set: set[str] | None = None) -> Application:
    """approve (optionally fewer items/rows, an opening grant's quota), refuse (a reason is
    required), or withdraw (the applicant): through the workflow, audited there."""
    app = get(session, actor, application_id)
    assert app.workflow_id is not None
    data: dict[str, Any] = {}
    if action == "approve":
        given = fields_set if fields_set is not None else {"columns", "row_filter"}
        if "columns" in given and columns is not None:
            data["columns"] = columns
        if "row_filter" in given and row_filter is not None:
            data["row_filter"] = row_filter
        if quota_per_day:
            data["quota_per_day"] = quota_per_day
        if data.get("columns") is not None or data.get("row_filter") is not None:
            r = session.scalar(select(Resource).where(Resource.id == app.resource_id))
            assert r is not None
            errors = FieldErrors()
            grants.check_scope(errors, r, data.get("columns"), data.get("row_filter"), None)
            errors.raise_if_any()
    elif action == "refuse":
        data["reason"] = reason
    workflow.act(session, actor, app.workflow_id, action, comment=reason, data=data or None)
    return app


def visible(session: Session, actor: Actor, *, role: str = "any") -> list[Application]:
    """Applications the actor filed (role ``applicant``) or must answer (``provider``)."""
    q = select(Application)
    if not (actor.sysadmin or actor.auditor):
        orgs = list(actor.memberships)
        mine = or_(Application.applicant_id == (actor.user_id or ""),
                   Application.applicant_org_id.in_(orgs))
        theirs = Application.provider_org_id.in_(orgs)
        q = q.where(mine if role == "applicant" else theirs if role == "provider"
                    else or_(mine, theirs))
    return list(session.scalars(q.order_by(Application.created.desc()).limit(500)))


def application_dict(app: Application) -> dict[str, Any]:
    return {
        "id": app.id, "kind": app.kind, "resource_id": app.resource_id,
        "provider_org_id": app.provider_org_id, "applicant": app.applicant_name,
        "applicant_org_id": app.applicant_org_id, "columns": app.columns,
        "row_filter": app.row_filter, "distribution_ids": app.distribution_ids,
        "purpose": app.purpose, "legal_basis": app.legal_basis,
        "using_system": app.using_system, "intended_use": app.intended_use,
        "security_measures": app.security_measures,
        "agreement_version": app.agreement_version, "period_days": app.period_days,
        "renews_grant_id": app.renews_grant_id, "status": app.status,
        "case_id": app.workflow_id, "due": app.due.isoformat() if app.due else None,
        "decided": app.decided.isoformat() if app.decided else None,
        "decided_by": app.decided_by, "reason": app.reason, "answer_days": app.answer_days,
        "grant_id": app.grant_id, "created": app.created.isoformat(),
    }
