"""Rendering helpers shared by every module's pages."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from zhihui.core.authz import Actor
from zhihui.web.deps import csrf_token


def render(
    request: Request, template: str, actor: Actor, lang: str, status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page with what every template expects: actor, lang, csrf token."""
    response = request.app.state.templates.TemplateResponse(
        request, template,
        {"actor": actor, "lang": lang, "csrf": csrf_token(request), **context},
        status_code=status_code,
    )
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


def redirect(url: str) -> RedirectResponse:
    """After a successful form post: 303 so the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    """Only same-site paths, so a login link cannot send users elsewhere."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"
