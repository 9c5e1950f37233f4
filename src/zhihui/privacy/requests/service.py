"""The rules of requests to correct or delete (Art. 50: 公民、法人和其他组织有权要求采集、使用其
信息的单位和个人更正、删除与其相关的不实信息).

- Anyone, signed in or not, may file against a distribution they can read: a contact, an
  optional ID number (kept only as a keyed HMAC), a locator (column = value pairs that must
  match between 1 and ``correction_max_rows`` records of what they can see), what is wrong,
  what it should say or that it should go, and evidence. They get a receipt code.
- The same contact, distribution and locator cannot be filed twice while open.
- While open, the matched records carry a disputed mark (``disputed``), re-matched on every
  new version of the data.
- The owning organisation's editors and admins (or the operator, once escalated) accept,
  partially accept or refuse with reasons within ``correction_days`` working days (default
  15) on core/workflow; an acceptance publishes a new version with the records corrected or
  deleted (datastore/revise.py), linked to the request."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhihui.catalog.models import Resource
from zhihui.core import audit, authz, events
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor
from zhihui.core.errors import Conflict, FieldErrors, Message, NotFound, ValidationFailed
from zhihui.core.workflow import service as workflow
from zhihui.core.workflow.config import setting
from zhihui.core.workflow.models import WorkflowCase
from zhihui.core.workflow.service import Transition, applicant, deciders, define_process
from zhihui.datastore import access, infer, query, revise
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import Storage
from zhihui.db import utcnow
from zhihui.privacy.requests.models import CorrectionRequest
from zhihui.privacy.requests.schemas import RequestIn

PROCESS = "correction"
MAX_ROWS_DEFAULT = 10
MAX_LOCATOR_COLUMNS = 5
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
FIXED = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- the process -----------------------------------------------------------------------------


def _request_of(session: Session, case: WorkflowCase) -> CorrectionRequest:
    req = session.scalar(select(CorrectionRequest).where(CorrectionRequest.case_id == case.id))
    if req is None:  # a case opened outside this module
        raise NotFound("requests.not_found", id=case.id)
    return req


def _publish(session: Session, actor: Actor, case: WorkflowCase, req: CorrectionRequest,
             ids: list[int], data: dict[str, Any], decision: str) -> None:
    data_root = data.get("data_root")
    if data_root is None:
        raise RuntimeError("a decision that changes data needs the data root (context)")
    if not ids:
        raise Conflict("requests.no_longer_matches", version=req.version_number)
    columns = data.get("columns")
    corrections = dict(req.corrections or {})
    if columns:  # a partial acceptance may take only some of the columns asked for
        corrections = {k: v for k, v in corrections.items() if k in set(columns)}
    if req.kind == "correct" and not corrections:
        raise ValidationFailed(fields={"columns": [Message("requests.columns_none", {})]})
    version = revise.revise(
        session, actor, req.distribution_id, data_root=Path(data_root),
        deletions=ids if req.kind == "delete" else (),
        corrections={} if req.kind == "delete" else {i: corrections for i in ids},
        reason=f"revised by correction request {req.id} ({decision})",
        link={"correction_request": req.id, "case": case.id},
        expect_version=req.version_number)
    req.decision = decision
    req.decided_ids = ids
    req.result_version_id = version.id
    req.result_version = version.number


def _accept(session: Session, actor: Actor, case: WorkflowCase, data: dict[str, Any]) -> None:
    req = _request_of(session, case)
    _publish(session, actor, case, req, sorted(req.matched_ids or []), data, "accepted")


def _partially_accept(session: Session, actor: Actor, case: WorkflowCase,
                      data: dict[str, Any]) -> None:
    req = _request_of(session, case)
    matched = set(req.matched_ids or [])
    try:
        ids = sorted({int(i) for i in data.get("accepted_ids") or []})
    except (TypeError, ValueError):
        ids = []
    errors = FieldErrors()
    if not ids:
        errors.add("accepted_ids", "field.required")
    elif not set(ids) <= matched:
        errors.add("accepted_ids", "requests.ids_not_matched",
                   ids=", ".join(str(i) for i in ids if i not in matched))
    columns = data.get("columns")
    if columns and not set(columns) <= set(req.corrections or {}):
        errors.add("columns", "requests.columns_not_asked")
    errors.raise_if_any()
    _publish(session, actor, case, req, ids, data, "partially_accepted")


def _close(decision: str):  # type: ignore[no-untyped-def]
    def effect(session: Session, actor: Actor, case: WorkflowCase, data: dict[str, Any]) -> None:
        _request_of(session, case).decision = decision
    return effect


CORRECTION = define_process(
    PROCESS,
    states=("submitted", "accepted", "partially_accepted", "refused", "withdrawn"),
    initial="submitted",
    final=("accepted", "partially_accepted", "refused", "withdrawn"),
    transitions=(
        Transition("submitted", "accept", "accepted", deciders, effect=_accept),
        Transition("submitted", "partially_accept", "partially_accepted", deciders,
                   comment_required=True, effect=_partially_accept),
        Transition("submitted", "refuse", "refused", deciders, comment_required=True,
                   effect=_close("refused")),
        Transition("submitted", "withdraw", "withdrawn", applicant, is_task=False,
                   effect=_close("withdrawn")),
    ),
    deadlines={"submitted": ("correction_days", 15)},
)


# --- filing ----------------------------------------------------------------------------------


def max_rows() -> int:
    try:
        return max(1, int(setting("correction_max_rows", MAX_ROWS_DEFAULT)))
    except (TypeError, ValueError):
        return MAX_ROWS_DEFAULT


def id_number_hmac(id_number: str, secret: str) -> str:
    """The keyed hash an ID number is kept as: the same person's number gives the same hash
    (so repeated requests can be told apart), but the number cannot be read back or guessed
    by hashing candidates without the server's key."""
    key = hashlib.sha256(b"zhihui/correction-request/id-number/v1\x00" + secret.encode()).digest()
    return hmac.new(key, id_number.strip().upper().encode(), hashlib.sha256).hexdigest()


def _check(inp: RequestIn) -> FieldErrors:
    from stdnum.cn import ric

    errors = FieldErrors()
    if not inp.contact_name.strip():
        errors.add("contact_name", "field.required")
    phone = inp.contact_phone.replace(" ", "")
    if not phone and not inp.contact_email.strip():
        errors.add("contact_phone", "requests.contact_required")
    if phone and not (MOBILE.match(phone) or FIXED.match(phone)):
        errors.add("contact_phone", "field.phone_invalid")
    if inp.contact_email.strip() and not EMAIL.match(inp.contact_email.strip()):
        errors.add("contact_email", "field.email_invalid")
    if inp.id_number.strip() and not ric.is_valid(inp.id_number.strip().upper()):
        errors.add("id_number", "requests.id_number_invalid")
    if not inp.what_is_wrong.strip():
        errors.add("what_is_wrong", "field.required")
    locator = {k.strip(): str(v).strip() for k, v in inp.locator.items() if k.strip()}
    if not locator:
        errors.add("locator", "requests.locator_required")
    elif len(locator) > MAX_LOCATOR_COLUMNS:
        errors.add("locator", "requests.locator_columns", max=MAX_LOCATOR_COLUMNS)
    elif any(v == "" for v in locator.values()):
        errors.add("locator", "requests.locator_empty_value")
    if inp.kind == "correct" and not {k for k in inp.corrections if k.strip()}:
        errors.add("corrections", "requests.corrections_required")
    if inp.kind == "delete" and inp.corrections:
        errors.add("corrections", "requests.corrections_with_delete")
    return errors


def _match(view: access.View, locator: dict[str, str], limit: int) -> tuple[int, list[int]]:
    """How many records of what the filer can see match, and the first ``limit`` ids."""
    source = query.Source(view.path, ["_id", *[c["id"] for c in view.columns]], view.where)
    return _match_source(source, locator, limit)


def _match_source(source: query.Source, locator: dict[str, str], limit: int
                  ) -> tuple[int, list[int]]:
    con = query.connect({"t": source})
    try:
        where = " AND ".join(f"trim(CAST({infer.quote(c)} AS VARCHAR)) = ?" for c in locator)
        params = list(locator.values())
        count = con.execute(f"SELECT count(*) FROM t WHERE {where}", params).fetchone()[0]
        ids = [row[0] for row in con.execute(
            f"SELECT _id FROM t WHERE {where} ORDER BY _id LIMIT {int(limit)}",
            params).fetchall()]
    finally:
        con.close()
    return count, ids


def _dedupe_key(inp: RequestIn, distribution_id: str, locator: dict[str, str]) -> str:
    contact = (inp.contact_phone.replace(" ", "").replace("-", "")
               or inp.contact_email.strip().lower())
    return audit.digest({"contact": contact, "name": inp.contact_name.strip(),
                         "distribution": distribution_id, "locator": locator})


Upload = tuple[str, "bytes | IO[bytes]", "str | None"]  # name, content, claimed media type


def file_request(
    session: Session, actor: Actor, inp: RequestIn, *, data_root: Path, secret: str,
    attachments: Sequence[Upload] = (), now: datetime | None = None,
) -> tuple[CorrectionRequest, WorkflowCase]:
    """File a request; the case carries ``receipt_code`` (shown once). Nothing is stored
    unless everything is valid: the caller commits. ``now`` is when it was filed (the
    deadline counts from it); the present unless a caller replays history (the demo)."""
    errors = _check(inp)
    errors.raise_if_any()
    view = access.view(session, actor, inp.distribution_id, data_root=data_root)
    d, r, v = view.distribution, view.resource, view.version
    locator = {k.strip(): str(val).strip() for k, val in inp.locator.items() if k.strip()}
    visible = {c["id"] for c in view.columns}
    for name in locator:
        if name not in visible:
            errors.add(f"locator.{name}"[:100], "datastore.field_unknown", field=name[:100])
    corrections = {k.strip(): val for k, val in inp.corrections.items() if k.strip()}
    if inp.kind == "correct":
        try:
            revise.typed_values(v.columns, corrections)
        except ValidationFailed as exc:
            errors.fields.update(exc.fields)
    errors.raise_if_any()
    limit = max_rows()
    count, ids = _match(view, locator, limit)
    if count == 0:
        raise ValidationFailed("requests.locator_none", fields={"locator": [Message(
            "requests.locator_none", {"count": 0})]}, count=0)
    if count > limit:
        raise ValidationFailed("requests.locator_too_many", fields={"locator": [Message(
            "requests.locator_too_many", {"count": count, "max": limit})]},
            count=count, max=limit)
    key = _dedupe_key(inp, d.id, locator)
    existing = session.execute(
        select(CorrectionRequest, WorkflowCase).join(
            WorkflowCase, WorkflowCase.id == CorrectionRequest.case_id).where(
            CorrectionRequest.dedupe_key == key, WorkflowCase.closed.is_(False))).first()
    if existing is not None:
        old, old_case = existing
        raise Conflict("requests.duplicate", receipt=old.receipt_hint,
                       filed=old_case.created.strftime("%Y-%m-%d"), state=old_case.state)
    case = workflow.open_case(
        session, actor, PROCESS, ("distribution", d.id), owner_org_id=r.owner_org_id,
        title=f"{'删除' if inp.kind == 'delete' else '更正'}请求：{r.title}"[:300],
        applicant_name=inp.contact_name.strip(), receipt=True, now=now,
        data={"resource_id": r.id, "kind": inp.kind, "matched": len(ids)})
    code = case.receipt_code or ""
    req = CorrectionRequest(
        case_id=case.id, resource_id=r.id, distribution_id=d.id, org_id=r.owner_org_id,
        version_number=v.number, contact_name=inp.contact_name.strip()[:100],
        contact_phone=inp.contact_phone.replace(" ", "")[:30],
        contact_email=inp.contact_email.strip()[:200],
        id_number_hmac=(id_number_hmac(inp.id_number, secret) if inp.id_number.strip()
                        else None),
        kind=inp.kind, what_is_wrong=inp.what_is_wrong.strip(), corrections=corrections,
        locator=locator, matched_ids=ids, dedupe_key=key,
        receipt_hint=f"{code[:4]}-…-{code[-4:]}", created=now or utcnow())
    session.add(req)
    session.flush()
    case.data = {**case.data, "page": f"/requests/manage/{req.id}"}
    audit.record(session, actor, "privacy.request.file", "correction_request", req.id,
                 org_id=r.owner_org_id,
                 content={"locator": locator, "corrections": corrections, "kind": inp.kind},
                 detail={"distribution": d.id, "version": v.number, "matched": len(ids),
                         "case": case.id})
    for name, content, claimed in attachments:
        workflow.attach(session, actor, case.id, name, content, data_root=data_root,
                        claimed_type=claimed, receipt=code)
    session.flush()
    case.receipt_code = code
    return req, case


# --- reading ---------------------------------------------------------------------------------


def by_receipt(session: Session, code: str) -> tuple[CorrectionRequest, WorkflowCase]:
    case = workflow.case_by_receipt(session, code)
    if case.process != PROCESS:
        raise NotFound("workflow.receipt_unknown")
    return _request_of(session, case), case


def get_request(session: Session, actor: Actor, request_id: str
                ) -> tuple[CorrectionRequest, WorkflowCase]:
    """A request with its contact details, for the answering organisation and the operator
    (and the signed-in applicant); others get 404."""
    req = session.get(CorrectionRequest, request_id) if request_id else None
    if req is None:
        raise NotFound("requests.not_found", id=request_id[:100])
    case = workflow.get_case(session, actor, req.case_id)
    return req, case


def decide(
    session: Session, actor: Actor, request_id: str, decision: str, *, data_root: Path,
    comment: str = "", accepted_ids: Iterable[int] | None = None,
    columns: Iterable[str] | None = None, revision: int | None = None,
    now: datetime | None = None,
) -> tuple[CorrectionRequest, WorkflowCase]:
    """Accept, partially accept (``accepted_ids``, optionally only some ``columns``) or refuse
    a request; an acceptance publishes the corrected version in the same transaction."""
    req, case = get_request(session, actor, request_id)
    data: dict[str, Any] = {}
    if accepted_ids is not None:
        data["accepted_ids"] = list(accepted_ids)
    if columns:
        data["columns"] = list(columns)
    workflow.act(session, actor, case.id, decision, comment=comment, data=data or None,
                 revision=revision, now=now, context={"data_root": str(data_root)})
    return req, case


def withdraw(session: Session, code: str, actor: Actor) -> tuple[CorrectionRequest, WorkflowCase]:
    req, case = by_receipt(session, code)
    workflow.act(session, actor, case.id, "withdraw", receipt=code)
    return req, case


def disputed(session: Session, distribution_id: str) -> set[int]:
    """异议标注: the ``_id`` of every record under an open request on this distribution."""
    rows = session.scalars(select(CorrectionRequest.matched_ids).join(
        WorkflowCase, WorkflowCase.id == CorrectionRequest.case_id).where(
        CorrectionRequest.distribution_id == distribution_id, WorkflowCase.closed.is_(False)))
    return {int(i) for ids in rows for i in (ids or [])}


def queue(session: Session, actor: Actor, org: Organisation, *, open_only: bool = True
          ) -> list[tuple[CorrectionRequest, WorkflowCase]]:
    """The organisation's requests, soonest deadline first (its members, the operator)."""
    authz.require(actor, "correction.queue", org)
    q = select(CorrectionRequest, WorkflowCase).join(
        WorkflowCase, WorkflowCase.id == CorrectionRequest.case_id).where(
        CorrectionRequest.org_id == org.id)
    if open_only:
        q = q.where(WorkflowCase.closed.is_(False))
    q = q.order_by(WorkflowCase.closed, WorkflowCase.due, WorkflowCase.created.desc())
    return [(req, case) for req, case in session.execute(q.limit(500)).all()]


def overdue_summary(session: Session, actor: Actor, org: Organisation) -> dict[str, Any]:
    """An organisation's requests answered late (Art. 50, answered within the deadline).

    Everyone sees how many: a city publishes how its departments keep their deadlines, as
    it does for other government services. Only the organisation's members and the operator
    (``correction.queue``) see each one (resource, kind, filing date, deadline, escalation,
    a link to answer it): the list would tell the public which records someone disputes, and
    on a small table that can point at a person. ``listed`` says which of the two was given."""
    cases = [c for c in workflow.overdue(session, org_id=org.id) if c.process == PROCESS]
    if not authz.can(actor, "correction.queue", org):
        return {"count": len(cases), "listed": False, "requests": []}
    by_case = {r.case_id: r for r in session.scalars(select(CorrectionRequest).where(
        CorrectionRequest.case_id.in_([c.id for c in cases])))} if cases else {}
    titles = {r.id: r.title for r in session.scalars(select(Resource).where(
        Resource.id.in_([c.data.get("resource_id") for c in cases])))} if cases else {}
    return {"count": len(cases), "listed": True, "requests": [
        {"case_id": c.id, "request_id": by_case[c.id].id if c.id in by_case else None,
         "kind": by_case[c.id].kind if c.id in by_case else None,
         "resource_id": c.data.get("resource_id"),
         "resource_title": titles.get(c.data.get("resource_id"), ""),
         "filed": c.created.isoformat(), "due": c.due.isoformat() if c.due else None,
         "escalated": c.escalated} for c in cases]}


def open_count(session: Session, org_id: str) -> int:
    """How many requests the organisation has yet to answer (for its own members' pages)."""
    return session.scalar(select(func.count()).select_from(CorrectionRequest).join(
        WorkflowCase, WorkflowCase.id == CorrectionRequest.case_id).where(
        CorrectionRequest.org_id == org_id, WorkflowCase.closed.is_(False))) or 0


def report_target(session: Session, actor: Actor, resource_id: str
                  ) -> tuple[Resource, list[Any]]:
    """The resource a "report an error" link names, and its files that hold data (the
    distributions a request can be filed against), as ``actor`` may see them."""
    from zhihui.catalog import service as catalog

    r = catalog.get_resource(session, actor, resource_id)
    files = [d for d in r.distributions if d.kind == "file" and session.scalar(
        select(func.count()).select_from(DatastoreVersion).where(
            DatastoreVersion.distribution_id == d.id))]
    if not files:
        raise NotFound("requests.no_data", title=r.title[:100])
    return r, files


def public_dict(req: CorrectionRequest, case: WorkflowCase, session: Session) -> dict[str, Any]:
    """What the receipt shows: the request and its answers, without the contact details."""
    events_ = workflow.events_of(session, case)
    return {
        "id": req.id, "state": case.state, "kind": req.kind, "filed": case.created.isoformat(),
        "due": case.due.isoformat() if case.due else None, "escalated": case.escalated,
        "resource_id": req.resource_id, "distribution_id": req.distribution_id,
        "locator": req.locator, "matched": len(req.matched_ids or []),
        "what_is_wrong": req.what_is_wrong, "corrections": req.corrections,
        "decision": req.decision, "result_version": req.result_version,
        "events": [{"action": e.action, "state": e.to_state, "at": e.at.isoformat(),
                    "comment": e.comment} for e in events_ if e.action != "attach"],
        "attachments": [{"name": a.name, "media_type": a.media_type, "size": a.size}
                        for a in workflow.attachments_of(session, case)],
    }


def full_dict(req: CorrectionRequest, case: WorkflowCase, session: Session) -> dict[str, Any]:
    """For the answering organisation: the contact details and the matched record ids too."""
    return {**public_dict(req, case, session), "case_id": case.id, "revision": case.revision,
            "contact_name": req.contact_name, "contact_phone": req.contact_phone,
            "contact_email": req.contact_email, "id_number_given": req.id_number_hmac is not None,
            "matched_ids": req.matched_ids, "version": req.version_number}


# --- a new version of the data: the disputed records, found again --------------------------


@events.on("datastore.version_published")
def rematch(session: Session, *, version: DatastoreVersion, data_root: Path,
            **_: Any) -> None:
    """The open requests on this distribution match their locator again on the new version,
    so the disputed mark follows the records (a revision keeps ``_id``; a new upload may not)."""
    open_requests = session.scalars(select(CorrectionRequest).join(
        WorkflowCase, WorkflowCase.id == CorrectionRequest.case_id).where(
        CorrectionRequest.distribution_id == version.distribution_id,
        WorkflowCase.closed.is_(False))).all()
    if not open_requests:
        return
    path = Storage(data_root).data_file(version.path)
    names = {c["id"] for c in version.columns}
    for req in open_requests:
        if req.version_number == version.number:
            continue
        if set(req.locator) <= names:
            _, ids = _match_source(query.Source(path), req.locator, max_rows())
        else:
            ids = []
        req.matched_ids = ids
        req.version_number = version.number
