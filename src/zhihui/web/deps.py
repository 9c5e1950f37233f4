"""Annotated dependencies: every route gets its database session, actor and language by type."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import User
from zhihui.core.authz import ANONYMOUS, Actor
from zhihui.core.errors import Forbidden
from zhihui.core.i18n import LANGUAGES, normalise_language, pick_language
from zhihui.db import Database
from zhihui.settings import Settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_database(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """A session for the request. Routes that change data call ``session.commit()`` before
    they answer, so the answer never claims a change that was not saved."""
    s = get_database(request).sessionmaker()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _api_key(request: Request) -> str:
    # CKAN clients (ckanapi) send the bare key in Authorization or X-CKAN-API-Key.
    return request.headers.get("authorization") or request.headers.get("x-ckan-api-key") or ""


def get_actor(request: Request, session: SessionDep) -> Actor:
    """The token in the Authorization header, else the signed-in web user.

    A cookie session counts for reads everywhere, and for changes only on pages that check
    the CSRF token; changes through the API need a token, so no other site can make them."""
    key = _api_key(request)
    client = client_address(request)
    if key:
        return accounts.actor_for_token(session, key, client=client)
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if not user_id:
        return ANONYMOUS
    if request.url.path.startswith("/api/") and request.method not in SAFE_METHODS:
        return ANONYMOUS
    user = session.get(User, user_id)
    if user is None or not user.active:
        request.session.clear()
        return ANONYMOUS
    return accounts.actor_for(session, user, client=client)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_language(request: Request) -> str:
    """?lang=en, else the lang cookie, else Accept-Language, else Chinese."""
    q = request.query_params.get("lang")
    if q and normalise_language(q) in LANGUAGES:
        return normalise_language(q)
    cookie = request.cookies.get("lang")
    if cookie:
        return normalise_language(cookie)
    return pick_language(request.headers.get("accept-language"))


LangDep = Annotated[str, Depends(get_language)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not secrets.compare_digest(expected, submitted):
        raise Forbidden("error.csrf")
