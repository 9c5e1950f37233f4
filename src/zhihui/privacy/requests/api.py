"""/api/v1/requests: file a request to correct or delete (anyone), follow it by receipt code,
and for the owning organisation: its queue and decisions; anyone: the overdue count."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from zhihui.core.accounts import service as accounts
from zhihui.privacy.requests import service
from zhihui.privacy.requests.schemas import DecisionIn, FiledOut, RequestIn
from zhihui.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["requests"])


@router.post("/requests", response_model=FiledOut, status_code=201)
def file_request(body: RequestIn, request: Request, session: SessionDep,
                 actor: ActorDep) -> dict[str, Any]:
    """File a request (no account needed). Evidence: POST it afterwards to
    /api/v1/cases/{case}/attachments with the receipt in X-Receipt-Code."""
    settings = request.app.state.settings
    req, case = service.file_request(session, actor, body, data_root=settings.data_root,
                                     secret=settings.session_secret)
    session.commit()
    return {"id": req.id, "receipt": case.receipt_code, "state": case.state,
            "due": case.due.isoformat() if case.due else None,
            "matched": len(req.matched_ids), "case_id": case.id}


@router.get("/requests/{receipt}")
def follow(receipt: str, session: SessionDep) -> dict[str, Any]:
    """A request as its receipt shows it: state, deadline, decision, history."""
    req, case = service.by_receipt(session, receipt)
    return {**service.public_dict(req, case, session), "case_id": case.id}


@router.post("/requests/{receipt}/withdraw")
def withdraw(receipt: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    req, case = service.withdraw(session, receipt, actor)
    session.commit()
    return service.public_dict(req, case, session)


@router.post("/requests/{request_id}/decision")
def decide(request_id: str, body: DecisionIn, request: Request, session: SessionDep,
           actor: ActorDep) -> dict[str, Any]:
    """Accept, partially accept or refuse (reasons required for the last two); an acceptance
    publishes the corrected version at once."""
    req, case = service.decide(session, actor, request_id, body.decision, comment=body.comment,
                               accepted_ids=body.accepted_ids, columns=body.columns,
                               revision=body.revision,
                               data_root=request.app.state.settings.data_root)
    session.commit()
    return service.full_dict(req, case, session)


@router.get("/organizations/{org}/requests")
def queue(org: str, session: SessionDep, actor: ActorDep,
          all: bool = False) -> list[dict[str, Any]]:  # noqa: A002
    """The organisation's requests with contacts (its members, the operator)."""
    o = accounts.get_org(session, org)
    return [service.full_dict(r, c, session)
            for r, c in service.queue(session, actor, o, open_only=not all)]


@router.get("/organizations/{org}/requests/overdue")
def overdue(org: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """How many requests the organisation answers late (anyone); each of them, without
    contact details, for its members and the operator (``listed``)."""
    return service.overdue_summary(session, actor, accounts.get_org(session, org))
