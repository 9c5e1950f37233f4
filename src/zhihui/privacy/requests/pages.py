"""Pages in zh/en: file a request (/requests/new?distribution=… or ?resource=… from a resource
page's "report an error" link), follow it by receipt (/requests/<code>), the organisation's
queue with decisions (/organization/<name>/requests) and the organisation page's overdue
section (/organization/<name>/requests/overdue)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from starlette.datastructures import UploadFile as StarletteUpload

from zhihui.catalog import service as catalog
from zhihui.core.accounts import service as accounts
from zhihui.core.authz import can
from zhihui.core.errors import ZhihuiError
from zhihui.core.workflow.calendar import CHINA
from zhihui.core.workflow.pages import label
from zhihui.privacy.requests import service
from zhihui.privacy.requests.schemas import RequestIn
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render

router = APIRouter(include_in_schema=False)
ROWS = 3  # locator and correction rows on the form


def _messages(exc: ZhihuiError, lang: str) -> list[str]:
    return [exc.render(lang)] + [f"{k}: {m}" for k, ms in exc.render_fields(lang).items()
                                 for m in ms]


def _form(request, session, actor, lang, distribution: str, values=None, errors=None,
          status_code=200):  # type: ignore[no-untyped-def]
    d, r = catalog.get_distribution(session, actor, distribution)
    return render(request, "requests/new.html", actor, lang, status_code=status_code,
                  distribution=d, resource=r, values=values or {}, errors=errors or [],
                  rows=ROWS, max_rows=service.max_rows())


@router.get("/requests/new")
def new_request(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
                distribution: str = "", resource: str = ""):
    """The form for one file; from a resource page's "report an error" link (``resource``),
    that resource's only file with data, or a choice among its files."""
    if not distribution and resource:
        r, files = service.report_target(session, actor, resource[:100])
        if len(files) > 1:
            return render(request, "requests/choose.html", actor, lang, resource=r,
                          files=files)
        distribution = files[0].id
    return _form(request, session, actor, lang, distribution)


@router.post("/requests/new")
async def file_request(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    pairs = lambda prefix: {  # noqa: E731
        values.get(f"{prefix}_col_{i}", "").strip(): values.get(f"{prefix}_val_{i}", "")
        for i in range(ROWS) if values.get(f"{prefix}_col_{i}", "").strip()}
    uploads = [(f.filename or "", await f.read(), f.content_type)
               for f in form.getlist("evidence")
               if isinstance(f, StarletteUpload) and f.filename]
    distribution = values.get("distribution_id", "")
    settings = request.app.state.settings
    try:
        inp = RequestIn(distribution_id=distribution, contact_name=values.get("contact_name", ""),
                        contact_phone=values.get("contact_phone", ""),
                        contact_email=values.get("contact_email", ""),
                        id_number=values.get("id_number", "")[:18],
                        locator=pairs("loc"), kind=values.get("kind") == "delete" and "delete"
                        or "correct", what_is_wrong=values.get("what_is_wrong", "")[:2000],
                        corrections=pairs("fix") if values.get("kind") != "delete" else {})
        req, case = service.file_request(session, actor, inp, data_root=settings.data_root,
                                         secret=settings.session_secret, attachments=uploads)
    except ZhihuiError as exc:
        session.rollback()
        values.pop("id_number", None)  # never echoed back
        return _form(request, session, actor, lang, distribution, values,
                     _messages(exc, lang), exc.status)
    session.commit()
    return render(request, "requests/filed.html", actor, lang, status_code=201,
                  receipt=case.receipt_code, case=case, china=CHINA)


@router.get("/requests/follow")
def follow_form(request: Request, actor: ActorDep, lang: LangDep, code: str = ""):
    if code.strip():
        return redirect(f"/requests/{code.strip()}")
    return render(request, "requests/follow.html", actor, lang, found=None)


@router.get("/requests/{code}")
def follow(code: str, request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    req, case = service.by_receipt(session, code)
    return render(request, "requests/follow.html", actor, lang, found=service.public_dict(
        req, case, session), code=code, case=case, china=CHINA,
        label=lambda kind, name: label(lang, "correction", kind, name))


@router.post("/requests/{code}/withdraw")
def withdraw(code: str, request: Request, session: SessionDep, actor: ActorDep,
             csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    service.withdraw(session, code, actor)
    session.commit()
    return redirect(f"/requests/{code}")


@router.get("/organization/{name}/requests")
def org_requests(name: str, request: Request, session: SessionDep, actor: ActorDep,
                 lang: LangDep, error: str = ""):
    org = accounts.get_org(session, name)
    queue = service.queue(session, actor, org) if can(actor, "correction.queue", org) else None
    return render(request, "requests/org.html", actor, lang, org=org, queue=queue,
                  overdue=service.overdue_summary(session, actor, org), china=CHINA,
                  label=lambda kind, n: label(lang, "correction", kind, n), error=error)


@router.get("/organization/{name}/requests/overdue")
def org_overdue(name: str, request: Request, session: SessionDep, actor: ActorDep,
                lang: LangDep):
    """The organisation page's section (loaded with htmx): the overdue count for everyone;
    for its members and the operator, each overdue request and the open count."""
    org = accounts.get_org(session, name)
    member = can(actor, "correction.queue", org)
    htmx = request.headers.get("hx-request") == "true"
    return render(request, "requests/_org_overdue.html" if htmx else "requests/overdue.html",
                  actor, lang, org=org, overdue=service.overdue_summary(session, actor, org),
                  open_count=service.open_count(session, org.id) if member else None,
                  day=_china_day)


def _china_day(iso: str | None) -> str:
    """An ISO instant as the date in China, as deadlines are counted."""
    return datetime.fromisoformat(iso).astimezone(CHINA).strftime("%Y-%m-%d") if iso else "—"


@router.post("/requests/manage/{request_id}")
def decide(request_id: str, request: Request, session: SessionDep, actor: ActorDep,
           lang: LangDep,
           decision: Annotated[str, Form(max_length=30)] = "",
           comment: Annotated[str, Form(max_length=5000)] = "",
           accepted_ids: Annotated[list[int] | None, Form()] = None,
           revision: Annotated[int | None, Form()] = None,
           csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    req, _case = service.get_request(session, actor, request_id)
    org = accounts.get_org(session, req.org_id)
    try:
        service.decide(session, actor, request_id, decision, comment=comment,
                       accepted_ids=accepted_ids if decision == "partially_accept" else None,
                       revision=revision, data_root=request.app.state.settings.data_root)
    except ZhihuiError as exc:
        session.rollback()
        org = accounts.get_org(session, org.id)
        return render(request, "requests/org.html", actor, lang, status_code=exc.status,
                      org=org, queue=service.queue(session, actor, org),
                      overdue=service.overdue_summary(session, actor, org), china=CHINA,
                      label=lambda kind, n: label(lang, "correction", kind, n),
                      error="；".join(_messages(exc, lang)))
    session.commit()
    return redirect(f"/organization/{org.name}/requests")


@router.get("/requests/manage/{request_id}")
def manage(request_id: str, session: SessionDep, actor: ActorDep):
    req, _case = service.get_request(session, actor, request_id)
    return redirect(f"/organization/{accounts.get_org(session, req.org_id).name}/requests"
                    f"#r-{req.id}")


__all__ = ["router", "UploadFile"]
