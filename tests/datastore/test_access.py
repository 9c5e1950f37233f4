"""Every read path goes through ``access.view``: when a module narrows the view (privacy's
protected view, exchange's grant), search, SQL, info and every download format show only the
narrowed columns and rows, and the audit entry says why."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.datastore.helpers import BUS_LINES, csv_text, new_distribution
from tests.datastore.test_api import upload
from tests.factories import City
from zhihui.core.authz import can
from zhihui.datastore import access

V1 = "/api/v1/datastore"


@pytest.fixture
def narrowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def only_cheap_lines(session, actor, view, number):  # type: ignore[no-untyped-def]
        if not can(actor, "resource.update", view.resource):
            cols = [c for c in view.columns if c["id"] != "联系电话"]
            return view.narrowed(columns=cols, where='"票价" < 2.6',
                                 notes={**view.notes, "test": "cheap lines, no phones"})
        return view

    monkeypatch.setattr(access, "_narrowers", [only_cheap_lines])
    yield


@pytest.fixture
def lines(client: TestClient, city: City) -> str:
    dist = new_distribution(city.db, city.resources["open"])
    assert upload(client, city, dist, csv_text(BUS_LINES).encode("gbk"), "线路.csv"
                  ).status_code == 201
    return dist


def test_a_narrowed_view_is_all_any_read_path_shows(client: TestClient, city: City, lines: str,
                                                    narrowed: None) -> None:
    out = client.get(f"{V1}/{lines}/search").json()
    assert out["total"] == 3
    assert {r["线路名称"] for r in out["records"]} == {"1路", "2路", "5路"}
    assert all("联系电话" not in r for r in out["records"])
    info = client.get(f"{V1}/{lines}").json()
    assert info["meta"]["count"] == 3 and info["meta"]["restricted"] == ["test"]
    assert "联系电话" not in {f["id"] for f in info["fields"]}

    sql = client.post(f"{V1}/sql", json={"sql": f'SELECT count(*) AS n FROM "{lines}"'}).json()
    assert sql["records"] == [{"n": 3}]
    refused = client.post(f"{V1}/sql", json={"sql": f'SELECT "联系电话" FROM "{lines}"'})
    assert refused.status_code == 400  # no such column in the view

    body = client.get(f"/datastore/dump/{lines}?format=csv").content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert "联系电话" not in rows[0] and len(rows) == 4
    assert "0571-87000001" not in body
    parquet = client.get(f"/datastore/dump/{lines}?format=parquet").content
    table = pq.read_table(io.BytesIO(parquet))
    assert table.num_rows == 3 and "联系电话" not in table.column_names
    xlsx = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/datastore/dump/{lines}?format=xlsx").content))
    assert xlsx.active.max_row == 4

    # the owner's editor reads the whole version
    full = client.get(f"{V1}/{lines}/search", headers=city.headers("editor")).json()
    assert full["total"] == 5 and "联系电话" in full["records"][0]


def test_the_audit_entry_names_what_narrowed_the_read(client: TestClient, city: City,
                                                      lines: str, narrowed: None) -> None:
    from sqlalchemy import select

    from zhihui.core.audit.models import AuditEntry

    client.get(f"{V1}/{lines}/search", headers=city.headers("other_member"))
    with city.db.session() as s:
        details = [e.detail for e in s.scalars(select(AuditEntry).where(
            AuditEntry.target_id == lines, AuditEntry.action == "data.search"))]
    assert any(d.get("through") == {"test": "cheap lines, no phones"} for d in details)
