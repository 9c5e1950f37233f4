"""My tasks (/tasks) and a case's page (/cases/<id>): its history, evidence and the actions
the viewer may take, as forms with CSRF tokens. Modules with their own case pages (requests to
correct or delete, applications) link here or replace it through ``Process`` labels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session

from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor
from zhihui.core.errors import NotAuthenticated, ZhihuiError
from zhihui.core.i18n import catalogue, normalise_language
from zhihui.core.workflow import service
from zhihui.core.workflow.calendar import CHINA
from zhihui.db import utcnow
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


def label(lang: str, process: str, kind: str, name: str) -> str:
    """A state's or action's name in the page's language (``workflow.<process>.<kind>.<name>``
    in the catalogues), or the code name itself when a process has none."""
    key = f"workflow.{process}.title" if kind == "title" else f"workflow.{process}.{kind}.{name}"
    cat = catalogue(normalise_language(lang))
    return cat.get(key) or catalogue("zh").get(key) or name


def _labels(lang: str):  # type: ignore[no-untyped-def]
    return lambda process, kind, name: label(lang, process, kind, name)


def _org_titles(session: Session, cases: list[Any]) -> dict[str, Organisation]:
    ids = {c.owner_org_id for c in cases if c.owner_org_id}
    return {o.id: o for o in (session.get(Organisation, i) for i in ids) if o is not None}


@router.get("/tasks")
def tasks_page(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    if actor.is_anonymous:
        return redirect("/user/login?next=/tasks")
    cases = service.tasks_for(session, actor)
    return render(request, "workflow/tasks.html", actor, lang, cases=cases, now=utcnow(),
                  orgs=_org_titles(session, cases), label=_labels(lang), china=CHINA)


def _case_page(request: Request, session: Session, actor: Actor, lang: str, case_id: str,
               error: str | None = None, status_code: int = 200):  # type: ignore[no-untyped-def]
    case = service.get_case(session, actor, case_id)
    return render(request, "workflow/case.html", actor, lang, status_code=status_code,
                  case=case, events=service.events_of(session, case),
                  attachments=service.attachments_of(session, case),
                  actions=service.available_actions(actor, case), now=utcnow(),
                  orgs=_org_titles(session, [case]), label=_labels(lang), error=error,
                  china=CHINA)


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, session: SessionDep, actor: ActorDep,
              lang: LangDep):
    if actor.is_anonymous:
        raise NotAuthenticated()
    return _case_page(request, session, actor, lang, case_id)


@router.post("/cases/{case_id}/act")
def case_act(
    case_id: str, request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
    action: Annotated[str, Form(max_length=40)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
    revision: Annotated[int | None, Form()] = None,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
):
    check_csrf(request, csrf_token)
    try:
        service.act(session, actor, case_id, action, comment=comment, revision=revision)
    except ZhihuiError as exc:
        session.rollback()
        messages = [exc.render(lang)] + [m for ms in exc.render_fields(lang).values() for m in ms]
        return _case_page(request, session, actor, lang, case_id, error="；".join(messages),
                          status_code=exc.status)
    session.commit()
    return redirect(f"/cases/{case_id}")
