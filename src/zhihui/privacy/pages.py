"""The privacy page of a resource, for its editors (and, for the assessments, auditors):
column classifications to confirm or correct, the grade, the de-identification policy, the
k-anonymity report before opening, impact assessments, and why the public reads what it
reads. Every form posts to the same service functions as the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.core.authz import Actor, can
from zhihui.core.errors import ValidationFailed
from zhihui.privacy import deid, service
from zhihui.privacy.schemas import AssessmentIn, ColumnIn, PolicyIn
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render

router = APIRouter(include_in_schema=False)


def _root(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.settings.data_root


def _page(request: Request, session: Session, actor: Actor, lang: str, resource_id: str, *,
          errors: dict[str, list[str]] | None = None, status_code: int = 200,
          kanon: dict[str, Any] | None = None):
    status = service.status(session, actor, resource_id, data_root=_root(request))
    r = catalog.get_resource(session, actor, resource_id)
    session.commit()  # classifications found now for versions made before detection
    return render(request, "privacy/page.html", actor, lang, status_code=status_code,
                  s=status, r=catalog.resource_dict(r, catalog.org_of(session, r)),
                  errors=errors or {}, kanon=kanon, methods=deid.METHODS,
                  generalise_to=deid.GENERALISE_TO, grades=service.GRADES,
                  levels=service.PERSONAL_LEVELS,
                  types=sorted(service.classify.PERSONAL_TYPES | {service.d.USCC}))


@router.get("/dataset/{resource_id}/privacy")
def page(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
         lang: LangDep, columns: str | None = None, k: int | None = None):
    kanon = None
    if columns is not None:
        quasi = [c.strip() for c in columns.replace("，", ",").split(",") if c.strip()]
        try:
            kanon = service.kanon_report(session, actor, resource_id, data_root=_root(request),
                                         quasi=quasi, k=max(1, min(k or 2, 1000)))
        except ValidationFailed as exc:
            return _page(request, session, actor, lang, resource_id,
                         errors=exc.render_fields(lang), status_code=409)
    return _page(request, session, actor, lang, resource_id, kanon=kanon)


@router.get("/dataset/{resource_id}/privacy/notice")
def notice(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
           lang: LangDep):
    """The resource page's notice for editors (loaded with htmx): why the public reads an
    earlier version or nothing."""
    r = catalog.get_resource(session, actor, resource_id)
    status = (service.status(session, actor, r.id, data_root=_root(request))
              if can(actor, "privacy.manage", r) else None)
    session.commit()
    return render(request, "privacy/_notice.html", actor, lang, s=status,
                  r=catalog.resource_dict(r, catalog.org_of(session, r)))


async def _form(request: Request) -> Any:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    return form


async def _apply(request: Request, session: Session, actor: Actor, lang: str,
                 resource_id: str, change) -> Any:  # type: ignore[no-untyped-def]
    form = await _form(request)
    try:
        change(form)
        session.commit()
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, session, actor, lang, resource_id,
                     errors=exc.render_fields(lang) or {"": [exc.render(lang)]},
                     status_code=409)
    return redirect(f"/dataset/{resource_id}/privacy")


@router.post("/dataset/{resource_id}/privacy/columns")
async def confirm(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                  lang: LangDep):
    def change(form: Any) -> None:
        personal = form.get("personal") in ("personal", "sensitive")
        service.confirm_column(session, actor, resource_id, ColumnIn(
            distribution_id=str(form.get("distribution_id", ""))[:36],
            column=str(form.get("column", ""))[:300],
            type=(str(form.get("type") or "") or None) if personal else None,
            personal=personal, sensitive=form.get("personal") == "sensitive"),
            data_root=_root(request))
    return await _apply(request, session, actor, lang, resource_id, change)


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 8 else None


@router.post("/dataset/{resource_id}/privacy/policy")
async def policy(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 lang: LangDep):
    def change(form: Any) -> None:
        rules = []
        for column, method, start, end, to, width in zip(
                form.getlist("column"), form.getlist("method"), form.getlist("keep_start"),
                form.getlist("keep_end"), form.getlist("to"), form.getlist("width"),
                strict=False):
            if not method:
                continue
            rules.append({"column": column, "method": method, "keep_start": _int(start),
                          "keep_end": _int(end), "to": to or None, "width": _int(width)})
        quasi = [c.strip() for c in str(form.get("quasi_identifiers", "")).replace(
            "，", ",").split(",") if c.strip()]
        data = PolicyIn.model_validate({"rules": rules, "quasi_identifiers": quasi,
                                        "k": max(1, min(_int(form.get("k")) or 1, 1000))})
        service.set_policy(session, actor, resource_id, data, data_root=_root(request))
    return await _apply(request, session, actor, lang, resource_id, change)


@router.post("/dataset/{resource_id}/privacy/grade")
async def grade(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                lang: LangDep):
    def change(form: Any) -> None:
        catalog.patch_resource(session, actor, resource_id, {
            "grade": str(form.get("grade", ""))[:20],
            "personal": str(form.get("personal", ""))[:30]})
    return await _apply(request, session, actor, lang, resource_id, change)


@router.post("/dataset/{resource_id}/privacy/assessments")
async def assessment(resource_id: str, request: Request, session: SessionDep,
                     actor: ActorDep, lang: LangDep):
    def change(form: Any) -> None:
        try:
            approved = date.fromisoformat(str(form.get("approved_on", "")))
        except ValueError:
            from zhihui.core.errors import FieldErrors

            e = FieldErrors()
            e.add("approved_on", "field.invalid", detail="YYYY-MM-DD")
            e.raise_if_any()
            return
        service.record_assessment(session, actor, resource_id, AssessmentIn(
            scope=str(form.get("scope", ""))[:20], purpose=str(form.get("purpose", ""))[:2000],
            recipients=str(form.get("recipients", ""))[:2000],
            risks=str(form.get("risks", ""))[:5000], measures=str(form.get("measures", ""))[:5000],
            approved_by=str(form.get("approved_by", ""))[:100], approved_on=approved),
            data_root=_root(request))
    return await _apply(request, session, actor, lang, resource_id, change)
