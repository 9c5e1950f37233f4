"""互动反馈 (Art. 48): open-data users report a problem with a resource or suggest data to
open; the provider (or, for a suggestion to no one in particular, the operator) answers, and
question and answer are public."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.core import audit
from zhihui.core.accounts import service as accounts
from zhihui.core.authz import Actor, require
from zhihui.core.errors import Conflict, FieldErrors, NotFound
from zhihui.db import new_id, utcnow
from zhihui.exchange.models import Feedback

KINDS = ("problem", "suggestion")


def submit(session: Session, actor: Actor, *, kind: str, title: str, body: str,
           resource_id: str | None = None, org_id: str | None = None) -> Feedback:
    require(actor, "feedback.create")
    errors = FieldErrors()
    if kind not in KINDS:
        errors.add("kind", "field.choice", choices=", ".join(KINDS))
    if not title.strip():
        errors.add("title", "field.required")
    if not body.strip():
        errors.add("body", "field.required")
    r = None
    if resource_id:
        r = catalog.get_resource(session, actor, resource_id)
    elif kind == "problem":
        errors.add("resource_id", "field.required")
    org = accounts.get_org(session, org_id) if org_id and not r else None
    errors.raise_if_any()
    fb = Feedback(id=new_id(), kind=kind, resource_id=r.id if r else None,
                  org_id=r.owner_org_id if r else (org.id if org else None),
                  title=title.strip()[:200], body=body.strip(), author_id=actor.user_id,
                  author_name=actor.name, created=utcnow(), answer="", answered_by="")
    session.add(fb)
    session.flush()
    audit.record(session, actor, "feedback.create", "feedback", fb.id, org_id=fb.org_id,
                 content={"title": fb.title, "body": fb.body},
                 detail={"kind": kind, "resource": fb.resource_id})
    return fb


def answer(session: Session, actor: Actor, feedback_id: str, text: str) -> Feedback:
    fb = session.get(Feedback, feedback_id) if feedback_id and "\x00" not in feedback_id \
        else None
    if fb is None:
        raise NotFound("exchange.feedback_not_found", id=str(feedback_id)[:100])
    require(actor, "feedback.answer", fb)
    if fb.answered is not None:
        raise Conflict("exchange.feedback_answered")
    if not text.strip():
        errors = FieldErrors()
        errors.add("answer", "field.required")
        errors.raise_if_any()
    fb.answer = text.strip()
    fb.answered = utcnow()
    fb.answered_by = actor.name
    audit.record(session, actor, "feedback.answer", "feedback", fb.id, org_id=fb.org_id,
                 content=fb.answer)
    return fb


def public_list(session: Session, *, resource_id: str | None = None, kind: str | None = None,
                limit: int = 100) -> list[Feedback]:
    """Public: everyone sees questions and answers (of resources they may see: the caller
    passes a resource it has read)."""
    q = select(Feedback)
    if resource_id:
        q = q.where(Feedback.resource_id == resource_id)
    if kind:
        q = q.where(Feedback.kind == kind)
    return list(session.scalars(q.order_by(Feedback.created.desc()).limit(min(limit, 500))))


def feedback_dict(fb: Feedback) -> dict[str, Any]:
    return {"id": fb.id, "kind": fb.kind, "resource_id": fb.resource_id, "org_id": fb.org_id,
            "title": fb.title, "body": fb.body, "author": fb.author_name,
            "created": fb.created.isoformat(), "answer": fb.answer or None,
            "answered": fb.answered.isoformat() if fb.answered else None,
            "answered_by": fb.answered_by or None}
