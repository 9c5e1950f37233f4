"""The approval engine: who may take which action from which state, deadlines, replays,
escalation, comments, evidence, and an audit entry for every step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import ANONYMOUS, SYSTEM
from zhihui.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
    ValidationFailed,
)
from zhihui.core.workflow import service as wf
from zhihui.core.workflow.models import WorkflowCase, WorkflowEvent
from zhihui.core.workflow.service import Transition, applicant, deciders, define_process

PROCESS = define_process(
    "test_application",
    states=("submitted", "needs_info", "approved", "refused", "withdrawn"),
    initial="submitted",
    final=("approved", "refused", "withdrawn"),
    transitions=(
        Transition("submitted", "approve", "approved", deciders),
        Transition("submitted", "refuse", "refused", deciders, comment_required=True),
        Transition("submitted", "ask", "needs_info", deciders, comment_required=True),
        Transition("needs_info", "supply", "submitted", applicant),
        Transition("submitted", "withdraw", "withdrawn", applicant, is_task=False),
        Transition("needs_info", "withdraw", "withdrawn", applicant, is_task=False),
    ),
    deadlines={"submitted": ("test_days", 10), "needs_info": ("test_reply_days", 5)},
)
FILED = datetime(2024, 2, 1, 2, tzinfo=UTC)  # Thursday 1 Feb 2024, 10:00 in Hangzhou


def _open(city, role="public", *, receipt=False, now=FILED):
    actor = ANONYMOUS if role == "anonymous" else city.actors[role]
    with city.db.session() as s:
        case = wf.open_case(s, actor, "test_application", ("resource", city.resources["open"]),
                            owner_org_id=city.orgs["jtj"], title="申请公交数据",
                            receipt=receipt, now=now, data={"purpose": "研究"})
        return case.id, case.receipt_code


def _entries(db, case_id):
    with db.session() as s:
        return [e.action for e in s.scalars(select(AuditEntry).where(
            AuditEntry.target_id == case_id).order_by(AuditEntry.id))]


def test_opening_a_case_sets_its_deadline_in_working_days_across_spring_festival(city):
    case_id, _ = _open(city)
    with city.db.session() as s:
        case = s.get(WorkflowCase, case_id)
        # Feb 2, 4 (Sun, make-up), 5,6,7,8,9, [10-17 off], 18 (Sun, make-up), 19, 20:
        # the 10th working day is 20 Feb, due at its end in Hangzhou
        assert case.due == datetime(2024, 2, 20, 15, 59, 59, 999999, tzinfo=UTC)
        assert case.state == "submitted" and not case.closed
    assert _entries(city.db, case_id) == ["workflow.open"]


def test_the_deadline_is_configurable(city, monkeypatch):
    monkeypatch.setenv("ZHIHUI_WORKFLOW__TEST_DAYS", "1")
    case_id, _ = _open(city)
    with city.db.session() as s:
        assert s.get(WorkflowCase, case_id).due.date() == datetime(2024, 2, 2).date()


@pytest.mark.parametrize("role,allowed", [
    ("editor", True), ("admin", True), ("sysadmin", True),
    ("member", False), ("other_editor", False), ("public", False),
])
def test_who_may_approve(city, role, allowed):
    case_id, _ = _open(city, "public")
    with city.db.session() as s:
        if allowed:
            case = wf.act(s, city.actors[role], case_id, "approve")
            assert case.state == "approved" and case.closed and case.due is None
        elif role in ("other_editor",):
            with pytest.raises(NotFound):  # not a party: the case does not show
                wf.act(s, city.actors[role], case_id, "approve")
        else:
            with pytest.raises(Forbidden) as exc:
                wf.act(s, city.actors[role], case_id, "approve")
            assert exc.value.message.key == "workflow.forbidden"


def test_anonymous_needs_the_receipt_and_may_then_withdraw(city):
    case_id, code = _open(city, "anonymous", receipt=True)
    assert code and len(code) == 19
    with city.db.session() as s:
        with pytest.raises(NotFound):
            wf.act(s, ANONYMOUS, case_id, "withdraw")
        with pytest.raises(Forbidden):  # the receipt makes one the applicant, no more
            wf.act(s, ANONYMOUS, case_id, "approve", receipt=code)
        case = wf.act(s, ANONYMOUS, case_id, "withdraw", receipt=code.lower().replace("-", ""))
        assert case.state == "withdrawn"
    with city.db.session() as s:
        assert wf.case_by_receipt(s, code).id == case_id
        with pytest.raises(NotFound):
            wf.case_by_receipt(s, "AAAA-BBBB-CCCC-DDDD")
        assert s.get(WorkflowCase, case_id).receipt_hash != code  # only a hash is kept


def test_a_replayed_action_is_refused_and_applied_once(city):
    case_id, _ = _open(city)
    with city.db.session() as s:
        wf.act(s, city.actors["editor"], case_id, "approve", comment="同意")
    with city.db.session() as s, pytest.raises(Conflict) as exc:
        wf.act(s, city.actors["admin"], case_id, "approve")
    assert exc.value.message.key == "workflow.already_done"
    assert exc.value.message.params["by"] == "editor"
    with city.db.session() as s:
        actions = [e.action for e in s.scalars(select(WorkflowEvent).where(
            WorkflowEvent.case_id == case_id))]
    assert actions == ["open", "approve"]
    assert _entries(city.db, case_id) == ["workflow.open", "workflow.approve"]


def test_an_action_not_allowed_from_the_state_says_what_is(city):
    case_id, _ = _open(city)
    with city.db.session() as s, pytest.raises(Conflict) as exc:
        wf.act(s, city.actors["public"], case_id, "supply")
    assert exc.value.message.key == "workflow.not_from_state"
    assert exc.value.message.params["allowed"] == "approve, refuse, ask, withdraw"
    with city.db.session() as s, pytest.raises(ValidationFailed) as exc2:
        wf.act(s, city.actors["editor"], case_id, "fly")
    assert exc2.value.message.key == "workflow.action_unknown"


def test_refusal_needs_a_reason(city):
    case_id, _ = _open(city)
    with city.db.session() as s, pytest.raises(ValidationFailed) as exc:
        wf.act(s, city.actors["editor"], case_id, "refuse", comment="  ")
    assert "comment" in exc.value.fields
    with city.db.session() as s:
        case = wf.act(s, city.actors["editor"], case_id, "refuse", comment="不符合共享条件")
        assert case.state == "refused"


def test_a_stale_revision_is_refused(city):
    case_id, _ = _open(city)
    with city.db.session() as s:
        seen = s.get(WorkflowCase, case_id).revision
        wf.act(s, city.actors["editor"], case_id, "ask", comment="请补充用途", revision=seen)
    with city.db.session() as s, pytest.raises(Conflict) as exc:
        wf.act(s, city.actors["public"], case_id, "withdraw", revision=seen)
    assert exc.value.message.key == "workflow.stale"


def test_concurrent_actions_cannot_both_apply(city):
    case_id, _ = _open(city)
    first, second = city.db.sessionmaker(), city.db.sessionmaker()
    try:
        a = first.get(WorkflowCase, case_id)
        b = second.get(WorkflowCase, case_id)
        assert a.revision == b.revision
        wf.act(first, city.actors["editor"], case_id, "approve")
        first.commit()
        with pytest.raises(Conflict):
            wf.act(second, city.actors["admin"], case_id, "refuse", comment="迟到的拒绝")
    finally:
        first.close()
        second.close()
    with city.db.session() as s:
        assert s.get(WorkflowCase, case_id).state == "approved"


def test_a_round_trip_through_needs_info_resets_the_deadline(city):
    case_id, _ = _open(city)
    later = datetime(2024, 2, 5, 2, tzinfo=UTC)
    with city.db.session() as s:
        case = wf.act(s, city.actors["editor"], case_id, "ask", comment="请补充", now=later)
        # Feb 6,7,8,9,18 -> 5 working days
        assert case.due.date() == datetime(2024, 2, 18).date()
        case = wf.act(s, city.actors["public"], case_id, "supply", now=later)
        assert case.state == "submitted"


def test_tasks_wait_for_the_right_people(city):
    case_id, _ = _open(city)
    with city.db.session() as s:
        assert [c.id for c in wf.tasks_for(s, city.actors["editor"])] == [case_id]
        assert [c.id for c in wf.tasks_for(s, city.actors["admin"])] == [case_id]
        assert wf.tasks_for(s, city.actors["member"]) == []  # may not decide
        assert wf.tasks_for(s, city.actors["other_editor"]) == []
        assert wf.tasks_for(s, city.actors["public"]) == []  # withdraw is not a task
        assert wf.tasks_for(s, city.actors["sysadmin"]) == []  # not escalated
        assert wf.tasks_for(s, ANONYMOUS) == []
        wf.act(s, city.actors["editor"], case_id, "ask", comment="请补充")
        assert [c.id for c in wf.tasks_for(s, city.actors["public"])] == [case_id]
        assert wf.tasks_for(s, city.actors["editor"]) == []


def test_overdue_cases_escalate_once_to_the_operator(city):
    case_id, _ = _open(city)
    on_time = datetime(2024, 2, 20, 15, tzinfo=UTC)  # 23:00 in Hangzhou on the last day
    late = datetime(2024, 2, 21, 1, tzinfo=UTC)
    with city.db.session() as s:
        assert wf.overdue(s, on_time) == []
        assert [c.id for c in wf.overdue(s, late)] == [case_id]
        with pytest.raises(Forbidden):
            wf.escalate(s, late, actor=city.actors["editor"])
        assert [c.id for c in wf.escalate(s, late)] == [case_id]
    with city.db.session() as s:
        assert wf.escalate(s, late) == []  # nothing twice
        case = s.get(WorkflowCase, case_id)
        assert case.escalated and case.escalated_at == late
        assert [c.id for c in wf.tasks_for(s, city.actors["sysadmin"])] == [case_id]
        assert [c.id for c in wf.overdue(s, late, org_id=city.orgs["jtj"])] == [case_id]
        assert wf.overdue(s, late, org_id=city.orgs["hbj"]) == []
        # the operator decides the escalated case
        wf.act(s, city.actors["sysadmin"], case_id, "approve", comment="督办后同意")
    assert _entries(city.db, case_id) == ["workflow.open", "workflow.escalate",
                                          "workflow.approve"]
    with city.db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "workflow.escalate"))
        assert entry.actor_name == SYSTEM.name and entry.org_id == city.orgs["jtj"]


def test_comments_from_parties_only(city):
    case_id, code = _open(city, "anonymous", receipt=True)
    with city.db.session() as s:
        wf.comment(s, ANONYMOUS, case_id, "补充说明", receipt=code)
        wf.comment(s, city.actors["member"], case_id, "已收到")
        with pytest.raises(NotFound):
            wf.comment(s, city.actors["other_editor"], case_id, "路过")
    assert _entries(city.db, case_id) == ["workflow.open", "workflow.comment",
                                          "workflow.comment"]


PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 20


def test_attachments_are_sniffed_not_trusted(city, settings):
    case_id, code = _open(city, "anonymous", receipt=True)
    root = settings.data_root
    with city.db.session() as s:
        a = wf.attach(s, ANONYMOUS, case_id, "营业执照.pdf", PDF, data_root=root, receipt=code,
                      claimed_type="application/pdf")
        assert a.media_type == "application/pdf" and a.size == len(PDF)
        b = wf.attach(s, ANONYMOUS, case_id, "现场照片", PNG, data_root=root, receipt=code)
        assert b.media_type == "image/png"
        c = wf.attach(s, ANONYMOUS, case_id, "说明.txt", "情况说明：地址有误".encode("gb18030"),
                      data_root=root, receipt=code)
        assert c.media_type == "text/plain"
        again = wf.attach(s, ANONYMOUS, case_id, "copy.pdf", PDF, data_root=root, receipt=code)
        assert again.sha256 == a.sha256
    assert len(list((root / "_attachments").rglob("*"))) == 3 + 3  # 3 files in 3 folders
    with city.db.session() as s:
        for name, content, key in [
            ("证明.pdf", EXE, "workflow.attachment_type"),  # an exe is never accepted
            ("photo.pdf", PNG, "workflow.attachment_mismatch"),  # a png named .pdf
            ("empty.pdf", b"", None),
        ]:
            with pytest.raises(ValidationFailed) as exc:
                wf.attach(s, ANONYMOUS, case_id, name, content, data_root=root, receipt=code)
            if key:
                assert exc.value.message.key == key
                assert "attachment" in exc.value.fields
        with pytest.raises(ValidationFailed) as exc:
            wf.attach(s, ANONYMOUS, case_id, "scan", PNG, data_root=root, receipt=code,
                      claimed_type="application/pdf")
        assert exc.value.message.params["actual"] == "image/png"
        with pytest.raises(NotFound):  # without the receipt the case does not show
            wf.attach(s, ANONYMOUS, case_id, "a.pdf", PDF, data_root=root)


def test_attachment_size_cap(city, settings, monkeypatch):
    monkeypatch.setenv("ZHIHUI_WORKFLOW__ATTACHMENT_MAX_BYTES", "40")
    case_id, _ = _open(city)
    with city.db.session() as s, pytest.raises(TooLarge):
        wf.attach(s, city.actors["public"], case_id, "big.pdf", PDF + b" " * 40,
                  data_root=settings.data_root)


def test_a_process_that_contradicts_itself_fails_at_definition():
    with pytest.raises(ValueError, match="unknown state"):
        define_process("broken", states=("a", "b"), initial="a", final=("b",),
                       transitions=(Transition("a", "go", "c", deciders),))
    with pytest.raises(ValueError, match="leaves final state"):
        define_process("broken", states=("a", "b"), initial="a", final=("b",),
                       transitions=(Transition("b", "go", "a", deciders),))
