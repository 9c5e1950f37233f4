"""Art. 46: conditionally shared data is read only through a grant, narrowed to its items and
rows; unconditional sharing makes its grant on first use; revocation and expiry take effect at
once; the public reads conditionally opened data with a key and a quota."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.exchange.conftest import Data
from tests.factories import City
from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import SYSTEM
from zhihui.db import utcnow
from zhihui.exchange import grants
from zhihui.exchange.models import Grant

V1 = "/api/v1/datastore"


def _grant(city: City, resource: str, **kw):  # type: ignore[no-untyped-def]
    with city.db.session() as s:
        r = catalog.get_resource(s, SYSTEM, city.resources[resource])
        return grants.create(s, SYSTEM, r, **kw).id


def _audit(city: City, action: str) -> list[AuditEntry]:
    with city.db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def test_another_department_needs_a_grant_and_is_told_how_to_apply(
        client: TestClient, city: City, data: Data) -> None:
    r = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member"))
    assert r.status_code == 403
    assert "共享申请" in r.json()["error"]["message"] and "/exchange/apply/" in \
        r.json()["error"]["message"]
    for path in (f"{V1}/{data.closed}", f"/datastore/dump/{data.closed}"):
        assert client.get(path, headers=city.headers("other_member")).status_code == 403
    refused = _audit(city, "data.refused")
    assert refused and refused[-1].actor_name == "other_member"
    assert refused[-1].detail["refused"] == "exchange.needs_sharing_application"
    # the owner's own members read everything
    mine = client.get(f"{V1}/{data.closed}/search", headers=city.headers("member"))
    assert mine.status_code == 200, mine.text
    assert mine.json()["total"] == 5


def test_a_grant_shows_only_its_items_and_rows_and_the_audit_names_it(
        client: TestClient, city: City, data: Data) -> None:
    gid = _grant(city, "closed", kind="sharing", grantee_org_id=city.orgs["hbj"],
                 columns=["线路编号", "线路名称", "票价"], row_filter={"线路编号": ["001", "004"]},
                 purpose="公交运行监测", valid_until=utcnow() + timedelta(days=30))
    r = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["total"] == 2
    assert {x["线路名称"] for x in out["records"]} == {"1路", "4路"}
    assert set(out["records"][0]) == {"_id", "线路编号", "线路名称", "票价"}
    sql = client.post(f"{V1}/sql", headers=city.headers("other_member"),
                      json={"sql": f'SELECT count(*) AS n FROM "{data.closed}"'})
    assert sql.json()["records"] == [{"n": 2}]
    body = client.get(f"/datastore/dump/{data.closed}",
                      headers=city.headers("other_member")).text
    assert "途经武林广场" not in body and body.count("\n") == 3
    reads = [e for e in _audit(city, "data.search") if e.actor_name == "other_member"]
    assert reads[-1].detail["through"]["grant"] == gid


def test_a_grantee_is_told_of_disputed_records_only_among_its_rows(
        client: TestClient, city: City, data: Data, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Art. 50 marks (异议标注) follow the grant's row filter: the other rows' ids stay unsaid."""
    from zhihui.privacy.requests import service as requests

    owner = client.get(f"{V1}/{data.closed}/search", headers=city.headers("member")).json()
    every = {r["_id"] for r in owner["records"]}
    monkeypatch.setattr(requests, "disputed", lambda session, distribution_id: set(every))
    _grant(city, "closed", kind="sharing", grantee_org_id=city.orgs["hbj"],
           columns=["线路编号", "线路名称"], row_filter={"线路编号": ["001", "004"]},
           purpose="公交运行监测", valid_until=utcnow() + timedelta(days=30))
    out = client.get(f"{V1}/{data.closed}/search", headers=city.headers("other_member")).json()
    assert out["disputed"] == sorted(r["_id"] for r in out["records"]) and len(every) == 5
    mine = client.get(f"{V1}/{data.closed}/search", headers=city.headers("member")).json()
    assert mine["disputed"] == sorted(every)


def test_revocation_takes_effect_on_the_next_request(client: TestClient, city: City,
                                                     data: Data) -> None:
    gid = _grant(city, "closed", kind="sharing", grantee_org_id=city.orgs["hbj"])
    headers = city.headers("other_member")
    assert client.get(f"{V1}/{data.closed}/search", headers=headers).status_code == 200
    with city.db.session() as s:
        grants.revoke(s, city.actors["admin"], gid, "用途超出申请范围")
    r = client.get(f"{V1}/{data.closed}/search", headers=headers)
    assert r.status_code == 403 and "用途超出申请范围" in r.json()["error"]["message"]
    assert _audit(city, "grant.revoke")[-1].actor_name == "admin"
    assert _audit(city, "data.refused")[-1].detail["refused"] == "exchange.grant_revoked"


def test_an_expired_grant_is_refused_and_says_to_renew(client: TestClient, city: City,
                                                       data: Data) -> None:
    _grant(city, "closed", kind="sharing", grantee_org_id=city.orgs["hbj"],
           valid_from=utcnow() - timedelta(days=10), valid_until=utcnow() - timedelta(days=1))
    r = client.get(f"{V1}/{data.closed}/search?lang=en", headers=city.headers("other_member"))
    assert r.status_code == 403 and "expired" in r.json()["error"]["message"]


def test_only_the_provider_or_the_operator_may_revoke(city: City, data: Data) -> None:
    import pytest

    from zhihui.core.errors import Forbidden

    gid = _grant(city, "closed", kind="sharing", grantee_org_id=city.orgs["hbj"])
    with city.db.session() as s, pytest.raises(Forbidden):
        grants.revoke(s, city.actors["other_editor"], gid, "不要了")
    with city.db.session() as s:
        assert grants.revoke(s, city.actors["sysadmin"], gid, "运营方处置").revoked


def test_unconditional_sharing_makes_one_automatic_grant_that_can_be_revoked(
        client: TestClient, city: City, data: Data) -> None:
    headers = city.headers("other_member")
    for _ in range(3):
        assert client.get(f"{V1}/{data.open}/search", headers=headers).status_code == 200
    with city.db.session() as s:
        autos = list(s.scalars(select(Grant).where(Grant.kind == "automatic")))
    assert len(autos) == 1 and autos[0].grantee_org_id == city.orgs["hbj"]
    assert len(_audit(city, "grant.create")) == 1
    reads = [e for e in _audit(city, "data.search") if e.actor_name == "other_member"]
    assert len(reads) == 3 and all(e.detail["through"]["grant"] == autos[0].id for e in reads)
    with city.db.session() as s:
        grants.revoke(s, city.actors["editor"], autos[0].id, "停止向该部门共享")
    assert client.get(f"{V1}/{data.open}/search", headers=headers).status_code == 403
    # the public still reads the opened data
    assert client.get(f"{V1}/{data.open}/search").status_code == 200


def test_data_that_may_not_be_shared_is_refused_with_its_legal_basis(
        client: TestClient, city: City) -> None:
    from tests.datastore.helpers import new_distribution
    from tests.datastore.test_api import upload
    from tests.factories import resource_input

    with city.db.session() as s:
        rid = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            city.orgs["jtj"], title="执法案件线索", sharing_type="none", sharing_method="",
            sharing_legal_basis="《行政处罚法》第五十条", opening_type="none",
            opening_legal_basis="《行政处罚法》第五十条"))).id
    dist = new_distribution(city.db, rid)
    assert upload(client, city, dist, b"a,b\n1,2\n").status_code == 201
    r = client.get(f"{V1}/{dist}/search", headers=city.headers("other_member"))
    assert r.status_code == 403 and "《行政处罚法》第五十条" in r.json()["error"]["message"]


def test_the_public_reads_conditionally_opened_data_with_its_key_within_the_quota(
        client: TestClient, city: City, data: Data) -> None:
    assert client.get(f"{V1}/{data.air}/search").status_code == 401
    denied = client.get(f"{V1}/{data.air}/search", headers=city.headers("public"))
    assert denied.status_code == 403 and "开放申请" in denied.json()["error"]["message"]
    gid = _grant(city, "air", kind="opening", grantee_user_id=city.users["public"],
                 quota_per_day=2, valid_until=utcnow() + timedelta(days=90))
    with city.db.session() as s:
        _, key = grants.issue_key(s, city.actors["public"], gid)
    for _ in range(2):
        assert client.get(f"{V1}/{data.air}/search",
                          headers={"Authorization": key}).status_code == 200
    over = client.get(f"{V1}/{data.air}/search", headers={"Authorization": key})
    assert over.status_code == 429 and "2" in over.json()["error"]["message"]
    refused = _audit(city, "data.refused")[-1]
    assert refused.detail["refused"] == "exchange.quota_exceeded"
    assert refused.detail["grant"] == gid
    # the key reads no other resource's data
    other = client.get(f"{V1}/{data.open}/search", headers={"Authorization": key})
    assert other.status_code == 403
    with city.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "grant.key")) == 1


def test_a_row_filter_is_quoted_never_raw_sql() -> None:
    sql = grants.row_filter_sql({'a"b': ["x'); DROP TABLE t; --", "y"], "n": 3},
                                {'a"b': "text", "n": "integer"})
    assert sql == ('"a""b" IN (\'x\'\'); DROP TABLE t; --\', \'y\') AND '
                   '"n" IN (TRY_CAST(\'3\' AS BIGINT))')


def test_approved_items_must_be_the_resources_own(city: City, data: Data) -> None:
    import pytest

    from zhihui.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as e:
        _grant(city, "closed", kind="sharing", grantee_org_id=city.orgs["hbj"],
               columns=["不存在的列"], row_filter={"线路编号": [{"x": 1}]})
    assert set(e.value.fields) == {"columns", "row_filter"}
