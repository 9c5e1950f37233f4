"""What comes in and goes out of the workflow API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ActIn(BaseModel):
    action: str = Field(min_length=1, max_length=40)
    comment: str = Field(default="", max_length=5000, description="the reason, where required")
    data: dict[str, Any] = Field(default_factory=dict)
    revision: int | None = Field(
        default=None, description="the case's revision you saw; refused (409) if it changed")


class CommentIn(BaseModel):
    comment: str = Field(min_length=1, max_length=5000)


class ActionOut(BaseModel):
    action: str
    to: str
    comment_required: bool


class CaseOut(BaseModel):
    id: str
    process: str
    subject_type: str
    subject_id: str
    title: str
    state: str
    owner_org_id: str | None
    applicant_name: str
    due: str | None
    escalated: bool
    closed: bool
    revision: int
    created: str
    updated: str
    actions: list[ActionOut] = []


class EventOut(BaseModel):
    id: int
    action: str
    from_state: str | None
    to_state: str
    actor: str
    comment: str
    at: str


class AttachmentOut(BaseModel):
    id: str
    name: str
    media_type: str
    size: int
    sha256: str
    created: str


class CaseDetailOut(CaseOut):
    events: list[EventOut]
    attachments: list[AttachmentOut]


def event_dict(e: Any) -> dict[str, Any]:
    return {"id": e.id, "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
            "actor": e.actor_name, "comment": e.comment, "at": e.at.isoformat()}


def attachment_dict(a: Any) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "media_type": a.media_type, "size": a.size,
            "sha256": a.sha256, "created": a.created.isoformat()}
