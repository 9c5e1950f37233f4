"""/api/v1/tasks and /api/v1/cases: my tasks, a case with its history, actions, comments and
evidence; and the periodic deadline check that runs beside the app. An anonymous applicant
shows the receipt code in the ``X-Receipt-Code`` header."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, UploadFile
from fastapi.responses import FileResponse

from zhihui.core.workflow import service
from zhihui.core.workflow.config import workflow_settings
from zhihui.core.workflow.schemas import (
    ActIn,
    AttachmentOut,
    CaseDetailOut,
    CaseOut,
    CommentIn,
    EventOut,
    attachment_dict,
    event_dict,
)
from zhihui.web import background
from zhihui.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["workflow"])
Receipt = Annotated[str | None, Header(alias="X-Receipt-Code", max_length=40)]


def _detail(session: Any, actor: Any, case: Any) -> dict[str, Any]:
    return {**service.case_dict(case, actor),
            "events": [event_dict(e) for e in service.events_of(session, case)],
            "attachments": [attachment_dict(a) for a in service.attachments_of(session, case)]}


@router.get("/tasks", response_model=list[CaseOut])
def tasks(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    """我的待办: open cases waiting for something you may do, soonest deadline first."""
    return [service.case_dict(c, actor) for c in service.tasks_for(session, actor)]


@router.get("/cases/{case_id}", response_model=CaseDetailOut)
def case(case_id: str, session: SessionDep, actor: ActorDep,
         x_receipt_code: Receipt = None) -> dict[str, Any]:
    """A case, its events and attachments, and what you may do now (its parties only)."""
    c = service.get_case(session, actor, case_id, receipt=x_receipt_code)
    return _detail(session, actor, c)


@router.post("/cases/{case_id}/actions", response_model=CaseOut)
def act(case_id: str, body: ActIn, session: SessionDep, actor: ActorDep,
        x_receipt_code: Receipt = None) -> dict[str, Any]:
    """Take an action: 409 if it does not leave the current state (or was already taken),
    or the revision you saw is stale; 403 if your role may not; 409 if a reason is missing."""
    c = service.act(session, actor, case_id, body.action, comment=body.comment,
                    data=body.data or None, revision=body.revision, receipt=x_receipt_code)
    session.commit()
    return service.case_dict(c, actor)


@router.post("/cases/{case_id}/comments", response_model=EventOut, status_code=201)
def add_comment(case_id: str, body: CommentIn, session: SessionDep, actor: ActorDep,
                x_receipt_code: Receipt = None) -> dict[str, Any]:
    event = service.comment(session, actor, case_id, body.comment, receipt=x_receipt_code)
    session.commit()
    return event_dict(event)


@router.post("/cases/{case_id}/attachments", response_model=AttachmentOut, status_code=201)
def add_attachment(case_id: str, upload: UploadFile, request: Request, session: SessionDep,
                   actor: ActorDep, x_receipt_code: Receipt = None) -> dict[str, Any]:
    """Evidence: PDF, images, Word/Excel, OFD or text; the type is read from the bytes."""
    row = service.attach(session, actor, case_id, upload.filename or "", upload.file,
                         data_root=request.app.state.settings.data_root,
                         claimed_type=upload.content_type, receipt=x_receipt_code)
    session.commit()
    return attachment_dict(row)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def get_attachment(case_id: str, attachment_id: str, request: Request, session: SessionDep,
                   actor: ActorDep, x_receipt_code: Receipt = None) -> FileResponse:
    row, path = service.get_attachment(session, actor, case_id, attachment_id,
                                       data_root=request.app.state.settings.data_root,
                                       receipt=x_receipt_code)
    session.commit()  # the read's audit entry
    return FileResponse(path, media_type=row.media_type, filename=row.name,
                        content_disposition_type="attachment")


def run_deadline_check(app: FastAPI, interval: float | None = None) -> None:
    """Escalate overdue cases every ``interval`` seconds while the app runs (several processes
    may run it: each case is escalated once)."""
    background.periodically(app, interval or workflow_settings().escalation_interval,
                            lambda a: service.check_deadlines(a.state.db),
                            "workflow deadline check")
