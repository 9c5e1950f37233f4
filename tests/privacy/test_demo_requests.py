"""The demo's Art. 50 requests: filed and answered through the services on the demo's own
tables (one waiting, one accepted with a corrected version, one refused with reasons, one
overdue and escalated), the same every time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from zhihui.app import create_app
from zhihui.catalog.models import Resource
from zhihui.core.audit.models import AuditEntry
from zhihui.core.workflow.models import WorkflowCase
from zhihui.datastore.models import DatastoreVersion
from zhihui.db import Database
from zhihui.demo.loader import build_plan, load_demo
from zhihui.demo.privacy import DEMO_REQUESTS, protect_demo
from zhihui.demo.tables import build_tables, load_tables
from zhihui.privacy.requests.models import CorrectionRequest
from zhihui.settings import Settings

NAMES = {spec.resource for spec in DEMO_REQUESTS}


@pytest.fixture
def demo(settings: Settings, db: Database) -> Iterator[Database]:
    """The demo catalogue with only the tables the requests are about, then protect_demo as
    the loader calls it (the whole demo's tables take a minute; tests/demo loads them all)."""
    load_demo(db)
    with db.session() as s:
        load_tables(s, build_tables([p for p in build_plan().resources
                                     if p.data["name"] in NAMES]),
                    data_root=settings.data_root)
        protect_demo(s, settings.data_root)
    yield db


def _requests(db: Database) -> dict[str, tuple[CorrectionRequest, WorkflowCase]]:
    with db.session() as s:
        rows = s.execute(select(CorrectionRequest, WorkflowCase, Resource.name).join(
            WorkflowCase, WorkflowCase.id == CorrectionRequest.case_id).join(
            Resource, Resource.id == CorrectionRequest.resource_id)).all()
        s.expunge_all()
    return {name: (req, case) for req, case, name in rows}


def test_the_demo_has_requests_in_every_state(demo: Database, settings: Settings):
    got = _requests(demo)
    assert set(got) == NAMES
    waiting, accepted = got["enterprise-registry"], got["individual-business"]
    refused, late = got["admin-penalties"], got["abnormal-operation"]
    assert waiting[1].state == "submitted" and not waiting[1].escalated
    assert len(waiting[0].matched_ids) == 1 and waiting[0].corrections == {"注册资本": "2000"}
    assert refused[1].state == "refused" and refused[0].decision == "refused"
    assert late[1].state == "submitted" and late[1].escalated and late[0].kind == "delete"
    req, case = accepted
    assert case.state == "accepted" and req.result_version == 2
    with demo.session() as s:
        v2 = s.scalar(select(DatastoreVersion).where(
            DatastoreVersion.distribution_id == req.distribution_id,
            DatastoreVersion.number == 2))
        assert v2.report["revision"]["link"]["correction_request"] == req.id
        # the refusal's reasons are in its history, and every step is audited
        actions = set(s.scalars(select(AuditEntry.action).where(
            AuditEntry.target_id.in_([c.id for _r, c in got.values()]))))
        assert {"workflow.open", "workflow.accept", "workflow.refuse",
                "workflow.escalate"} <= actions
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "datastore.revise"))
    app = create_app(settings, demo)
    with TestClient(app) as client:
        # the corrected record, as the public reads it (through the protected copy)
        rows = client.get(f"/api/v1/datastore/{req.distribution_id}/search",
                          params={"filters": f'{{"_id": {req.matched_ids[0]}}}'}).json()
        assert rows["version"] == 2 and rows["records"][0]["组成形式"] == "家庭经营"
        # the waiting request's record is marked disputed in the data panel
        panel = client.get(f"/datastore/{waiting[0].distribution_id}/preview",
                           params={"sort": "_id"})
        assert panel.status_code == 200
        marks = client.get(f"/api/v1/datastore/{waiting[0].distribution_id}/search").json()
        assert marks["disputed"] == waiting[0].matched_ids
        # the late one shows on its organisation's page (a count, for the public)
        with demo.session() as s:
            from zhihui.core.accounts.models import Organisation

            org = s.get(Organisation, late[0].org_id).name
        over = client.get(f"/api/v1/organizations/{org}/requests/overdue").json()
        assert over["count"] >= 1


def test_the_demo_requests_name_the_same_records_every_time(demo: Database):
    """The records are picked by position in the files the seed makes byte for byte, so
    each locator holds the values of that row of the generated table, whatever the clock."""
    tables = {t.resource: t for t in build_tables(
        [p for p in build_plan().resources if p.data["name"] in NAMES])}
    got = _requests(demo)
    for spec in DEMO_REQUESTS:
        t = tables[spec.resource]
        row = dict(zip(t.columns, t.rows[spec.row], strict=True))
        assert got[spec.resource][0].locator == {c: str(row[c]) for c in spec.locator}
        assert got[spec.resource][0].matched_ids == [spec.row + 1]
