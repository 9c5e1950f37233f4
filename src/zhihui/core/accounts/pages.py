"""Sign-in and sign-out pages (web sessions with CSRF protection)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from zhihui.core.accounts import service
from zhihui.core.errors import NotAuthenticated
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
