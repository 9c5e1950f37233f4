"""Sign-in and sign-out pages (web sessions with CSRF protection)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from zhihui.core.accounts import service
from zhihui.core.errors import NotAuthenticated
from zhihui.db import utcnow
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/user/login")
def login_form(request: Request, actor: ActorDep, lang: LangDep, next: str = "/"):  # noqa: A002
    return render(request, "accounts/login.html", actor, lang, next=safe_next(next), error=None)


@router.post("/user/login")
def login(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    lang: LangDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
):
    check_csrf(request, csrf_token)
    try:
        user = service.authenticate(session, username, password)
    except NotAuthenticated as exc:
        return render(request, "accounts/login.html", actor, lang, status_code=401,
                      next=safe_next(next), error=exc.render(lang), username=username)
    session.commit()
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["user_id"] = user.id
    return redirect(safe_next(next))


@router.post("/user/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    request.session.clear()
    return redirect("/")


def _account(request: Request, session, actor, lang: str, new_token: str | None = None):  # type: ignore[no-untyped-def]
    if actor.is_anonymous:
        raise NotAuthenticated()
    user = service.get_user(session, actor.user_id or "")
    orgs = {o.id: o for o in service.list_orgs(session)}
    memberships = [(orgs[oid], cap) for oid, cap in actor.memberships.items() if oid in orgs]
    return render(request, "accounts/me.html", actor, lang, user=user, memberships=memberships,
                  tokens=service.list_tokens(session, actor, user), new_token=new_token,
                  now=utcnow())


@router.get("/user/me")
def me(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    return _account(request, session, actor, lang)


@router.post("/user/me/tokens")
def create_token(
    request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
    name: Annotated[str, Form(max_length=200)] = "",
    days: Annotated[int, Form(ge=1, le=3650)] = 365,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
):
    check_csrf(request, csrf_token)
    if actor.is_anonymous:
        raise NotAuthenticated()
    user = service.get_user(session, actor.user_id or "")
    _, secret = service.create_token(session, actor, user=user, name=name, days=days)
    session.commit()
    # Shown on this answer only; it is stored as a hash.
    return _account(request, session, actor, lang, new_token=secret)


@router.post("/user/me/tokens/{token_id}/revoke")
def revoke_token(token_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 csrf_token: Annotated[str, Form(max_length=100)] = ""):
    check_csrf(request, csrf_token)
    service.revoke_token(session, actor, token_id)
    session.commit()
    return redirect("/user/me")
