"""create_app(settings) -> the FastAPI application. The module list below is the map of what
the platform can do; each module contributes its API router and its pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhihui import __version__
from zhihui.db import Database
from zhihui.settings import Settings, get_settings
from zhihui.web import errors
from zhihui.web.templating import make_templates

WEB = Path(__file__).parent / "web"


class BodyLimit:
    """Refuse request bodies over the limit with 413 before the route reads them, and URLs
    holding NUL characters with 400."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit or limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # NUL cannot be stored or looked up in text columns: refuse it in the URL at once.
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
            from starlette.requests import Request

            from zhihui.core.errors import BadRequest

            response = errors.render(Request(scope, receive), BadRequest("error.nul"))
            await response(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        limit = self.limit
        if scope.get("path", "").startswith(UPLOAD_PATHS) and b"multipart/form-data" in \
                headers.get(b"content-type", b""):
            limit = self.upload_limit  # data files (the datastore) may be large
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(scope, receive, send)


# Where a multipart file upload may exceed max_request_bytes, up to max_upload_bytes.
UPLOAD_PATHS = tuple(
    f"{prefix}resource_{kind}" for prefix in ("/api/3/action/", "/api/action/")
    for kind in ("create", "update", "patch")
) + ("/api/v1/datastore/", "/datastore/upload/")


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    from starlette.requests import Request

    from zhihui.core.errors import TooLarge

    request = Request(scope, receive)
    response = errors.render(request, TooLarge())
    await response(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy",
                     b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                     b"script-src 'self'; frame-ancestors 'none'"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="zhihui",
        version=__version__,
        description="政务大数据平台 · government big-data platform "
        "(杭州市智慧经济促进条例 Art. 46-50)",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.sqlalchemy_url)
    app.state.templates = make_templates()
    errors.install(app)

    # The platform's capabilities, in the order of the regulation's articles.
    from zhihui.catalog import api as catalog_api
    from zhihui.catalog import pages as catalog_pages
    from zhihui.compat import ckan, dcat
    from zhihui.core.accounts import api as accounts_api
    from zhihui.core.accounts import pages as accounts_pages
    from zhihui.core.audit import api as audit_api
    from zhihui.core.audit import pages as audit_pages
    from zhihui.core.workflow import api as workflow_api
    from zhihui.core.workflow import pages as workflow_pages
    from zhihui.datastore import api as datastore_api
    from zhihui.datastore import pages as datastore_pages
    from zhihui.exchange import api as exchange_api
    from zhihui.exchange import pages as exchange_pages
    from zhihui.privacy import api as privacy_api
    from zhihui.privacy import pages as privacy_pages
    from zhihui.privacy.requests import api as requests_api
    from zhihui.privacy.requests import pages as requests_pages

    app.include_router(accounts_api.router, prefix="/api/v1")
    app.include_router(catalog_api.router, prefix="/api/v1")
    app.include_router(audit_api.router, prefix="/api/v1")
    app.include_router(datastore_api.router, prefix="/api/v1")
    app.include_router(workflow_api.router, prefix="/api/v1")
    app.include_router(requests_api.router, prefix="/api/v1")
    app.include_router(datastore_api.dump_router)
    app.include_router(privacy_api.router, prefix="/api/v1")
    app.include_router(exchange_api.router, prefix="/api/v1")
    app.include_router(ckan.router)
    app.include_router(dcat.router)
    app.include_router(accounts_pages.router)
    app.include_router(privacy_pages.router)  # before /dataset/{id} of the catalogue
    app.include_router(catalog_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(datastore_pages.router)
    app.include_router(workflow_pages.router)
    app.include_router(requests_pages.router)
    app.include_router(exchange_pages.router)
    audit_api.run_sequencer(app)
    catalog_api.keep_snapshot_fresh(app)
    datastore_api.run_worker(app)
    workflow_api.run_deadline_check(app)
    exchange_api.run_delivery_worker(app)
    privacy_api.run_cleanup(app)

    vendor = settings_vendor_dir()
    if vendor.exists():
        # before /static, which would otherwise take (and 404) every /static/vendor/ path
        app.mount("/static/vendor", StaticFiles(directory=vendor), name="vendor")
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="zhihui_session",
        same_site="lax",
        https_only=settings.https_only,
        max_age=14 * 24 * 3600,
    )
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes,
                       upload_limit=settings.max_upload_bytes)
    return app


def settings_vendor_dir() -> Path:
    """Front-end packages installed from the npm registry by ``make`` (htmx)."""
    return Path(__file__).resolve().parents[2] / "node_modules"
