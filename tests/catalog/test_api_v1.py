"""/api/v1 as a program uses it: tokens in the Authorization header, JSON in and out."""

from __future__ import annotations

from tests.factories import resource_input


def test_public_search_lists_only_open_resources(client, city):
    body = client.get("/api/v1/resources", params={"facet": "opening_type"}).json()
    assert body["count"] == 2
    assert {r["opening_type"] for r in body["results"]} == {"unconditional", "conditional"}
    labels = {f["name"]: f["display_name"] for f in body["facets"]["opening_type"]}
    assert labels == {"unconditional": "无条件开放", "conditional": "有条件开放"}


def test_english_labels_on_request(client, city):
    body = client.get("/api/v1/resources", params={"facet": "opening_type", "lang": "en"}).json()
    assert {f["display_name"] for f in body["facets"]["opening_type"]} == {
        "Open", "Open under conditions"}


def test_government_members_see_the_whole_catalogue(client, city):
    body = client.get("/api/v1/resources", headers=city.headers("other_member")).json()
    assert body["count"] == 3


def test_unopened_resource_is_404_for_the_public(client, city):
    assert client.get(f"/api/v1/resources/{city.resources['closed']}").status_code == 404
    r = client.get(f"/api/v1/resources/{city.resources['closed']}", headers=city.headers("member"))
    assert r.status_code == 200


def test_editor_creates_updates_and_deletes(client, city):
    h = city.headers("editor")
    r = client.post("/api/v1/resources", json=resource_input("jtj", title="停车场泊位实时数据"),
                    headers=h)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = client.patch(f"/api/v1/resources/{rid}", json={"update_cycle": "realtime"}, headers=h)
    assert r.json()["update_cycle"] == "realtime" and r.json()["revision"] == 2
    assert client.delete(f"/api/v1/resources/{rid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/resources/{rid}", headers=city.headers("member")
                      ).status_code == 404
    # The department's editors still see what they deleted, marked so.
    assert client.get(f"/api/v1/resources/{rid}", headers=h).json()["deleted"] is True
    r = client.post(f"/api/v1/resources/{rid}/restore", headers=city.headers("sysadmin"))
    assert r.status_code == 200 and r.json()["deleted"] is False


def test_rights_missing_is_403_and_anonymous_is_401(client, city):
    data = resource_input("jtj")
    assert client.post("/api/v1/resources", json=data, headers=city.headers("member")
                       ).status_code == 403
    assert client.post("/api/v1/resources", json=data).status_code == 401
    assert client.post("/api/v1/resources", json=data, headers=city.headers("other_editor")
                       ).status_code == 403


def test_invalid_metadata_is_409_with_field_messages(client, city):
    data = resource_input("jtj", opening_type="conditional")
    r = client.post("/api/v1/resources", json=data, headers=city.headers("editor"))
    assert r.status_code == 409
    assert r.json()["error"]["fields"]["opening_conditions"] == ["有条件开放须填写开放条件"]
    r = client.post("/api/v1/resources", json=data, headers={
        **city.headers("editor"), "Accept-Language": "en"})
    assert r.json()["error"]["fields"]["opening_conditions"] == [
        "Conditional opening needs its conditions"]


def test_malformed_or_oversized_json_is_4xx(client, city):
    h = {**city.headers("editor"), "Content-Type": "application/json"}
    r = client.post("/api/v1/resources", content=b"{not json", headers=h)
    assert r.status_code == 400 and r.json()["error"]["message"] == "请求体不是有效的 JSON"
    # Valid JSON of the wrong shape: 422 with the field that is wrong.
    r = client.post("/api/v1/resources", content=b'{"tags": 5}', headers=h)
    assert r.status_code == 422 and "tags" in r.json()["error"]["fields"]
    huge = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    assert client.post("/api/v1/resources", content=huge, headers=h).status_code == 413


def test_revoked_or_unknown_token_is_401(client, city):
    h = city.headers("editor")
    token = client.post("/api/v1/tokens", json={"name": "ci"}, headers=h).json()
    mine = {"Authorization": token["token"]}
    assert client.get("/api/v1/users/me", headers=mine).json()["name"] == "editor"
    assert client.delete(f"/api/v1/tokens/{token['id']}", headers=mine).status_code == 204
    assert client.get("/api/v1/users/me", headers=mine).status_code == 401
    assert client.get("/api/v1/resources", headers={"Authorization": "zh_nope"}).status_code == 401


def test_tokens_are_never_shown_again(client, city):
    h = city.headers("editor")
    client.post("/api/v1/tokens", json={"name": "once"}, headers=h)
    listed = client.get("/api/v1/tokens", headers=h).json()
    assert listed and all("token" not in t for t in listed)


def test_hostile_text_is_stored_as_text(client, city):
    evil = '<script>alert("x")</script>'
    r = client.post("/api/v1/resources", json=resource_input("jtj", title=evil, abstract=evil),
                    headers=city.headers("editor"))
    assert r.status_code == 201 and r.json()["title"] == evil
    page = client.get(f"/dataset/{r.json()['name']}")
    assert evil not in page.text


def test_openapi_document_is_served(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/resources" in doc["paths"]


def test_nul_characters_are_refused_not_crashed_on(client, city):
    h = city.headers("editor")
    assert client.get("/api/v1/resources/abc%00def").status_code == 400
    assert client.get("/api/v1/resources", params={"organization": "a\x00"}).status_code == 400
    r = client.post("/api/v1/resources", json=resource_input("jtj", title="a\x00b"), headers=h)
    assert r.status_code == 422
    r = client.patch(f"/api/v1/resources/{city.resources['open']}", json={"title": "\x00"},
                     headers=h)
    # A patch is merged with the stored metadata, then checked by the service: 409.
    assert r.status_code == 409
