"""The issue's test: resources full of personal information (valid ID numbers, mobiles, bank
cards), opened and shared unconditionally under policies, then every public read of the
platform — catalogue pages and APIs, CKAN actions, the datastore's search, SQL, info,
statistics, charts, previews and every download format, DCAT — fetched as anonymous and as a
member of another organisation, and scanned with ``privacy.detect``: none may appear. A
version with a personal column no policy covers is in the same resource, and must not leak
either."""

from __future__ import annotations

import io
import json

import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.datastore.helpers import new_distribution
from tests.factories import City
from tests.privacy.people import HEADERS, csv_bytes, leaks, people
from tests.privacy.test_grading import ASSESSMENT
from tests.privacy.test_protection import POLICY, P, upload

CKAN = "/api/3/action/"


@pytest.fixture
def opened(client: TestClient, city: City) -> dict[str, str]:
    """The open resource with two tables of people, protected, and a third version of the
    first table holding an extra uncovered mobile column."""
    rid = city.resources["open"]
    editor = city.headers("editor")
    first = new_distribution(city.db, rid, "服务对象.csv")
    second = new_distribution(city.db, rid, "服务对象补充.csv")
    assert upload(client, city, first, csv_bytes(people(120))).status_code == 201
    assert upload(client, city, second, csv_bytes(people(80, seed=9))).status_code == 201
    assert client.put(f"{P}/{rid}/policy", json=POLICY, headers=editor).status_code == 200
    for scope in ("opening", "sharing"):
        assert client.post(f"{P}/{rid}/assessments", json={**ASSESSMENT, "scope": scope},
                           headers=editor).status_code == 201
    r = client.patch(f"/api/v1/resources/{rid}", headers=editor, json={
        "opening_type": "unconditional", "sharing_type": "unconditional",
        "title": "养老服务对象名单"})
    assert r.status_code == 200, r.text
    rows = people(50, seed=11)
    extra = csv_bytes([x + [x[2]] for x in rows], [*HEADERS, "紧急联系人电话"])
    assert upload(client, city, first, extra).status_code == 201
    # the owner reads the originals: the test can tell a leak from a protected output
    own = client.get(f"/datastore/dump/{first}", headers=editor).text
    assert len(leaks(own)) >= 150
    name = client.get(f"/api/v1/resources/{rid}").json()["name"]
    return {"id": rid, "name": name, "first": first, "second": second}


def _text(response) -> str:  # type: ignore[no-untyped-def]
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        wb = openpyxl.load_workbook(io.BytesIO(response.content))
        return "\n".join(",".join("" if v is None else str(v) for v in row)
                         for ws in wb for row in ws.iter_rows(values_only=True))
    if "parquet" in kind:
        return json.dumps(pq.read_table(io.BytesIO(response.content)).to_pylist(),
                          ensure_ascii=False, default=str)
    if "gbk" in kind:
        return response.content.decode("gb18030")
    return response.text


def _urls(o: dict[str, str]) -> list[tuple[str, str, dict | None]]:
    rid, name, first, second = o["id"], o["name"], o["first"], o["second"]
    urls: list[tuple[str, str, dict | None]] = [
        ("GET", "/", None), ("GET", "/dataset", None), ("GET", f"/dataset?q={name}", None),
        ("GET", f"/dataset/{name}", None), ("GET", f"/dataset/{rid}", None),
        ("GET", f"/dataset/{rid}/data", None), ("GET", "/organization/jtj", None),
        ("GET", "/api/v1/resources", None), ("GET", f"/api/v1/resources/{rid}", None),
        ("GET", f"/api/v1/resources/{rid}/activity", None),
        ("GET", "/catalog.ttl", None), ("GET", "/catalog.jsonld", None),
        ("GET", f"/dataset/{rid}.ttl", None), ("GET", f"/dataset/{rid}.jsonld", None),
        ("GET", f"{CKAN}package_show?id={rid}", None),
        ("GET", f"{CKAN}package_search?q=养老&rows=100", None),
        ("GET", f"{CKAN}current_package_list_with_resources", None),
        ("GET", f"{CKAN}package_activity_list?id={rid}", None),
        ("GET", f"{CKAN}organization_show?id=jtj&include_datasets=true", None),
        ("POST", f"{CKAN}datastore_search_sql",
         {"sql": f'SELECT * FROM "{first}" UNION ALL SELECT * FROM "{second}"'}),
    ]
    for dist in (first, second):
        urls += [
            ("GET", f"{CKAN}resource_show?id={dist}", None),
            ("GET", f"{CKAN}datastore_search?resource_id={dist}&limit=1000", None),
            ("GET", f"{CKAN}datastore_search?resource_id={dist}&q=1&limit=1000", None),
            ("GET", f"{CKAN}datastore_info?id={dist}", None),
            ("GET", f"/api/v1/datastore/{dist}", None),
            ("GET", f"/api/v1/datastore/{dist}/versions", None),
            ("GET", f"/api/v1/datastore/{dist}/search?limit=1000", None),
            ("GET", f"/api/v1/datastore/{dist}/search?limit=1000&version=1", None),
            ("GET", f"/api/v1/datastore/{dist}/search?limit=1000&records_format=csv", None),
            ("GET", f"/api/v1/datastore/{dist}/stats", None),
            ("GET", f"/datastore/{dist}/stats", None),
            ("GET", f"/datastore/{dist}/preview", None),
            ("POST", "/api/v1/datastore/sql",
             {"sql": f'SELECT string_agg("公民身份号码", \',\') AS a FROM "{dist}"'}),
        ]
        for column in ("公民身份号码", "手机号码", "姓名", "银行卡号", "紧急联系人电话"):
            urls.append(("GET", f"/api/v1/datastore/{dist}/chart?column={column}", None))
        for fmt in ("csv", "tsv", "json", "xlsx", "parquet"):
            urls.append(("GET", f"/datastore/dump/{dist}?format={fmt}", None))
        urls.append(("GET", f"/datastore/dump/{dist}?format=csv&encoding=gbk&bom=true", None))
        urls.append(("GET", f"/datastore/dump/{dist}?version=2", None))
    return urls


@pytest.mark.parametrize("role", ["anonymous", "other_member"])
def test_no_public_output_holds_a_valid_id_number_mobile_or_bank_card(
        client: TestClient, city: City, opened: dict[str, str], role: str) -> None:
    headers = city.headers(role)
    found = {}
    read = 0
    for method, url, body in _urls(opened):
        r = client.request(method, url, headers=headers, json=body)
        assert r.status_code < 500, (url, r.text[:300])
        if r.status_code == 200:
            read += 1
        hits = leaks(_text(r))
        if hits:
            found[url] = hits[:3]
    assert found == {}
    assert read >= 40  # the reads answered, with protected data, not refusals


def test_the_protected_reads_still_answer_with_rows(client: TestClient, city: City,
                                                    opened: dict[str, str]) -> None:
    first = opened["first"]
    out = client.get(f"/api/v1/datastore/{first}/search", params={"limit": 1000}).json()
    assert out["version"] == 1 and out["records"]  # version 2 awaits de-identification
    assert "紧急联系人电话" not in out["records"][0]
    assert client.get(f"/datastore/dump/{first}?version=2").status_code == 403
