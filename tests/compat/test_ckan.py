"""The CKAN Action API, driven by the real ``ckanapi`` client over HTTP: what a harvester, a
developer's script or ``ckanapi search datasets`` does against a CKAN site works here
unchanged, with Chinese names, our catalogue rules and our rights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, ValidationError

from tests.factories import City, resource_input
from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn
from zhihui.compat import ckan
from zhihui.core.authz import SYSTEM
from zhihui.core.i18n import translate

CKANAPI = Path(sys.executable).parent / "ckanapi"


@pytest.fixture
def as_role(site: str, city: City):  # type: ignore[no-untyped-def]
    """RemoteCKAN for a role of the test city (``None``: anonymous)."""
    opened: list[RemoteCKAN] = []

    def remote(role: str | None = None) -> RemoteCKAN:
        r = RemoteCKAN(site, apikey=city.tokens[role] if role else None)
        opened.append(r)
        return r

    yield remote
    for r in opened:
        r.close()


def add_resources(city: City, n: int, **overrides) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    with city.db.session() as s:
        for i in range(n):
            r = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
                city.orgs["jtj"], title=f"道路交通事故统计第{i + 1}册", **overrides)))
            ids.append(r.id)
    return ids


def new_dataset(city: City, **overrides) -> dict:  # type: ignore[no-untyped-def]
    """A CKAN-style dataset dict: notes, tags as dicts, resources, the organisation by name."""
    data = resource_input("jtj", **overrides)
    data.setdefault("notes", data.pop("abstract"))
    data["tags"] = [{"name": t} for t in data["tags"]]
    data.setdefault("resources", [{"name": "2024年流量.csv", "url": "https://data.example.cn/flow.csv",
                                   "format": "CSV"}])
    return data


# --- the public catalogue ----------------------------------------------------------------------


def test_anonymous_search_pages_through_the_public_catalogue(as_role, city: City) -> None:
    add_resources(city, 5)
    public = as_role()
    first = public.action.package_search(q="交通", rows=2)
    assert first["count"] == 6  # the five new ones and the city's open traffic resource
    seen: list[str] = []
    for start in range(0, first["count"], 2):
        page = public.action.package_search(q="交通", rows=2, start=start)
        assert page["count"] == 6 and len(page["results"]) <= 2
        seen += [d["name"] for d in page["results"]]
    assert len(seen) == len(set(seen)) == 6
    assert city.resources["closed"] not in {d["id"] for d in first["results"]}
    assert public.action.package_search(q="交通", rows=2, start=6)["results"] == []


def test_ckanapi_search_datasets_command_pages_through_everything(
    site: str, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ckanapi search datasets`` asks for 1,000 rows a time and pages until a page comes back
    empty; with the site's row cap at 2 it has to turn four pages to get all six."""
    add_resources(city, 5)
    monkeypatch.setattr(ckan, "ROWS_MAX", 2)
    out = subprocess.run(
        [str(CKANAPI), "search", "datasets", "q=交通", "-r", site],
        capture_output=True, check=True, timeout=60,
    ).stdout.decode()
    datasets = [json.loads(line) for line in out.splitlines()]
    assert len(datasets) == len({d["id"] for d in datasets}) == 6
    assert all(not d["private"] and "交通" in d["title"] + " ".join(
        t["name"] for t in d["tags"]) for d in datasets)


def test_package_show_of_a_chinese_named_dataset(as_role, city: City) -> None:
    with city.db.session() as s:
        catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            city.orgs["jtj"], name="城市交通流量", temporal_start="2020-01-01",
            distributions=[{"name": "流量.csv", "url": "https://data.example.cn/a.csv",
                            "format": "CSV"}])))
    d = as_role().action.package_show(id="城市交通流量")
    assert d["name"] == "城市交通流量" and d["title"] == "城市交通流量监测数据"
    assert d["notes"].startswith("全市主要道路")
    assert d["organization"]["name"] == "jtj" and d["owner_org"] == city.orgs["jtj"]
    assert d["private"] is False and d["state"] == "active" and d["type"] == "dataset"
    assert d["tags"] == [{"name": "交通", "display_name": "交通", "state": "active",
                          "vocabulary_id": None},
                         {"name": "流量", "display_name": "流量", "state": "active",
                          "vocabulary_id": None}]
    assert d["num_tags"] == 2 and d["num_resources"] == 1
    assert d["groups"][0]["name"] == "transport"
    assert d["license_id"] == "hz-open-data" and d["license_title"] == "杭州市公共数据开放协议"
    # CKAN's timestamps: ISO 8601 without a zone
    assert "+" not in d["metadata_created"] and "T" in d["metadata_modified"]
    # our metadata rides top-level, CKAN extras style
    assert d["sharing_type"] == "unconditional" and d["opening_type"] == "unconditional"
    assert d["resource_code"].startswith("211002/") and d["update_cycle"] == "daily"
    assert d["temporal_start"] == "2020-01-01" and d["data_items"][0]["name"] == "路段名称"
    res = d["resources"][0]
    assert res["name"] == "流量.csv" and res["format"] == "CSV" and res["package_id"] == d["id"]
    assert as_role().action.resource_show(id=res["id"])["url"] == "https://data.example.cn/a.csv"


def test_private_datasets_are_hidden_from_the_public(as_role, city: City) -> None:
    closed = city.resources["closed"]
    with pytest.raises(NotFound):
        as_role().action.package_show(id=closed)
    public_ids = {d["id"] for d in as_role().action.package_search(rows=100)["results"]}
    assert closed not in public_ids and city.resources["open"] in public_ids
    member = as_role("member")
    assert member.action.package_show(id=closed)["private"] is True
    # as in CKAN, private datasets appear in search only when asked for
    assert closed not in {d["id"] for d in member.action.package_search(rows=100)["results"]}
    found = member.action.package_search(rows=100, include_private=True)["results"]
    assert closed in {d["id"] for d in found}
    assert closed not in {d["id"] for d in as_role().action.package_search(
        rows=100, include_private=True)["results"]}
    assert "公共交通" not in as_role().action.tag_list()
    assert "公共交通" in member.action.tag_list()


# --- an editor changes the catalogue -----------------------------------------------------------


def test_editor_creates_updates_patches_and_deletes_a_dataset(as_role, city: City) -> None:
    editor = as_role("editor")
    data = new_dataset(city, name="公交线路站点", title="公交线路与站点")
    del data["spatial"]
    data["extras"] = [{"key": "spatial", "value": "西湖区"}]  # how older CKAN clients send ours
    created = editor.action.package_create(**data)
    assert created["name"] == "公交线路站点" and created["notes"].startswith("全市主要道路")
    assert created["spatial"] == "西湖区" and created["resources"][0]["format"] == "CSV"

    # package_show's dict goes back into package_update unchanged but for what is edited
    shown = editor.action.package_show(id="公交线路站点")
    shown["title"] = "公交线路与站点（2024）"
    updated = editor.action.package_update(**shown)
    assert updated["title"] == "公交线路与站点（2024）"
    assert [r["id"] for r in updated["resources"]] == [r["id"] for r in shown["resources"]]

    patched = editor.action.package_patch(id=created["id"], notes="每月更新的公交线路。",
                                          update_cycle="monthly")
    assert patched["notes"] == "每月更新的公交线路。" and patched["update_cycle"] == "monthly"
    assert patched["title"] == "公交线路与站点（2024）"

    kinds = [a["activity_type"] for a in editor.action.package_activity_list(id=created["id"])]
    assert kinds == ["changed package", "changed package", "new package"]

    assert editor.action.package_delete(id=created["id"]) is None
    with pytest.raises(NotFound):
        as_role().action.package_show(id=created["id"])
    assert editor.action.package_show(id=created["id"])["state"] == "deleted"
    assert editor.action.package_activity_list(id=created["id"])[0]["activity_type"] == (
        "deleted package")


def test_editor_manages_a_datasets_resources(as_role, city: City) -> None:
    editor = as_role("editor")
    res = editor.action.resource_create(package_id=city.resources["open"],
                                        url="https://data.example.cn/flow-2024.csv",
                                        name="2024年流量", format="CSV")
    assert res["package_id"] == city.resources["open"] and res["url_type"] is None
    assert editor.action.resource_patch(id=res["id"], description="按小时")["name"] == "2024年流量"
    replaced = editor.action.resource_update(id=res["id"], url="https://data.example.cn/b.json",
                                             format="JSON")
    assert replaced["format"] == "JSON" and replaced["name"] == ""
    assert [r["id"] for r in as_role().action.package_show(
        id=city.resources["open"])["resources"]] == [res["id"]]
    editor.action.resource_delete(id=res["id"])
    with pytest.raises(NotFound):
        editor.action.resource_show(id=res["id"])
    with pytest.raises(ValidationError) as bad:
        editor.action.resource_create(package_id=city.resources["open"], url="javascript:alert(1)")
    assert "url" in bad.value.error_dict


def test_members_and_the_public_cannot_change_anything(as_role, city: City) -> None:
    with pytest.raises(NotAuthorized):
        as_role("member").action.package_create(**new_dataset(city))
    with pytest.raises(NotAuthorized):
        as_role("member").action.package_patch(id=city.resources["open"], title="改")
    with pytest.raises(NotAuthorized):
        as_role().action.package_delete(id=city.resources["open"])
    with pytest.raises(NotAuthorized):  # another department's editor
        as_role("other_editor").action.resource_create(package_id=city.resources["open"],
                                                       url="https://x.example.cn/a.csv")
    with pytest.raises(NotAuthorized):
        as_role("editor").action.organization_create(name="wjw", title="杭州市卫生健康委员会",
                                                     catalog_code="009", parent="hangzhou")
    assert as_role().action.package_show(id=city.resources["open"])["revision"] == 1


def test_rule_breaks_come_back_as_validation_errors_per_field(as_role, city: City) -> None:
    editor = as_role("editor")
    with pytest.raises(ValidationError) as bad:
        editor.action.package_create(**new_dataset(city, sharing_type="conditional"))
    err = bad.value.error_dict
    assert err["__type"] == "Validation Error"
    assert err["sharing_conditions"] == [translate("field.sharing_conditions_required", "zh")]
    # field names are CKAN's: notes, resources.N.url
    with pytest.raises(ValidationError) as bad:
        editor.action.package_create(**new_dataset(city, notes="长" * 6000))
    assert list(bad.value.error_dict["notes"])
    with pytest.raises(ValidationError) as bad:
        editor.action.package_create(**new_dataset(city, resources=[
            {"url": "https://x.example.cn/a.csv"}, {"url": "javascript:alert(1)"}]))
    assert "resources.1.url" in bad.value.error_dict
    with pytest.raises(ValidationError) as bad:
        as_role().action.package_search(fq="organisation:jtj")
    assert "fq" in bad.value.error_dict


def test_unknown_ids_are_not_found(as_role) -> None:
    public = as_role()
    for call, args in [
        (public.action.package_show, {"id": "没有这个数据集"}),
        (public.action.resource_show, {"id": "no-such-resource"}),
        (public.action.organization_show, {"id": "no-such-org"}),
        (public.action.group_show, {"id": "no-such-group"}),
        (public.action.user_show, {"id": "nobody"}),
        (public.action.package_activity_list, {"id": "nothing"}),
    ]:
        with pytest.raises(NotFound):
            call(**args)
    with pytest.raises(NotFound):
        as_role("editor").action.package_patch(id="没有这个数据集", title="x")


# --- facets, lists and the rest ----------------------------------------------------------------


def test_search_facets_count_what_the_filters_leave(as_role, city: City) -> None:
    add_resources(city, 2, tags=["交通", "事故"],
                  distributions=[{"url": "https://x.example.cn/a.csv", "format": "csv"}])
    public = as_role()
    fields = ["organization", "tags", "res_format", "groups", "opening_type"]
    res = public.action.package_search(**{"facet.field": json.dumps(fields), "rows": 0})
    assert res["count"] == 4 and res["results"] == []
    facets = res["search_facets"]
    orgs = {i["name"]: i for i in facets["organization"]["items"]}
    assert orgs["jtj"]["count"] == 3 and orgs["jtj"]["display_name"] == "杭州市交通运输局"
    assert orgs["hbj"]["count"] == 1
    assert {i["name"]: i["count"] for i in facets["tags"]["items"]}["交通"] == 3
    assert facets["res_format"]["items"] == [{"name": "CSV", "display_name": "CSV", "count": 2}]
    assert {i["name"] for i in facets["groups"]["items"]} == {"transport", "environment"}
    assert res["facets"]["opening_type"] == {"unconditional": 3, "conditional": 1}

    narrowed = public.action.package_search(fq='organization:jtj tags:"事故" res_format:CSV')
    assert narrowed["count"] == 2
    assert public.action.package_search(fq="groups:environment")["count"] == 1
    assert public.action.package_search(q="opening_type:conditional")["results"][0]["id"] == (
        city.resources["air"])
    assert public.action.package_search(fq="organization:(jtj OR hbj)")["count"] == 4
    with pytest.raises(ValidationError):  # tags are all required, so an OR list is refused
        public.action.package_search(fq="tags:(事故 OR 空气质量)")
    titles = [d["title"] for d in public.action.package_search(sort="title_string asc")["results"]]
    assert titles == sorted(titles)


def test_organizations_groups_tags_and_licences(as_role, city: City) -> None:
    public = as_role()
    assert sorted(public.action.organization_list()) == ["hangzhou", "hbj", "jtj"]
    orgs = {o["name"]: o for o in public.action.organization_list(all_fields=True)}
    assert orgs["jtj"]["package_count"] == 1 and orgs["jtj"]["title"] == "杭州市交通运输局"
    as_member = {o["name"]: o for o in as_role("member").action.organization_list(
        all_fields=True)}
    assert as_member["jtj"]["package_count"] == 2  # government users count private datasets
    shown = public.action.organization_show(id="jtj", include_datasets=True)
    assert [p["id"] for p in shown["packages"]] == [city.resources["open"]]

    made = as_role("sysadmin").action.organization_create(
        name="wjw", title="杭州市卫生健康委员会", catalog_code="009", parent="hangzhou")
    assert made["name"] == "wjw" and public.action.organization_show(id="wjw")["package_count"] == 0

    groups = public.action.group_list()
    assert "transport" in groups and len(groups) == len(set(groups))
    transport = public.action.group_show(id="transport")
    assert transport["title"] == "道路交通" and transport["package_count"] == 1

    tags = public.action.tag_list()
    assert {"交通", "流量", "空气质量"} <= set(tags)
    assert public.action.tag_list(query="空气") == ["空气质量"]
    assert "hz-open-data" in {lic["id"] for lic in public.action.license_list()}


def test_site_lists_users_and_help(as_role, city: City) -> None:
    public = as_role()
    assert public.action.site_read() is True
    assert public.action.status_show()["ckan_version"].startswith("2.")
    names = public.action.package_list()
    assert len(names) == 2 and public.action.package_list(limit=1, offset=1) == names[1:]
    with_resources = public.action.current_package_list_with_resources(limit=10)
    assert {d["id"] for d in with_resources} == {city.resources["open"], city.resources["air"]}
    assert len(as_role("sysadmin").action.current_package_list_with_resources(limit=10)) == 3
    assert "email" not in public.action.user_show(id="editor")
    assert as_role("editor").action.user_show(id="editor")["email"] == ""
    assert as_role("editor").action.user_show()["name"] == "editor"
    assert "owner_org" in public.action.help_show(name="package_create")
