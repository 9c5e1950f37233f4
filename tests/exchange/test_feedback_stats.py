"""互动反馈 and exchange statistics: a user reports a problem, the provider answers publicly;
suggestions of data to open; figures per organisation and resource, public aggregates and
each organisation's own detail."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.exchange.conftest import Data
from tests.exchange.test_applications import _apply
from tests.factories import City

X = "/api/v1/exchange"


def test_a_problem_is_reported_and_answered_in_public(client: TestClient, city: City) -> None:
    made = client.post(f"{X}/feedback", headers=city.headers("public"), json={
        "kind": "problem", "resource_id": city.resources["open"], "title": "数据缺少五月份",
        "body": "2024年5月的流量数据缺失。"})
    assert made.status_code == 201, made.text
    fid = made.json()["id"]
    assert client.post(f"{X}/feedback", json={"kind": "problem", "title": "x", "body": "y",
                                              "resource_id": city.resources["open"]}
                       ).status_code == 401
    assert client.post(f"{X}/feedback/{fid}/answer", headers=city.headers("other_editor"),
                       json={"answer": "不是我们的"}).status_code == 403
    answered = client.post(f"{X}/feedback/{fid}/answer", headers=city.headers("editor"),
                           json={"answer": "已补充上传，见第 2 版。"})
    assert answered.status_code == 200
    public = client.get(f"{X}/feedback", params={"resource_id": city.resources["open"]}).json()
    assert public[0]["answer"] == "已补充上传，见第 2 版。" and public[0]["answered_by"] == "editor"
    again = client.post(f"{X}/feedback/{fid}/answer", headers=city.headers("editor"),
                        json={"answer": "再答"})
    assert again.status_code == 409


def test_a_suggestion_of_data_to_open(client: TestClient, city: City) -> None:
    r = client.post(f"{X}/feedback", headers=city.headers("public"), json={
        "kind": "suggestion", "org_id": "jtj", "title": "建议开放停车场泊位数据",
        "body": "便于开发停车导航应用。"})
    assert r.status_code == 201 and r.json()["org_id"] == city.orgs["jtj"]
    bad = client.post(f"{X}/feedback", headers=city.headers("public"), json={
        "kind": "complaint", "title": "", "body": ""})
    assert bad.status_code == 409


def test_statistics_count_applications_answers_grants_and_calls(
        client: TestClient, city: City, data: Data) -> None:
    a = _apply(client, city, "other_member", "closed").json()
    client.post(f"{X}/applications/{a['id']}/decision", headers=city.headers("editor"),
                json={"action": "approve", "columns": ["线路编号"]})
    b = _apply(client, city, "other_member", "closed").json()
    client.post(f"{X}/applications/{b['id']}/decision", headers=city.headers("editor"),
                json={"action": "refuse", "reason": "重复申请"})
    for _ in range(2):
        client.get(f"/api/v1/datastore/{data.closed}/search",
                   headers=city.headers("other_member"))
    public = client.get(f"{X}/stats").json()
    jtj = public["organisations"][city.orgs["jtj"]]
    assert (jtj["applications"], jtj["approved"], jtj["refused"]) == (2, 1, 1)
    assert jtj["median_answer_days"] == 0 and jtj["grants_live"] == 1
    assert jtj["calls"] == 2 and jtj["rows"] == 10
    assert public["total"]["applications"] == 2
    own = client.get(f"{X}/stats/jtj", headers=city.headers("member"))
    assert own.status_code == 200
    [res] = [r for r in own.json()["resources"] if r["resource_id"] == city.resources["closed"]]
    assert res["calls"] == 2 and res["title"] == "公交车辆实时定位数据"
    assert client.get(f"{X}/stats/jtj", headers=city.headers("other_member")).status_code == 403
