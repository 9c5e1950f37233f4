"""The one place errors become HTTP answers: CKAN's envelope under /api/3 and /api/action,
JSON under /api/v1, an HTML page elsewhere; messages in the user's language."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhihui.core.errors import BadRequest, NotFound, ValidationFailed, ZhihuiError
from zhihui.core.i18n import translate
from zhihui.web.deps import get_language

CKAN_PREFIXES = ("/api/3/action/", "/api/action/", "/api/3/util/", "/api/util/")


def is_ckan(request: Request) -> bool:
    return request.url.path.startswith(CKAN_PREFIXES)


def ckan_error(request: Request, exc: ZhihuiError, lang: str) -> JSONResponse:
    action = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    error: dict[str, object] = {"__type": exc.ckan_type, "message": exc.render(lang)}
    for name, msgs in exc.render_fields(lang).items():
        error[name] = msgs
    return JSONResponse(
        {"help": f"{request.base_url}api/3/action/help_show?name={action}",
         "success": False, "error": error},
        status_code=exc.status,
    )


def render(request: Request, exc: ZhihuiError) -> Response:
    lang = get_language(request)
    if is_ckan(request):
        return ckan_error(request, exc, lang)
    if request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    ):
        body = {"error": {"code": exc.message.key, "message": exc.render(lang),
                          "fields": exc.render_fields(lang)}}
        return JSONResponse(body, status_code=exc.status)
    if exc.status == 401 and request.method == "GET":
        # A page that needs a signed-in user: sign in, then come back.
        from urllib.parse import quote

        from fastapi.responses import RedirectResponse

        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/user/login?next={quote(back)}", status_code=303)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html",
        {"status": exc.status, "message": exc.render(lang), "fields": exc.render_fields(lang),
         "lang": lang},
        status_code=exc.status,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ZhihuiError)
    async def _zhihui(request: Request, exc: ZhihuiError) -> Response:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _shape(request: Request, exc: RequestValidationError) -> Response:
        fields: dict[str, list] = {}
        from zhihui.core.errors import Message

        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            # A body that is not JSON at all is a bad request, not a wrong shape.
            return render(request, BadRequest("error.json"))
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())[1:]) or "__root__"
            fields.setdefault(loc, []).append(Message("field.invalid", {"detail": err["msg"]}))
        error: ZhihuiError = ValidationFailed(fields=fields)
        if not request.url.path.startswith("/api/v1"):
            return render(request, error)
        lang = get_language(request)
        return JSONResponse(
            {"error": {"code": "error.validation", "message": error.render(lang),
                       "fields": error.render_fields(lang)}},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, NotFound("error.page_not_found"))
        if exc.status_code == 405:
            lang = get_language(request)
            return JSONResponse({"error": {"code": "error.method",
                                           "message": translate("error.method", lang)}},
                                status_code=405, headers=exc.headers)
        return render(request, BadRequest(detail=str(exc.detail)))
