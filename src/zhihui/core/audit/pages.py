"""The portal page of the audit log: the latest checkpoint, how to verify it, and for a
signed-in organisation who read or changed its data."""

from __future__ import annotations

from fastapi import APIRouter, Request

from zhihui.core.audit import service
from zhihui.web.deps import ActorDep, LangDep, SessionDep, SettingsDep
from zhihui.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
               settings: SettingsDep):
    key = service.log_key(settings)
    cp = service.current_checkpoint(session, key)
    entries = [] if actor.is_anonymous else service.entries_about(session, actor, limit=100)
    return render(
        request, "audit/index.html", actor, lang,
        checkpoint=cp, verifier=str(service.verifier(session, key)),
        pending=service.pending(session), entries=entries,
        site_url=settings.site_url.rstrip("/"),
    )
