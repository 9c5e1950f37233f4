"""Personal information on ingest: detected per column, the resource's flag raised, and
whoever may not edit the resource reads only the protected copy, under the policy, on every
read path; an uncovered new version is never shown."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.datastore.helpers import new_distribution
from tests.factories import City
from tests.privacy.people import HEADERS, csv_bytes, leaks, people
from zhihui.catalog.models import Resource
from zhihui.core.audit.models import AuditEntry

V1 = "/api/v1/datastore"
P = "/api/v1/privacy/resources"

POLICY = {
    "rules": [
        {"column": "姓名", "method": "pseudonym"},
        {"column": "公民身份号码", "method": "mask"},
        {"column": "手机号码", "method": "mask"},
        {"column": "银行卡号", "method": "suppress"},
        {"column": "出生日期", "method": "generalise", "to": "month"},
        {"column": "年龄", "method": "generalise", "to": "band", "width": 10},
        {"column": "居住地址", "method": "generalise", "to": "district"},
    ],
    "quasi_identifiers": ["性别", "年龄"],
    "k": 2,
}


def upload(client: TestClient, city: City, dist: str, data: bytes, role: str = "editor"):
    return client.post(f"{V1}/{dist}/versions", headers=city.headers(role),
                       files={"upload": ("people.csv", data)})


@pytest.fixture
def table(client: TestClient, city: City) -> str:
    dist = new_distribution(city.db, city.resources["open"])
    r = upload(client, city, dist, csv_bytes(people(60)))
    assert r.status_code == 201, r.text
    return dist


def test_ingest_classifies_each_column_and_raises_the_resource_flag(
        client: TestClient, city: City, table: str) -> None:
    status = client.get(f"{P}/{city.resources['open']}", headers=city.headers("editor")).json()
    [t] = status["tables"]
    kinds = {c["column"]: (c["type"], c["personal"], c["sensitive"]) for c in t["columns"]}
    assert kinds["公民身份号码"] == ("resident_id", True, True)
    assert kinds["手机号码"] == ("mobile", True, False)
    assert kinds["银行卡号"] == ("bank_card", True, True)
    assert kinds["姓名"][:2] == ("person_name", True)
    assert kinds["服务项目"][1] is False
    assert status["personal"] == "sensitive_personal" and status["grade"] == "important"
    assert t["public_reads"] == "withheld" and status["notices"]
    with city.db.session() as s:
        actions = set(s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("privacy.%"))))
    assert {"privacy.detect", "privacy.raise"} <= actions
    # the status is the editors': other organisations are refused
    assert client.get(f"{P}/{city.resources['open']}",
                      headers=city.headers("other_editor")).status_code == 403


def test_without_a_policy_nobody_but_the_owner_reads_personal_data(
        client: TestClient, city: City, table: str) -> None:
    for headers in ({}, city.headers("other_member"), city.headers("member")):
        r = client.get(f"{V1}/{table}/search", headers=headers)
        assert r.status_code == 403, r.text
        assert "脱敏" in r.json()["error"]["message"]
        assert client.get(f"/datastore/dump/{table}", headers=headers).status_code == 403
    own = client.get(f"{V1}/{table}/search", headers=city.headers("editor")).json()
    assert own["total"] == 60 and leaks(str(own["records"]))


def test_the_public_reads_the_policy_applied_on_every_path(
        client: TestClient, city: City, table: str) -> None:
    r = client.put(f"{P}/{city.resources['open']}/policy", json=POLICY,
                   headers=city.headers("editor"))
    assert r.status_code == 200, r.text
    out = client.get(f"{V1}/{table}/search", params={"limit": 1000}).json()
    assert "银行卡号" not in out["fields"][1:] and out["records"]
    row = out["records"][0]
    assert set(row) == {"_id", *HEADERS} - {"银行卡号"}
    assert "*" * 8 in row["公民身份号码"] and row["手机号码"][3:7] == "****"
    assert len(row["出生日期"]) == 7 and "-" in row["年龄"]
    assert row["居住地址"].startswith("杭州市") and not row["居住地址"].endswith("号")
    assert len(row["姓名"]) == 24
    assert out["total"] <= 60  # small (sex, age band) groups are dropped at k = 2
    for fmt in ("csv", "tsv", "json"):
        body = client.get(f"/datastore/dump/{table}?format={fmt}").text
        assert leaks(body) == [], fmt
    parquet = pq.read_table(io.BytesIO(client.get(f"/datastore/dump/{table}?format=parquet")
                                       .content))
    assert "银行卡号" not in parquet.column_names
    assert leaks(str(parquet.to_pylist())) == []
    sql = client.post(f"{V1}/sql", json={"sql": f'SELECT * FROM "{table}"'}).json()
    assert sql["records"] and leaks(str(sql["records"])) == []
    # pseudonyms are stable: the same person, the same pseudonym, in every read
    again = client.get(f"{V1}/{table}/search", params={"limit": 1000}).json()["records"]
    assert [x["姓名"] for x in again] == [x["姓名"] for x in out["records"]]
    with city.db.session() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "privacy.policy"))


def test_a_new_version_with_an_uncovered_column_shows_the_previous_protected_one(
        client: TestClient, city: City, table: str) -> None:
    client.put(f"{P}/{city.resources['open']}/policy", json=POLICY,
               headers=city.headers("editor"))
    rows = people(30, seed=7)
    more = csv_bytes([r + [r[2]] for r in rows], [*HEADERS, "紧急联系人电话"])
    assert upload(client, city, table, more).status_code == 201
    out = client.get(f"{V1}/{table}/search").json()
    assert out["version"] == 1 and "紧急联系人电话" not in out["records"][0]
    info = client.get(f"{V1}/{table}").json()
    assert info["meta"]["version"] == 1
    assert client.get(f"{V1}/{table}/search", params={"version": 2}).status_code == 403
    assert leaks(client.get(f"/datastore/dump/{table}").text) == []
    status = client.get(f"{P}/{city.resources['open']}", headers=city.headers("editor")).json()
    assert status["tables"][0]["public_reads"] == "version 1"
    assert status["notices"][0]["columns"] == ["紧急联系人电话"]
    # the owner reads the new version as it is
    own = client.get(f"{V1}/{table}/search", headers=city.headers("editor")).json()
    assert own["version"] == 2


def test_an_editors_correction_survives_the_next_version(
        client: TestClient, city: City, table: str) -> None:
    rid = city.resources["open"]
    r = client.post(f"{P}/{rid}/columns", headers=city.headers("editor"), json={
        "distribution_id": table, "column": "服务项目", "type": "address", "personal": True})
    assert r.status_code == 200, r.text
    assert upload(client, city, table, csv_bytes(people(20, seed=3))).status_code == 201
    status = client.get(f"{P}/{rid}", headers=city.headers("editor")).json()
    [t] = status["tables"]
    assert t["version"] == 2
    col = next(c for c in t["columns"] if c["column"] == "服务项目")
    assert col["personal"] and col["source"] == "confirmed" and col["type"] == "address"
    assert client.post(f"{P}/{rid}/columns", headers=city.headers("other_editor"), json={
        "distribution_id": table, "column": "服务项目", "personal": False}).status_code == 403


def test_a_policy_that_cannot_apply_is_refused_by_field(
        client: TestClient, city: City, table: str) -> None:
    rid = city.resources["open"]
    bad = {"rules": [{"column": "没有", "method": "mask"},
                     {"column": "年龄", "method": "generalise", "to": "district"},
                     {"column": "性别", "method": "scramble"}],
           "quasi_identifiers": ["银行卡号"], "k": 1}
    r = client.put(f"{P}/{rid}/policy", json=bad, headers=city.headers("editor"))
    assert r.status_code == 409
    fields = r.json()["error"]["fields"]
    assert {"rules.0.column", "rules.1.to", "rules.2.method"} <= set(fields)
    r = client.put(f"{P}/{rid}/policy", json={"rules": [], "k": 0},
                   headers=city.headers("editor"))
    assert r.status_code in (409, 422)


def test_k_anonymity_report(client: TestClient, city: City, table: str) -> None:
    rid = city.resources["open"]
    client.put(f"{P}/{rid}/policy", json=POLICY, headers=city.headers("editor"))
    rep = client.get(f"{P}/{rid}/kanon", params={"k": 5},
                     headers=city.headers("editor")).json()
    assert rep["quasi_identifiers"] == ["性别", "年龄"] and rep["rows"] == 60
    assert rep["groups"] >= 2 and rep["k"] == rep["smallest"][0]["size"]
    assert rep["rows_suppressed"] == sum(
        g["size"] * g["groups"] for g in rep["smallest"] if g["size"] < 5) or \
        rep["rows_suppressed"] >= 0
    raw = client.get(f"{P}/{rid}/kanon", params={"columns": "居住地址", "k": 2},
                     headers=city.headers("editor")).json()
    assert raw["groups"] <= 4  # generalised to the district
    assert client.get(f"{P}/{rid}/kanon", headers=city.headers("other_member")
                      ).status_code == 403


def test_the_resource_flag_is_never_silently_lowered(client: TestClient, city: City,
                                                     table: str) -> None:
    r = client.patch(f"/api/v1/resources/{city.resources['open']}", json={"personal": "none"},
                     headers=city.headers("editor"))
    assert r.status_code == 409
    assert "personal" in r.json()["error"]["fields"]
    with city.db.session() as s:
        assert s.get(Resource, _pk(s, city.resources["open"])).personal == "sensitive_personal"


def _pk(s, rid: str) -> int:  # type: ignore[no-untyped-def]
    return s.scalar(select(Resource.pk).where(Resource.id == rid))
