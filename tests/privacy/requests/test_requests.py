"""Art. 50 requests to correct or delete: filing, the disputed mark, the organisation's answer
in working days, the corrected version, and every kind of bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from sqlalchemy import select

from zhihui.core.accounts.models import Organisation
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import ANONYMOUS
from zhihui.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from zhihui.core.workflow import service as workflow
from zhihui.datastore import query
from zhihui.datastore import service as datastore
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import Storage, relation
from zhihui.privacy.requests import service as requests
from zhihui.privacy.requests.models import CorrectionRequest
from zhihui.privacy.requests.schemas import RequestIn

SECRET = "test-secret"
USCC = "统一社会信用代码"


def _input(dist, **over):
    data = dict(distribution_id=dist, contact_name="王小明", contact_phone="13912345678",
                locator={USCC: "91330100MA27XK2B2C"}, kind="correct",
                what_is_wrong="注册资本已于2024年变更", corrections={"注册资本": "1200"},
                id_number="11010519491231002X")
    data.update(over)
    return RequestIn(**data)


def _file(city, settings, dist, actor=ANONYMOUS, attachments=(), **over):
    with city.db.session() as s:
        req, case = requests.file_request(s, actor, _input(dist, **over),
                                          data_root=settings.data_root, secret=SECRET,
                                          attachments=attachments)
        return req.id, case.id, case.receipt_code


def _rows(settings, db, dist):
    with db.session() as s:
        v = s.scalar(select(DatastoreVersion).where(DatastoreVersion.distribution_id == dist)
                     .order_by(DatastoreVersion.number.desc()).limit(1))
        path = Storage(settings.data_root).data_file(v.path)
    con = duckdb.connect()
    try:
        rows = con.execute(f"SELECT * FROM {relation(path)} "
                           "ORDER BY _id").fetchall()
    finally:
        con.close()
    return v.number, rows


def test_anyone_files_and_follows_it_by_receipt(city, settings, companies):
    req_id, case_id, code = _file(city, settings, companies)
    with city.db.session() as s:
        req, case = requests.by_receipt(s, code)
        assert req.id == req_id and case.state == "submitted"
        assert req.matched_ids == [2] and req.org_id == city.orgs["jtj"]
        # the ID number is kept only as its keyed hash
        assert req.id_number_hmac == requests.id_number_hmac("11010519491231002x", SECRET)
        assert "11010519491231002X" not in str(requests.full_dict(req, case, s))
        shown = requests.public_dict(req, case, s)
        assert "contact_phone" not in shown and shown["matched"] == 1
        # 15 working days by default
        assert case.due > case.created + timedelta(days=19)
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "workflow.open" in actions and "privacy.request.file" in actions


def test_the_records_are_marked_disputed_while_open(city, settings, companies):
    _req, _case, code = _file(city, settings, companies)
    with city.db.session() as s:
        assert requests.disputed(s, companies) == {2}
        out = datastore.search(s, ANONYMOUS, companies, query.Search(),
                               data_root=settings.data_root)
        assert out["disputed"] == [2]
        requests.withdraw(s, code, ANONYMOUS)
    with city.db.session() as s:
        assert requests.disputed(s, companies) == set()


def test_locators_matching_nothing_or_too_much_say_how_many(city, settings, companies,
                                                           monkeypatch):
    with pytest.raises(ValidationFailed) as none:
        _file(city, settings, companies, locator={USCC: "nope"})
    assert none.value.message.key == "requests.locator_none"
    with pytest.raises(ValidationFailed) as many:
        _file(city, settings, companies, locator={"行业": "电子"})
    assert many.value.message.params == {"count": 30, "max": 10}
    monkeypatch.setenv("ZHIHUI_WORKFLOW__CORRECTION_MAX_ROWS", "30")
    _file(city, settings, companies, locator={"行业": "电子"})
    with pytest.raises(ValidationFailed) as unknown:
        _file(city, settings, companies, locator={"法人": "张三"})
    assert "locator.法人" in unknown.value.fields


def test_missing_and_malformed_fields_are_named(city, settings, companies):
    with pytest.raises(ValidationFailed) as exc:
        _file(city, settings, companies, contact_name=" ", contact_phone="", what_is_wrong="",
              id_number="110105194912310021", locator={}, corrections={})
    assert set(exc.value.fields) == {"contact_name", "contact_phone", "what_is_wrong",
                                     "id_number", "locator", "corrections"}
    with pytest.raises(ValidationFailed) as typed:
        _file(city, settings, companies, corrections={"注册资本": "一千万"})
    assert "corrections.注册资本" in typed.value.fields
    with pytest.raises(ValidationFailed):
        _file(city, settings, companies, contact_phone="12345")
    with city.db.session() as s:
        assert s.scalar(select(CorrectionRequest)) is None  # nothing stored


def test_a_repeated_submission_is_refused_with_the_existing_receipt(city, settings, companies):
    _req, _case, code = _file(city, settings, companies)
    with pytest.raises(Conflict) as exc:
        _file(city, settings, companies, what_is_wrong="再说一遍")
    hint = exc.value.message.params["receipt"]
    assert hint.startswith(code[:4]) and hint.endswith(code[-4:])
    with city.db.session() as s:
        assert len(s.scalars(select(CorrectionRequest)).all()) == 1


def test_evidence_that_is_not_what_it_claims_refuses_the_whole_request(city, settings,
                                                                       companies):
    exe = b"MZ\x90\x00" + b"\x00" * 100
    with pytest.raises(ValidationFailed) as exc:
        _file(city, settings, companies, attachments=[("营业执照.pdf", exe, "application/pdf")])
    assert exc.value.message.key == "workflow.attachment_type"
    with city.db.session() as s:
        assert s.scalar(select(CorrectionRequest)) is None
    pdf = b"%PDF-1.4\n%%EOF\n"
    _req, case_id, _code = _file(city, settings, companies,
                                  attachments=[("变更通知书.pdf", pdf, "application/pdf")])
    with city.db.session() as s:
        [a] = workflow.attachments_of(s, s.get(workflow.WorkflowCase, case_id))
        assert a.media_type == "application/pdf"


def test_accepting_publishes_a_corrected_version_linked_to_the_request(city, settings,
                                                                       companies):
    req_id, case_id, code = _file(city, settings, companies)
    before, rows_before = _rows(settings, city.db, companies)
    with city.db.session() as s, pytest.raises(Forbidden):
        requests.decide(s, city.actors["member"], req_id, "accept",
                        data_root=settings.data_root)
    with city.db.session() as s, pytest.raises(NotFound):
        requests.decide(s, city.actors["other_editor"], req_id, "accept",
                        data_root=settings.data_root)
    with city.db.session() as s:
        req, case = requests.decide(s, city.actors["editor"], req_id, "accept",
                                    comment="经核实，予以更正", data_root=settings.data_root)
        assert case.state == "accepted" and req.result_version == before + 1
    number, rows = _rows(settings, city.db, companies)
    assert number == before + 1
    assert rows[1][0] == 2 and rows[1][4] == 1200  # 注册资本 corrected, same _id
    assert rows[0] == rows_before[0] and len(rows) == len(rows_before)
    with city.db.session() as s:
        v = s.scalar(select(DatastoreVersion).where(DatastoreVersion.number == number,
                                                    DatastoreVersion.distribution_id == companies))
        assert v.report["revision"]["link"]["correction_request"] == req_id
        assert f"correction request {req_id}" in v.report["revision"]["reason"]
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "datastore.revise"))
        assert entry.detail["link"]["correction_request"] == req_id
        assert requests.disputed(s, companies) == set()
        # the old version stays readable by its owner, unchanged
        old = datastore.search(s, city.actors["editor"], companies, query.Search(),
                               data_root=settings.data_root, number=before)
        assert old["records"][1]["注册资本"] == 800
    # a replay applies nothing twice
    with city.db.session() as s, pytest.raises(Conflict) as exc:
        requests.decide(s, city.actors["admin"], req_id, "accept", data_root=settings.data_root)
    assert exc.value.message.key == "workflow.already_done"
    assert _rows(settings, city.db, companies)[0] == number


def test_a_deletion_request_removes_the_record(city, settings, companies):
    req_id, _case, _code = _file(city, settings, companies, kind="delete", corrections={},
                                 locator={"企业名称": "杭州良渚文化传媒有限公司"})
    with city.db.session() as s:
        requests.decide(s, city.actors["admin"], req_id, "accept", data_root=settings.data_root)
    _n, rows = _rows(settings, city.db, companies)
    assert 3 not in [r[0] for r in rows] and len(rows) == len(
        [r for r in range(len(rows) + 1)]) - 1


def test_partial_acceptance_and_refusal_need_reasons(city, settings, companies, monkeypatch):
    monkeypatch.setenv("ZHIHUI_WORKFLOW__CORRECTION_MAX_ROWS", "30")
    req_id, _case, _code = _file(city, settings, companies, locator={"行业": "电子"},
                                 corrections={"行业": "电子信息", "注册资本": "150"})
    with city.db.session() as s, pytest.raises(ValidationFailed) as exc:
        requests.decide(s, city.actors["editor"], req_id, "partially_accept",
                        data_root=settings.data_root, accepted_ids=[4, 5])
    assert "comment" in exc.value.fields
    with city.db.session() as s, pytest.raises(ValidationFailed) as exc2:
        requests.decide(s, city.actors["editor"], req_id, "partially_accept", comment="部分",
                        data_root=settings.data_root, accepted_ids=[1])
    assert "accepted_ids" in exc2.value.fields
    with city.db.session() as s:
        requests.decide(s, city.actors["editor"], req_id, "partially_accept",
                        comment="仅两家已变更行业", accepted_ids=[4, 5], columns=["行业"],
                        data_root=settings.data_root)
    _n, rows = _rows(settings, city.db, companies)
    by_id = {r[0]: r for r in rows}
    assert by_id[4][3] == "电子信息" and by_id[4][4] == 100 and by_id[6][3] == "电子"
    other, _c, _ = _file(city, settings, companies, contact_phone="0571-85252000")
    with city.db.session() as s, pytest.raises(ValidationFailed):
        requests.decide(s, city.actors["editor"], other, "refuse", data_root=settings.data_root)
    with city.db.session() as s:
        req, case = requests.decide(s, city.actors["editor"], other, "refuse",
                                    comment="登记信息与原始档案一致", data_root=settings.data_root)
        assert req.decision == "refused" and req.result_version is None


def test_a_new_upload_moves_the_disputed_mark_with_the_record(city, settings, companies):
    import io

    from tests.datastore.helpers import csv_text
    from tests.privacy.requests.conftest import COMPANIES
    from zhihui.core.authz import SYSTEM
    from zhihui.datastore import versions

    _file(city, settings, companies)
    reordered = [COMPANIES[0], COMPANIES[2], COMPANIES[1]] + COMPANIES[3:]
    with city.db.session() as s:
        versions.ingest(s, SYSTEM, companies, io.BytesIO(csv_text(reordered, None).encode()),
                        "v2.csv", data_root=settings.data_root)
    with city.db.session() as s:
        assert requests.disputed(s, companies) == {1}


def test_overdue_requests_escalate_and_show_on_the_organisation(city, settings, companies):
    _req, case_id, _ = _file(city, settings, companies)
    with city.db.session() as s:
        late = s.get(workflow.WorkflowCase, case_id).due + timedelta(hours=1)
        jtj = s.get(Organisation, city.orgs["jtj"])
        assert requests.overdue_summary(s, ANONYMOUS, jtj)["count"] == 0
        workflow.escalate(s, late)
    with city.db.session() as s:
        s.get(workflow.WorkflowCase, case_id).due = datetime(2020, 1, 1, tzinfo=UTC)
    with city.db.session() as s:
        jtj = s.get(Organisation, city.orgs["jtj"])
        summary = requests.overdue_summary(s, city.actors["member"], jtj)
        assert summary["count"] == 1 and summary["requests"][0]["escalated"]
        assert summary["listed"] and summary["requests"][0]["request_id"] == _req
        assert "王小明" not in str(summary)
        # the public sees how many, not which
        assert requests.overdue_summary(s, ANONYMOUS, jtj) == {
            "count": 1, "listed": False, "requests": []}
        assert requests.overdue_summary(s, city.actors["sysadmin"], jtj)["listed"]
        assert [c.id for c in workflow.tasks_for(s, city.actors["sysadmin"])] == [case_id]
