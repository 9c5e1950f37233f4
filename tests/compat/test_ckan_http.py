"""The CKAN Action API at the HTTP level: the envelope, CKAN's status codes for every kind of
bad request, GET and form posts, and both URL prefixes."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.factories import City, resource_input

API = "/api/3/action/"


def test_answers_come_in_ckans_envelope_under_both_prefixes(client: TestClient,
                                                            city: City) -> None:
    for prefix in ("/api/3/action/", "/api/action/"):
        r = client.get(prefix + "package_show", params={"id": city.resources["open"]})
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"help", "success", "result"} and body["success"] is True
        assert body["help"].endswith("/api/3/action/help_show?name=package_show")
        assert body["result"]["id"] == city.resources["open"]


def test_an_unknown_action_is_a_bad_request(client: TestClient) -> None:
    r = client.post(API + "package_frobnicate", json={})
    assert r.status_code == 400
    assert r.json()["success"] is False
    assert "Action name not known: package_frobnicate" in client.post(
        API + "package_frobnicate?lang=en", json={}).json()["error"]["message"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_malformed_json_is_a_bad_request(client: TestClient, city: City, body: bytes) -> None:
    r = client.post(API + "package_create", content=body,
                    headers={"Content-Type": "application/json", **city.headers("editor")})
    assert r.status_code == 400
    assert r.json()["error"]["__type"] == "Validation Error"


def test_oversized_json_is_refused_before_it_is_read(client: TestClient, city: City) -> None:
    big = json.dumps(resource_input("jtj", abstract="长" * 3_000_000))
    r = client.post(API + "package_create", content=big,
                    headers={"Content-Type": "application/json", **city.headers("editor")})
    assert r.status_code == 413 and r.json()["success"] is False


def test_changes_need_post_so_a_link_or_a_cookie_cannot_make_them(client: TestClient,
                                                                  city: City) -> None:
    r = client.get(API + "package_delete", params={"id": city.resources["open"]},
                   headers=city.headers("sysadmin"))
    assert r.status_code == 400
    assert client.get(API + "package_show", params={"id": city.resources["open"]}).json()[
        "result"]["state"] == "active"


def test_rights_missing_is_403_for_anyone_as_in_ckan(client: TestClient, city: City) -> None:
    for headers in ({}, city.headers("member"), {"Authorization": "zh_not-a-real-token"}):
        r = client.post(API + "package_patch", json={"id": city.resources["open"], "title": "x"},
                        headers=headers)
        assert r.status_code == 403, headers
        assert r.json()["error"]["__type"] == "Authorization Error"


def test_not_found_and_validation_codes(client: TestClient, city: City) -> None:
    r = client.get(API + "package_show", params={"id": "没有"})
    assert r.status_code == 404 and r.json()["error"]["__type"] == "Not Found Error"
    r = client.post(API + "package_create", headers=city.headers("editor"),
                    json=resource_input("jtj", opening_type="none"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["__type"] == "Validation Error" and error["opening_legal_basis"]
    r = client.get(API + "package_show")
    assert r.status_code == 409 and "name" in r.json()["error"]


@pytest.mark.parametrize("params", [
    {"rows": "many"}, {"rows": "-1"}, {"start": "1.5"}, {"include_private": "maybe"},
    {"facet.field": "[not json"}, {"facet.field": '["no_such_facet"]'}, {"sort": "colour asc"},
    {"fq": "just words"}, {"fq": "-tags:交通"}, {"q": "长" * 600},
])
def test_bad_search_parameters_are_validation_errors(client: TestClient, city: City,
                                                     params: dict[str, str]) -> None:
    r = client.get(API + "package_search", params=params)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["__type"] == "Validation Error"


@pytest.mark.parametrize("body", [
    {"id": ["a", "b"]}, {"id": {"x": 1}}, {"id": True}, {"id": "x\u0000y"},
])
def test_odd_values_never_reach_the_database(client: TestClient, body: dict) -> None:
    r = client.post(API + "package_show", json=body)
    assert r.status_code in (400, 404, 409), r.text


def test_odd_package_dicts_are_validation_errors(client: TestClient, city: City) -> None:
    editor = city.headers("editor")
    for data in (
        {**resource_input("jtj"), "resources": "not a list"},
        {**resource_input("jtj"), "resources": [1, 2]},
        {**resource_input("jtj"), "tags": 5},
        {**resource_input("jtj", theme=None), "extras": "nope", "groups": [None]},
        {**resource_input("jtj", theme=None), "groups": [{"name": "no-such-group"}]},
        {**resource_input("jtj"), "notes": None, "published": "yesterday"},
    ):
        r = client.post(API + "package_create", json=data, headers=editor)
        assert r.status_code == 409, (data, r.text)


def test_a_form_post_works_like_json(client: TestClient, city: City) -> None:
    r = client.post(API + "package_search", data={"q": "交通", "rows": "1"})
    assert r.status_code == 200 and r.json()["result"]["count"] == 1
    # old clients post JSON with a form content type
    r = client.post(API + "package_show", content=json.dumps({"id": city.resources["open"]}),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200


def test_messages_follow_the_callers_language(client: TestClient, city: City) -> None:
    r = client.post(API + "package_create", json=resource_input("jtj", sharing_type="conditional"),
                    headers={**city.headers("editor"), "Accept-Language": "en"})
    assert r.json()["error"]["sharing_conditions"] == ["Conditional sharing needs its conditions"]


def test_a_group_sets_the_theme_when_no_theme_is_given(client: TestClient, city: City) -> None:
    data = {k: v for k, v in resource_input("jtj").items() if k not in ("theme", "abstract")}
    r = client.post(API + "package_create", headers=city.headers("editor"),
                    json={**data, "groups": [{"name": "environment"}], "notes": None})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["theme"] == "12" and result["groups"][0]["name"] == "environment"
    assert result["notes"] == ""


ODD_VALUES = [None, "", 0, -1, 10**20, 1.5, True, [], ["x"], {}, {"a": [1]}, "长" * 2000,
              "../etc", "<script>", "*:*", "[1,", '["organization"]', "x" * 20000]
ODD_KEYS = ["id", "name", "package_id", "q", "fq", "rows", "start", "sort", "facet.field",
            "facet.limit", "include_private", "limit", "offset", "all_fields", "query",
            "include_datasets", "resources", "tags", "extras", "groups", "url", "owner_org",
            "title", "notes", "fq_list", "organizations", "parent", "catalog_code"]


@pytest.mark.parametrize("role", [None, "editor", "sysadmin"])
def test_no_action_answers_odd_data_with_a_server_error(client: TestClient, city: City,
                                                        role: str | None) -> None:
    from zhihui.compat.ckan import ACTIONS

    headers = city.headers(role) if role else {}
    for name in ACTIONS:
        for i, value in enumerate(ODD_VALUES):
            body = {key: value for key in ODD_KEYS[i % 3::3]}
            r = client.post(API + name, json=body, headers=headers)
            assert r.status_code < 500, (name, body, r.text[:300])
            assert r.json()["success"] is (r.status_code == 200)


def test_a_file_size_beyond_the_column_is_a_validation_error(client: TestClient,
                                                             city: City) -> None:
    r = client.post(API + "resource_create", headers=city.headers("editor"), json={
        "package_id": city.resources["open"], "url": "https://a.example.cn/x.csv",
        "size": 10**20})
    assert r.status_code == 409 and "size" in r.json()["error"]
