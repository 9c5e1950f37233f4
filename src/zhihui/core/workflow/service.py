"""The approval engine every module shares: processes defined in code, cases that move
through their states, deadlines in working days, escalation to the operator, comments and
evidence. Art. 46 (sharing applications answered within a deadline) and Art. 50 (requests to
correct or delete) run on it.

A process is data: states, an initial state, final states, transitions (from-state, action,
to-state, who may take it as a function over (actor, case) that asks ``core.authz``, whether a
reason is required, an optional effect run in the same transaction) and deadlines per state
(a settings name and a default number of working days). ``act`` is the one door through which
a case changes state; every change is an event row and an audit entry in the caller's
transaction. docs/workflow.md describes the API."""

from __future__ import annotations

import hashlib
import importlib
import os
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhihui.core import audit, authz
from zhihui.core.authz import SYSTEM, Actor
from zhihui.core.errors import (
    Conflict,
    Forbidden,
    Message,
    NotAuthenticated,
    NotFound,
    TooLarge,
    ValidationFailed,
)
from zhihui.core.workflow import sniff
from zhihui.core.workflow.calendar import default_calendar
from zhihui.core.workflow.config import workflow_settings
from zhihui.core.workflow.models import WorkflowAttachment, WorkflowCase, WorkflowEvent
from zhihui.db import utcnow

Role = Callable[[Actor, WorkflowCase], bool]
Effect = Callable[[Session, Actor, WorkflowCase, dict[str, Any]], None]

# modules whose import defines processes (each module adds its own line), imported on the
# first lookup so that every process (web, CLI, the deadline checker) knows them all
PROCESS_MODULES: list[str] = [
    "zhihui.exchange.applications",
]

COMMENT_MAX = 5000


# --- who may act: functions over (actor, case), answered by core.authz ---------------------


def deciders(actor: Actor, case: WorkflowCase) -> bool:
    """The owning organisation's admins and editors, and the operator (``workflow.decide``)."""
    return authz.can(actor, "workflow.decide", case)


def applicant(actor: Actor, case: WorkflowCase) -> bool:
    """Whoever filed the case: the signed-in user, or anyone who shows its receipt code."""
    if case.receipt_shown:
        return True
    return actor.user_id is not None and actor.user_id == case.applicant_id


def operator(actor: Actor, case: WorkflowCase) -> bool:
    """The platform operator (大数据管理机构), who takes escalated cases (Art. 7)."""
    return authz.can(actor, "workflow.escalate", case)


# --- process definitions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    allowed: Role
    comment_required: bool = False
    # a case waiting in ``source`` is a task for whoever may take this action
    # (False for actions one may take but nobody waits for, such as withdrawing)
    is_task: bool = True
    effect: Effect | None = None


@dataclass(frozen=True)
class Process:
    name: str
    states: tuple[str, ...]
    initial: str
    final: frozenset[str]
    transitions: tuple[Transition, ...]
    # state -> (settings name, default working days), e.g. {"submitted": ("correction_days", 15)}
    deadlines: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def from_state(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if t.source == state]

    def find(self, state: str, action: str) -> Transition | None:
        return next((t for t in self.transitions
                     if t.source == state and t.action == action), None)

    def actions(self) -> set[str]:
        return {t.action for t in self.transitions}

    def days(self, state: str) -> int | None:
        """The configured working days for ``state`` (None: no deadline there)."""
        if state not in self.deadlines:
            return None
        name, default = self.deadlines[state]
        return workflow_settings().days(name, default)


PROCESSES: dict[str, Process] = {}
_loaded = False


def define_process(
    name: str, *, states: Iterable[str], initial: str, final: Iterable[str],
    transitions: Iterable[Transition], deadlines: Mapping[str, tuple[str, int]] | None = None,
) -> Process:
    """Register a process; a definition that contradicts itself fails at import."""
    process = Process(name=name, states=tuple(states), initial=initial,
                      final=frozenset(final), transitions=tuple(transitions),
                      deadlines=dict(deadlines or {}))
    known = set(process.states)
    problems = []
    if process.initial not in known:
        problems.append(f"initial state {initial!r} unknown")
    problems += [f"final state {s!r} unknown" for s in process.final - known]
    seen: set[tuple[str, str]] = set()
    for t in process.transitions:
        if t.source not in known or t.target not in known:
            problems.append(f"transition {t.source}-{t.action}->{t.target}: unknown state")
        if t.source in process.final:
            problems.append(f"transition {t.action!r} leaves final state {t.source!r}")
        if (t.source, t.action) in seen:
            problems.append(f"action {t.action!r} twice from {t.source!r}")
        if t.action in ("open", "comment", "attach", "escalate"):
            problems.append(f"action name {t.action!r} is reserved")
        seen.add((t.source, t.action))
    problems += [f"deadline for unknown state {s!r}" for s in process.deadlines
                 if s not in known]
    if problems:
        raise ValueError(f"process {name!r}: " + "; ".join(problems))
    PROCESSES[name] = process
    return process


def _load_processes() -> None:
    global _loaded
    if not _loaded:
        for module in PROCESS_MODULES:
            importlib.import_module(module)
        _loaded = True


def get_process(name: str) -> Process:
    if name not in PROCESSES:
        _load_processes()
    try:
        return PROCESSES[name]
    except KeyError:
        raise NotFound("workflow.process_unknown", name=name[:50]) from None


# --- receipts --------------------------------------------------------------------------------


def new_receipt() -> str:
    """A receipt code people can read out and type: 16 characters, about 80 bits."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def receipt_hash(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode()).hexdigest()


def case_by_receipt(session: Session, code: str) -> WorkflowCase:
    """The case a receipt code belongs to, marked so that its applicant may act on it."""
    case = session.scalar(select(WorkflowCase).where(
        WorkflowCase.receipt_hash == receipt_hash(code or "")))
    if case is None:
        raise NotFound("workflow.receipt_unknown")
    case.receipt_shown = True
    return case


# --- cases -----------------------------------------------------------------------------------


def _audit(session: Session, actor: Actor, case: WorkflowCase, action: str,
           detail: dict[str, Any], content: Any = None) -> None:
    audit.record(session, actor, f"workflow.{action}"[:60], "workflow_case", case.id,
                 org_id=case.owner_org_id, content=content,
                 detail={"process": case.process, **detail})


def _event(session: Session, actor: Actor, case: WorkflowCase, action: str, source: str | None,
           target: str, comment: str = "", data: dict[str, Any] | None = None,
           at: datetime | None = None) -> WorkflowEvent:
    event = WorkflowEvent(case_id=case.id, from_state=source, to_state=target, action=action,
                          actor_id=actor.user_id, actor_name=actor.name[:100],
                          comment=comment, data=data or {}, at=at or utcnow())
    session.add(event)
    return event


def _clean_comment(comment: str | None) -> str:
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(fields={"comment": [
            Message("workflow.comment_too_long", {"max": COMMENT_MAX})]})
    return text


def open_case(
    session: Session, actor: Actor, process: str | Process, subject: tuple[str, str], *,
    data: dict[str, Any] | None = None, owner_org_id: str | None = None, title: str = "",
    applicant_name: str = "", receipt: bool = False, now: datetime | None = None,
) -> WorkflowCase:
    """Start a case of ``process`` about ``subject`` (type, id), waiting on ``owner_org_id``.

    The caller checks that ``actor`` may file it (the rule belongs to the subject's module).
    With ``receipt=True`` the applicant gets a code (``case.receipt_code``, shown once, kept
    only as a hash) to follow the case without an account."""
    p = process if isinstance(process, Process) else get_process(process)
    now = now or utcnow()
    case = WorkflowCase(
        id=str(uuid.uuid4()), process=p.name, subject_type=subject[0][:50],
        subject_id=str(subject[1])[:100], title=title[:300], state=p.initial,
        owner_org_id=owner_org_id, applicant_id=actor.user_id,
        applicant_name=(applicant_name or ("" if actor.is_anonymous else actor.name))[:200],
        escalated=False, closed=p.initial in p.final, data=dict(data or {}),
        created=now, updated=now)
    days = p.days(p.initial)
    case.due = default_calendar().deadline(now, days) if days else None
    if receipt:
        case.receipt_code = new_receipt()
        case.receipt_hash = receipt_hash(case.receipt_code)
    session.add(case)
    session.flush()
    _event(session, actor, case, "open", None, p.initial, at=now)
    _audit(session, actor, case, "open", {"state": p.initial, "subject_type": case.subject_type,
                                          "subject_id": case.subject_id,
                                          "due": case.due.isoformat() if case.due else None},
           content=case.data)
    return case


def get_case(session: Session, actor: Actor, case_id: str, *, receipt: str | None = None
             ) -> WorkflowCase:
    """A case its parties may read: the owning organisation, the applicant (by account or
    receipt code), the operator and auditors. Others get 404, so a case's existence does not
    leak."""
    case = session.get(WorkflowCase, case_id) if case_id else None
    if case is None:
        raise NotFound("workflow.case_not_found", id=str(case_id)[:100])
    # decided afresh at every call: a session that once saw the code does not keep the right
    case.receipt_shown = bool(receipt and case.receipt_hash and secrets.compare_digest(
        case.receipt_hash, receipt_hash(receipt)))
    if not (case.receipt_shown or authz.can(actor, "workflow.read", case)):
        raise NotFound("workflow.case_not_found", id=str(case_id)[:100])
    return case


def available_actions(actor: Actor, case: WorkflowCase) -> list[Transition]:
    """What ``actor`` may do now with ``case``: for buttons on a page, and for tasks."""
    if case.closed:
        return []
    p = get_process(case.process)
    return [t for t in p.from_state(case.state) if t.allowed(actor, case)]


def act(
    session: Session, actor: Actor, case_id: str, action: str, *, comment: str | None = None,
    data: dict[str, Any] | None = None, revision: int | None = None, receipt: str | None = None,
    now: datetime | None = None, context: Mapping[str, Any] | None = None,
) -> WorkflowCase:
    """Take ``action`` on a case: the one way a case changes state.

    ``data`` is merged into the case's data and kept with the event; ``context`` holds what
    the transition's effect needs but that is not saved (e.g. the data root); the effect
    receives both, merged.

    Refused with 409 when the action does not leave the current state (naming it, and saying
    so plainly when the same action was already taken: a replay applies nothing), when
    ``revision`` (what the caller saw) is no longer current, or when a concurrent action won;
    with 403 (401 when anonymous) when the actor's role may not take it; with 409 and a field
    message when a required reason is missing. The transition, its event, the new deadline,
    the audit entry and the transition's effect all join the caller's transaction."""
    case = get_case(session, actor, case_id, receipt=receipt)
    p = get_process(case.process)
    if action not in p.actions():
        raise ValidationFailed("workflow.action_unknown", fields={"action": [Message(
            "field.choice", {"choices": ", ".join(sorted(p.actions()))})]}, action=action[:40])
    t = p.find(case.state, action)
    if t is None:
        _refuse_from_state(session, case, action, p)
    assert t is not None
    if revision is not None and revision != case.revision:
        raise Conflict("workflow.stale", id=case.id, revision=revision, current=case.revision)
    if not t.allowed(actor, case):
        if actor.is_anonymous and not case.receipt_shown:
            raise NotAuthenticated("workflow.forbidden", action=action)
        raise Forbidden("workflow.forbidden", action=action)
    text = _clean_comment(comment)
    if t.comment_required and not text:
        raise ValidationFailed("workflow.reason_required", fields={"comment": [
            Message("workflow.reason_required", {"action": action})]}, action=action)
    now = now or utcnow()
    source = case.state
    case.state = t.target
    case.updated = now
    case.closed = t.target in p.final
    days = p.days(t.target)
    if days:
        case.due = default_calendar().deadline(now, days)
        case.escalated = False
        case.escalated_at = None
    elif case.closed or t.target != source:
        case.due = None
    if data:
        case.data = {**(case.data or {}), **data}
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise Conflict("workflow.stale", id=case_id, revision=revision if revision is not None
                       else -1, current=-1) from None
    _event(session, actor, case, action, source, t.target, comment=text, data=data, at=now)
    _audit(session, actor, case, action, {"from": source, "to": t.target,
                                          "comment": text[:500]}, content=data or None)
    if t.effect is not None:
        try:
            t.effect(session, actor, case, {**(data or {}), **(context or {})})
            session.flush()
        except BaseException:
            # the transition stands or falls with its effect: a caller that catches the
            # error and commits anyway commits neither
            session.rollback()
            raise
    session.flush()
    return case


def _refuse_from_state(session: Session, case: WorkflowCase, action: str, p: Process) -> None:
    last = session.scalar(select(WorkflowEvent).where(
        WorkflowEvent.case_id == case.id, WorkflowEvent.action != "comment",
        WorkflowEvent.action != "attach").order_by(WorkflowEvent.id.desc()).limit(1))
    if last is not None and last.action == action:
        raise Conflict("workflow.already_done", action=action, state=case.state,
                       at=last.at.isoformat(timespec="seconds"), by=last.actor_name)
    allowed = ", ".join(t.action for t in p.from_state(case.state)) or "-"
    raise Conflict("workflow.not_from_state", action=action, state=case.state, allowed=allowed)


def comment(session: Session, actor: Actor, case_id: str, text: str, *,
            receipt: str | None = None) -> WorkflowEvent:
    """A note on the case from one of its parties; it changes no state."""
    case = get_case(session, actor, case_id, receipt=receipt)
    if actor.is_anonymous and not case.receipt_shown:
        raise NotAuthenticated()
    body = _clean_comment(text)
    if not body:
        raise ValidationFailed(fields={"comment": [Message("field.required", {})]})
    if case.closed:
        raise Conflict("workflow.closed", state=case.state)
    event = _event(session, actor, case, "comment", case.state, case.state, comment=body)
    _audit(session, actor, case, "comment", {"state": case.state}, content=body)
    session.flush()
    return event


# --- attachments -----------------------------------------------------------------------------


def attachment_path(data_root: Path, sha256: str) -> Path:
    return Path(data_root).resolve() / "_attachments" / sha256[:2] / sha256


def read_limited(source: bytes | IO[bytes], limit: int) -> bytes:
    """At most ``limit`` bytes, refusing (413) a file larger than that without reading it all."""
    content = bytes(source) if isinstance(source, bytes | bytearray) else source.read(limit + 1)
    if len(content) > limit:
        raise TooLarge("workflow.attachment_too_large", max=limit)
    return content


def check_attachment(name: str, content: bytes, claimed_type: str | None = None) -> str:
    """The media type of an acceptable evidence file, or a 409 saying what is wrong."""
    field_name = "attachment"
    if not content:
        raise ValidationFailed(fields={field_name: [Message("workflow.attachment_empty",
                                                            {"name": name})]})
    actual = sniff.sniff(content)
    if actual not in sniff.ACCEPTED:
        raise ValidationFailed("workflow.attachment_type", fields={field_name: [Message(
            "workflow.attachment_type", {"name": name, "actual": actual})]},
            name=name, actual=actual)
    claims = [c for c in (sniff.claimed(name), (claimed_type or "").split(";")[0].strip().lower())
              if c and c not in ("application/octet-stream", "binary/octet-stream")]
    for claim in claims:
        same = claim == actual or (actual == sniff.TEXT and claim in ("text/csv", sniff.TEXT))
        if not same:
            raise ValidationFailed("workflow.attachment_mismatch", fields={field_name: [Message(
                "workflow.attachment_mismatch", {"name": name, "claimed": claim,
                                                 "actual": actual})]},
                name=name, claimed=claim, actual=actual)
    return actual


def attach(
    session: Session, actor: Actor, case_id: str, name: str, content: bytes | IO[bytes], *,
    data_root: Path, claimed_type: str | None = None, receipt: str | None = None,
) -> WorkflowAttachment:
    """Keep an evidence file with the case: size-capped, its type sniffed from the bytes and
    compared with what its name (and the sender) claimed, stored once by sha256."""
    case = get_case(session, actor, case_id, receipt=receipt)
    if actor.is_anonymous and not case.receipt_shown:
        raise NotAuthenticated()
    if case.closed:
        raise Conflict("workflow.closed", state=case.state)
    name = (os.path.basename((name or "").replace("\\", "/")).strip() or "attachment")[:200]
    data = read_limited(content, workflow_settings().attachment_max_bytes)
    media_type = check_attachment(name, data, claimed_type)
    sha = hashlib.sha256(data).hexdigest()
    target = attachment_path(data_root, sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{sha}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
    row = WorkflowAttachment(case_id=case.id, sha256=sha, name=name, media_type=media_type,
                             size=len(data), actor_id=actor.user_id,
                             actor_name=actor.name[:100], created=utcnow())
    session.add(row)
    session.flush()
    _event(session, actor, case, "attach", case.state, case.state,
           data={"attachment": row.id, "name": name, "media_type": media_type})
    _audit(session, actor, case, "attach", {"attachment": row.id, "name": name,
                                            "media_type": media_type, "size": len(data)},
           content={"sha256": sha})
    return row


def get_attachment(session: Session, actor: Actor, case_id: str, attachment_id: str, *,
                   data_root: Path, receipt: str | None = None
                   ) -> tuple[WorkflowAttachment, Path]:
    """An attachment and its file, for the case's parties; the read is audited (evidence
    often holds personal information, Art. 50)."""
    case = get_case(session, actor, case_id, receipt=receipt)
    row = session.get(WorkflowAttachment, attachment_id)
    if row is None or row.case_id != case.id:
        raise NotFound("workflow.attachment_not_found", id=attachment_id[:100])
    path = attachment_path(data_root, row.sha256)
    if not path.is_file():
        raise NotFound("workflow.attachment_not_found", id=attachment_id[:100])
    audit.record_read(session, actor, "workflow_attachment", row.id, org_id=case.owner_org_id,
                      content={"sha256": row.sha256}, size=row.size,
                      detail={"case": case.id})
    return row, path


def events_of(session: Session, case: WorkflowCase) -> list[WorkflowEvent]:
    return list(session.scalars(select(WorkflowEvent).where(WorkflowEvent.case_id == case.id)
                                .order_by(WorkflowEvent.id)))


def attachments_of(session: Session, case: WorkflowCase) -> list[WorkflowAttachment]:
    return list(session.scalars(select(WorkflowAttachment).where(
        WorkflowAttachment.case_id == case.id).order_by(WorkflowAttachment.created)))


# --- tasks, deadlines, escalation ------------------------------------------------------------


def tasks_for(session: Session, actor: Actor, *, limit: int = 500) -> list[WorkflowCase]:
    """我的待办: open cases waiting for something ``actor`` may do, soonest deadline first.
    For organisation members, their organisations' cases; for the operator, escalated cases
    and cases owned by no organisation; for applicants, their own cases waiting on them."""
    if actor.is_anonymous:
        return []
    conds = []
    if actor.memberships:
        conds.append(WorkflowCase.owner_org_id.in_(list(actor.memberships)))
    if actor.user_id:
        conds.append(WorkflowCase.applicant_id == actor.user_id)
    if actor.sysadmin:
        conds += [WorkflowCase.escalated.is_(True), WorkflowCase.owner_org_id.is_(None)]
    if not conds:
        return []
    rows = session.scalars(select(WorkflowCase).where(
        WorkflowCase.closed.is_(False), or_(*conds)).order_by(
        WorkflowCase.due.is_(None), WorkflowCase.due, WorkflowCase.created).limit(limit * 2))
    out = []
    for case in rows:
        if case.process not in PROCESSES:
            _load_processes()
        if case.process not in PROCESSES:
            continue  # a process whose module is gone: nothing anyone can do here
        if any(t.is_task for t in available_actions(actor, case)):
            out.append(case)
        if len(out) >= limit:
            break
    return out


def overdue(session: Session, now: datetime | None = None, *, org_id: str | None = None
            ) -> list[WorkflowCase]:
    """Open cases past their deadline (escalated or not), oldest deadline first."""
    q = select(WorkflowCase).where(WorkflowCase.closed.is_(False), WorkflowCase.due.is_not(None),
                                   WorkflowCase.due < (now or utcnow()))
    if org_id is not None:
        q = q.where(WorkflowCase.owner_org_id == org_id)
    return list(session.scalars(q.order_by(WorkflowCase.due)))


def escalate(session: Session, now: datetime | None = None, actor: Actor = SYSTEM
             ) -> list[WorkflowCase]:
    """Mark every overdue case not yet escalated as escalated to the operator, with an event
    and an audit entry each. Running it twice escalates nothing twice."""
    authz.require(actor, "workflow.escalate")
    now = now or utcnow()
    done = []
    for case in overdue(session, now):
        if case.escalated:
            continue
        case.escalated = True
        case.escalated_at = now
        case.updated = now
        try:
            session.flush()
        except StaleDataError:  # another checker took it: it is escalated once, there
            session.rollback()
            raise Conflict("workflow.stale", id=case.id, revision=-1, current=-1) from None
        _event(session, actor, case, "escalate", case.state, case.state,
               data={"due": case.due.isoformat() if case.due else None}, at=now)
        _audit(session, actor, case, "escalate", {
            "state": case.state, "due": case.due.isoformat() if case.due else None})
        done.append(case)
    session.flush()
    return done


def check_deadlines(database: Any) -> int:
    """One round of the deadline check in its own transaction (the app runs it periodically,
    ``zhihui workflow escalate`` on demand): how many cases were escalated."""
    with database.session() as s:
        return len(escalate(s))


def case_dict(case: WorkflowCase, actor: Actor | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": case.id, "process": case.process, "subject_type": case.subject_type,
        "subject_id": case.subject_id, "title": case.title, "state": case.state,
        "owner_org_id": case.owner_org_id, "applicant_name": case.applicant_name,
        "due": case.due.isoformat() if case.due else None, "escalated": case.escalated,
        "closed": case.closed, "revision": case.revision,
        "created": case.created.isoformat(), "updated": case.updated.isoformat(),
    }
    if actor is not None:
        out["actions"] = [{"action": t.action, "to": t.target,
                           "comment_required": t.comment_required}
                          for t in available_actions(actor, case)]
    return out
