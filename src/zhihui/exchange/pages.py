"""Exchange pages in zh/en (Art. 41, 46, 48): apply for a resource (/exchange/apply/<name>),
my applications and grants (/exchange/my), one application with the provider's decision
(/exchange/applications/<id>), the exchange panel of a resource page (apply button or why
not, subscription, feedback; /dataset/<id>/exchange, loaded by htmx), a subscription's
delivery log, the statistics (/exchange/stats, /exchange/stats/<org>) and the one-enterprise
profile (/enterprise/<uscc>). Every rule is the services'; a refusal is shown in the page's
language with its 4xx status, and what was typed is kept."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor, can
from zhihui.core.errors import NotAuthenticated, ZhihuiError
from zhihui.core.i18n import translate
from zhihui.exchange import applications, feedback, grants, profile, stats, subscriptions
from zhihui.exchange.models import Application, Grant
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render

router = APIRouter(include_in_schema=False)
TEXT = 5000


# the forms' field names as their labels say them
FIELD_LABELS = {"columns": "exchange.ui.items", "row_filter": "exchange.ui.row_scope",
                "purpose": "exchange.ui.purpose", "reason": "exchange.ui.reason"}


def _messages(exc: ZhihuiError, lang: str) -> list[str]:
    def label(field: str) -> str:
        return translate(FIELD_LABELS[field], lang) if field in FIELD_LABELS else field

    return [exc.render(lang)] + [f"{label(k)}: {m}" for k, ms in exc.render_fields(lang).items()
                                 for m in ms]


def _signed_in(actor: Actor) -> None:
    """Posts need an account: 401 in the page's language (forms link to the login)."""
    if actor.is_anonymous:
        raise NotAuthenticated()


def _orgs(session: Session, ids: set[str | None]) -> dict[str, Organisation]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_(wanted)))}


def _resources(session: Session, ids: set[str]) -> dict[str, Resource]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(ids)))}


# --- what a viewer may do with a resource -----------------------------------------------------


def apply_kind(session: Session, actor: Actor, r: Resource) -> tuple[str | None, str | None]:
    """The application this viewer could file (``sharing`` / ``opening``), or None and the
    message key of why not (None: nothing to say, e.g. the owner or open data)."""
    if grants.owns(actor, r):
        return None, None
    if actor.is_government:
        if r.sharing_type == "none":
            return None, "exchange.ui.why_not_shared"
        if r.sharing_type == "unconditional":
            return None, "exchange.ui.why_unconditional"
        return "sharing", None
    if r.opening_type == "conditional":
        return "opening", None if not actor.is_anonymous else "exchange.ui.why_sign_in"
    return None, None


def _panel_context(session: Session, actor: Actor, r: Resource) -> dict[str, Any]:
    kind, why = apply_kind(session, actor, r)
    decision = grants.decide(session, actor, r)
    mine = [g for g in grants.visible(session, actor, resource_id=r.id, live_only=True)
            if not grants.owns(actor, r)]
    items = feedback.public_list(session, resource_id=r.id)
    answerable = {f.id for f in items if can(actor, "feedback.answer", f)}
    subs = [s for s in subscriptions.mine(session, actor) if s.resource_id == r.id] \
        if not actor.is_anonymous else []
    return {"r": r, "apply_kind": kind, "why": why, "readable": decision.allowed,
            "my_grants": mine, "feedback": items, "answerable": answerable,
            "subscriptions": subs,
            "may_subscribe": not actor.is_anonymous and decision.allowed,
            "may_feedback": can(actor, "feedback.create")}


@router.get("/dataset/{resource_id}/exchange")
def panel(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
          lang: LangDep, error: str = ""):
    """The resource page's exchange section: a fragment for htmx, a page without it."""
    r = catalog.get_resource(session, actor, resource_id)
    ctx = _panel_context(session, actor, r)
    template = "exchange/_panel.html" if request.headers.get("HX-Request") \
        else "exchange/panel.html"
    return render(request, template, actor, lang, error=error, **ctx)


# --- applying -----------------------------------------------------------------------------------


def _apply_form(request: Request, session: Session, actor: Actor, lang: str, r: Resource,
                values: dict[str, Any] | None = None, errors: list[str] | None = None,
                status_code: int = 200):  # type: ignore[no-untyped-def]
    kind, why = apply_kind(session, actor, r)
    agreement = applications.current_agreement(session, r) if kind == "opening" else None
    org = accounts.get_org(session, r.owner_org_id)
    return render(request, "exchange/apply.html", actor, lang, status_code=status_code, r=r,
                  org=org, kind=kind, why=why, agreement=agreement, values=values or {},
                  errors=errors or [], items=[i.get("name") for i in (r.data_items or [])])


@router.get("/exchange/apply/{resource_id}")
def apply_form(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
               lang: LangDep):
    if actor.is_anonymous:
        return redirect(f"/user/login?next=/exchange/apply/{resource_id}")
    r = catalog.get_resource(session, actor, resource_id)
    return _apply_form(request, session, actor, lang, r)


@router.post("/exchange/apply/{resource_id}")
async def apply(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                lang: LangDep):
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    _signed_in(actor)
    r = catalog.get_resource(session, actor, resource_id)
    values: dict[str, Any] = {k: str(v)[:TEXT] for k, v in form.items()
                              if isinstance(v, str) and k != "columns"}
    chosen = [str(c) for c in form.getlist("columns") if isinstance(c, str)]
    values["columns"] = chosen
    kind = values.get("kind", "")
    if kind not in applications.KINDS:
        kind = apply_kind(session, actor, r)[0] or "sharing"
    body: dict[str, Any] = {"resource_id": r.id, "purpose": values.get("purpose", "")}
    try:
        period = int(values.get("period_days") or 365)
    except ValueError:
        period = 0
    if kind == "sharing":
        items = [i.get("name") for i in (r.data_items or [])]
        body.update(legal_basis=values.get("legal_basis", ""),
                    using_system=values.get("using_system", "")[:200],
                    # every item ticked (or none ticked): the whole resource
                    columns=chosen if chosen and set(chosen) != set(items) else None,
                    period_days=period)
    else:
        agreement = applications.current_agreement(session, r)
        body.update(intended_use=values.get("intended_use", ""),
                    security_measures=values.get("security_measures", ""),
                    agreement_version=(agreement.version if agreement and
                                       values.get("accept") == "yes" else None),
                    period_days=period)
    try:
        if kind == "sharing":  # fewer rows than the whole resource: "区县 = 西湖区"
            body["row_filter"] = grants.parse_row_filter(values.get("row_filter", ""))
        if not 1 <= period <= 1825:
            from zhihui.core.errors import FieldErrors

            errors = FieldErrors()
            errors.add("period_days", "exchange.ui.period_range")
            errors.raise_if_any()
        app = applications.submit(session, actor, kind, body)
    except ZhihuiError as exc:
        session.rollback()
        r = catalog.get_resource(session, actor, resource_id)
        return _apply_form(request, session, actor, lang, r, values, _messages(exc, lang),
                           exc.status)
    session.commit()
    return redirect(f"/exchange/applications/{app.id}")


# --- my applications and grants ----------------------------------------------------------------


@router.get("/exchange/my")
def my_page(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
            error: str = ""):
    if actor.is_anonymous:
        return redirect("/user/login?next=/exchange/my")
    return _my(request, session, actor, lang, error=error)


def _my(request: Request, session: Session, actor: Actor, lang: str, *, error: str = "",
        key: dict[str, Any] | None = None, status_code: int = 200):  # type: ignore[no-untyped-def]
    filed = applications.visible(session, actor, role="applicant")
    to_answer = [a for a in applications.visible(session, actor, role="provider")
                 if a.status == "submitted"] if actor.memberships or actor.sysadmin else []
    held = grants.visible(session, actor)
    resources = _resources(session, {a.resource_id for a in filed + to_answer}
                           | {g.resource_id for g in held})
    orgs = _orgs(session, {a.provider_org_id for a in filed + to_answer}
                 | {a.applicant_org_id for a in filed + to_answer}
                 | {g.grantee_org_id for g in held} | {g.provider_org_id for g in held})
    usage = grants.usage(session, [g.id for g in held])
    subs = subscriptions.mine(session, actor)
    resources.update(_resources(session, {s.resource_id for s in subs} - set(resources)))
    return render(request, "exchange/my.html", actor, lang, status_code=status_code,
                  filed=filed, to_answer=to_answer, held=held, resources=resources,
                  orgs=orgs, usage=usage, live=grants.is_live,
                  may_revoke={g.id for g in held if can(actor, "grant.revoke", g)},
                  key_owner={g.id for g in held if g.kind == "opening"
                             and g.grantee_user_id == actor.user_id},
                  expiring={g.id for g in grants.expiring(session, actor)},
                  subscriptions=subs, error=error, key=key,
                  working_days=_working_days_left)


def _working_days_left(app: Application) -> int | None:
    """Working days from today (China time) to the answer's deadline day; negative when
    overdue, in the unit the deadline was set in."""
    if app.status != "submitted" or app.due is None:
        return None
    from datetime import timedelta

    from zhihui.core.workflow.calendar import CHINA, default_calendar
    from zhihui.db import utcnow

    cal = default_calendar()
    today = utcnow().astimezone(CHINA).date()
    first, last, sign = (today, app.due, 1) if app.due >= today else (app.due, today, -1)
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += cal.is_working_day(day)
    return sign * count


@router.post("/exchange/grants/{grant_id}/revoke")
def revoke(grant_id: str, request: Request, session: SessionDep, actor: ActorDep,
           lang: LangDep, reason: Annotated[str, Form(max_length=2000)] = "",
           csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    _signed_in(actor)
    try:
        grants.revoke(session, actor, grant_id, reason)
    except ZhihuiError as exc:
        session.rollback()
        return _my(request, session, actor, lang, error="；".join(_messages(exc, lang)),
                   status_code=exc.status)
    session.commit()
    return redirect("/exchange/my")


@router.post("/exchange/grants/{grant_id}/key")
def grant_key(grant_id: str, request: Request, session: SessionDep, actor: ActorDep,
              lang: LangDep, csrf_token: Annotated[str, Form(max_length=100)] = ""):
    """The API key of one's opening grant, shown once on the page that answers the POST."""
    check_csrf(request, csrf_token)
    _signed_in(actor)
    try:
        g, secret = grants.issue_key(session, actor, grant_id)
    except ZhihuiError as exc:
        session.rollback()
        return _my(request, session, actor, lang, error="；".join(_messages(exc, lang)),
                   status_code=exc.status)
    session.commit()
    return _my(request, session, actor, lang,
               key={"grant_id": g.id, "key": secret, "quota": g.quota_per_day},
               status_code=201)


# --- one application --------------------------------------------------------------------------


def format_row_filter(row_filter: dict[str, Any] | None) -> str:
    """A grant's or application's row filter as the decision form reads it back."""
    return "\n".join(f"{c} = {', '.join(str(x) for x in (v if isinstance(v, list) else [v]))}"
                     for c, v in (row_filter or {}).items())


def _application_page(request: Request, session: Session, actor: Actor, lang: str,
                      application_id: str, error: str = "", typed: dict[str, Any] | None = None,
                      status_code: int = 200):  # type: ignore[no-untyped-def]
    app = applications.get(session, actor, application_id)
    r = session.scalar(select(Resource).where(Resource.id == app.resource_id))
    orgs = _orgs(session, {app.provider_org_id, app.applicant_org_id})
    grant = session.get(Grant, app.grant_id) if app.grant_id else None
    agreement = None
    if app.kind == "opening" and r is not None:
        from zhihui.exchange.models import Agreement

        agreement = session.scalar(select(Agreement).where(
            Agreement.resource_id == r.id, Agreement.version == app.agreement_version))
    items = app.columns if app.columns is not None else \
        [i.get("name") for i in ((r.data_items if r else None) or [])]
    return render(request, "exchange/application.html", actor, lang, status_code=status_code,
                  app=app, r=r, orgs=orgs, grant=grant, agreement=agreement, items=items,
                  may_decide=app.status == "submitted" and can(actor, "application.decide", app),
                  may_withdraw=app.status == "submitted" and app.applicant_id == actor.user_id,
                  days_left=_working_days_left(app), error=error,
                  row_filter_text=(typed or {}).get("row_filter",
                                                    format_row_filter(app.row_filter)),
                  checked=(typed or {}).get("columns"))


@router.get("/exchange/applications/{application_id}")
def application_page(application_id: str, request: Request, session: SessionDep,
                     actor: ActorDep, lang: LangDep):
    if actor.is_anonymous:
        return redirect(f"/user/login?next=/exchange/applications/{application_id}")
    return _application_page(request, session, actor, lang, application_id)


@router.post("/exchange/applications/{application_id}/decision")
async def decide(application_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 lang: LangDep):
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    _signed_in(actor)
    action = str(form.get("action", ""))[:20]
    reason = str(form.get("reason", ""))[:TEXT]
    columns = [str(c) for c in form.getlist("columns") if isinstance(c, str)]
    quota = str(form.get("quota_per_day", "") or "").strip()
    typed_filter = str(form.get("row_filter", "") or "")[:TEXT]
    ticked = list(columns)
    try:
        app = applications.get(session, actor, application_id)
        r = session.scalar(select(Resource).where(Resource.id == app.resource_id))
        everything = {i.get("name") for i in ((r.data_items if r else None) or [])}
        if app.columns is None and set(columns) >= everything:
            columns = []  # every item ticked: approve all, as applied for
        # fewer rows: "区县 = 西湖区" (empty: the rows applied for)
        row_filter = grants.parse_row_filter(typed_filter) if action == "approve" else None
        given = ({"columns"} if columns else set()) | ({"row_filter"} if row_filter else set())
        applications.decide(
            session, actor, application_id, action, reason=reason,
            columns=columns if action == "approve" and columns else None,
            row_filter=row_filter,
            quota_per_day=int(quota) if quota.isdigit() and 0 < int(quota) <= 10_000_000
            else None, fields_set=given)
    except ZhihuiError as exc:
        session.rollback()
        return _application_page(request, session, actor, lang, application_id,
                                 error="；".join(_messages(exc, lang)), status_code=exc.status,
                                 typed={"row_filter": typed_filter, "columns": ticked})
    session.commit()
    return redirect(f"/exchange/applications/{application_id}")


# --- subscriptions and feedback ------------------------------------------------------------------


@router.post("/exchange/subscribe/{resource_id}")
def subscribe(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
              lang: LangDep, url: Annotated[str, Form(max_length=2000)] = "",
              csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    _signed_in(actor)
    try:
        sub, secret = subscriptions.subscribe(session, actor, resource_id, url=url)
    except ZhihuiError as exc:
        session.rollback()
        r = catalog.get_resource(session, actor, resource_id)
        return render(request, "exchange/panel.html", actor, lang, status_code=exc.status,
                      error="；".join(_messages(exc, lang)), url=url,
                      **_panel_context(session, actor, r))
    session.commit()
    return _subscription_page(request, session, actor, lang, sub.id, secret=secret,
                              status_code=201)


def _subscription_page(request: Request, session: Session, actor: Actor, lang: str,
                       subscription_id: str, secret: str | None = None,
                       status_code: int = 200):  # type: ignore[no-untyped-def]
    sub = subscriptions.get(session, actor, subscription_id)
    r = session.scalar(select(Resource).where(Resource.id == sub.resource_id))
    return render(request, "exchange/subscription.html", actor, lang, status_code=status_code,
                  sub=sub, r=r, secret=secret,
                  log=subscriptions.deliveries(session, actor, sub.id, 100))


@router.get("/exchange/subscriptions/{subscription_id}")
def subscription_page(subscription_id: str, request: Request, session: SessionDep,
                      actor: ActorDep, lang: LangDep):
    if actor.is_anonymous:
        return redirect(f"/user/login?next=/exchange/subscriptions/{subscription_id}")
    return _subscription_page(request, session, actor, lang, subscription_id)


@router.post("/exchange/subscriptions/{subscription_id}/cancel")
def unsubscribe(subscription_id: str, request: Request, session: SessionDep, actor: ActorDep,
                csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    _signed_in(actor)
    subscriptions.unsubscribe(session, actor, subscription_id)
    session.commit()
    return redirect(f"/exchange/subscriptions/{subscription_id}")


@router.post("/exchange/feedback/{resource_id}")
def give_feedback(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                  lang: LangDep, kind: Annotated[str, Form(max_length=20)] = "problem",
                  title: Annotated[str, Form(max_length=200)] = "",
                  body: Annotated[str, Form(max_length=TEXT)] = "",
                  csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    _signed_in(actor)
    r = catalog.get_resource(session, actor, resource_id)
    try:
        feedback.submit(session, actor, kind=kind, title=title, body=body, resource_id=r.id)
    except ZhihuiError as exc:
        session.rollback()
        r = catalog.get_resource(session, actor, resource_id)
        return render(request, "exchange/panel.html", actor, lang, status_code=exc.status,
                      error="；".join(_messages(exc, lang)),
                      fb_values={"kind": kind, "title": title, "body": body},
                      **_panel_context(session, actor, r))
    session.commit()
    return redirect(f"/dataset/{r.name}#exchange")


@router.post("/exchange/feedback/{feedback_id}/answer")
def answer_feedback(feedback_id: str, request: Request, session: SessionDep, actor: ActorDep,
                    lang: LangDep, answer: Annotated[str, Form(max_length=TEXT)] = "",
                    csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    _signed_in(actor)
    try:
        fb = feedback.answer(session, actor, feedback_id, answer)
    except ZhihuiError as exc:
        session.rollback()
        from zhihui.exchange.models import Feedback

        fb = session.get(Feedback, feedback_id)
        if fb is None or fb.resource_id is None:
            raise
        r = catalog.get_resource(session, actor, fb.resource_id)
        return render(request, "exchange/panel.html", actor, lang, status_code=exc.status,
                      error="；".join(_messages(exc, lang)), **_panel_context(session, actor, r))
    session.commit()
    if fb.resource_id:
        r = catalog.get_resource(session, actor, fb.resource_id)
        return redirect(f"/dataset/{r.name}#exchange")
    return redirect("/exchange/stats")


# --- statistics -----------------------------------------------------------------------------------


@router.get("/exchange/stats")
def stats_page(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    figures = stats.public(session)
    orgs = _orgs(session, set(figures["organisations"]))
    mine = [o for o in _orgs(session, set(actor.memberships)).values()]
    return render(request, "exchange/stats.html", actor, lang, figures=figures, orgs=orgs,
                  mine=mine)


@router.get("/exchange/stats/{org}")
def org_stats_page(org: str, request: Request, session: SessionDep, actor: ActorDep,
                   lang: LangDep):
    if actor.is_anonymous:
        return redirect(f"/user/login?next=/exchange/stats/{org}")
    o = accounts.get_org(session, org)
    return render(request, "exchange/org_stats.html", actor, lang, org=o,
                  figures=stats.for_org(session, actor, o))


# --- the one-enterprise profile -----------------------------------------------------------------


@router.get("/enterprise")
def enterprise_search(request: Request, actor: ActorDep, lang: LangDep, code: str = ""):
    if code.strip():
        return redirect(f"/enterprise/{profile.normalise(code)[:40]}")
    return render(request, "exchange/enterprise.html", actor, lang, found=None, code="")


@router.get("/enterprise/{code}")
def enterprise(code: str, request: Request, session: SessionDep, actor: ActorDep,
               lang: LangDep):
    try:
        found = profile.profile(session, actor, code,
                                data_root=request.app.state.settings.data_root, lang=lang)
    except profile.InvalidCode as exc:
        return render(request, "exchange/enterprise.html", actor, lang, status_code=exc.status,
                      found=None, code=code[:40], error=exc.render(lang))
    session.commit()  # the audit entries of the reads
    return render(request, "exchange/enterprise.html", actor, lang, found=found,
                  code=found["uscc"])
