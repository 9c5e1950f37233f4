"""The grade (GB/T 43697) and personal flag (PIPL Art. 28) leave the platform with the
metadata: in CKAN's package_show, package_search and resource_show, and in the DCAT-AP export
(a theme from the portal's grade scheme; DPV's kind of data), which still passes the DCAT-AP
3.0.1 shapes."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, SKOS
from sqlalchemy import select

from tests.compat.test_dcat import SHAPES, SITE, assert_valid
from tests.datastore.helpers import new_distribution
from zhihui.catalog.models import Resource

DPV = "https://w3id.org/dpv#"


def _grade(city, grade: str, personal: str) -> None:
    # set as the privacy module leaves it after detection and grading (tests/privacy/
    # test_grading.py covers how); here only what the exports make of it
    with city.db.session() as s:
        r = s.scalar(select(Resource).where(Resource.id == city.resources["open"]))
        r.grade, r.personal = grade, personal


def test_ckan_shows_the_grade_and_personal_flag(client, city):
    rid = city.resources["open"]
    new_distribution(city.db, rid, "企业登记信息")
    plain = client.get(f"/api/3/action/package_show?id={rid}").json()["result"]
    assert plain["grade"] == "general" and plain["personal"] == "none"
    _grade(city, "important", "sensitive_personal")
    pkg = client.get(f"/api/3/action/package_show?id={rid}").json()["result"]
    assert pkg["grade"] == "important" and pkg["personal"] == "sensitive_personal"
    assert pkg["extras"] == []  # our fields are top-level, as everywhere in this API
    assert all(res["grade"] == "important" and res["personal"] == "sensitive_personal"
               for res in pkg["resources"])
    assert pkg["resources"]
    one = client.get(f"/api/3/action/resource_show?id={pkg['resources'][0]['id']}")
    assert one.json()["result"]["personal"] == "sensitive_personal"
    found = client.get("/api/3/action/package_search", params={"q": pkg["title"]}).json()
    assert {p["grade"] for p in found["result"]["results"] if p["id"] == rid} == {"important"}


@pytest.mark.parametrize("personal,prop,kind", [
    ("none", "hasData", "NonPersonalData"),
    ("personal", "hasPersonalData", "PersonalData"),
    ("sensitive_personal", "hasPersonalData", "SensitivePersonalData"),
])
def test_dcat_carries_the_grade_as_a_theme_and_the_personal_flag_in_dpv(
        client, city, personal, prop, kind):
    _grade(city, "important", personal)
    g = Graph().parse(data=client.get(f"/dataset/{city.resources['open']}.ttl").text,
                      format="turtle")
    ds = next(iter(g.subjects(DCAT.landingPage, None)))
    grade = URIRef(f"{SITE}/vocab/grade/important")
    assert grade in set(g.objects(ds, DCAT.theme))
    assert (grade, SKOS.prefLabel, Literal("重要数据", lang="zh")) in g
    assert (grade, SKOS.prefLabel, Literal("Important data", lang="en")) in g
    assert (grade, SKOS.inScheme, URIRef(f"{SITE}/vocab/grade")) in g
    assert g.value(ds, URIRef(DPV + prop)) == URIRef(DPV + kind)
    if SHAPES.exists():
        assert_valid(g, Graph().parse(SHAPES))
    catalogue = Graph().parse(data=client.get("/catalog.ttl").text, format="turtle")
    assert URIRef(f"{SITE}/vocab/grade") in set(catalogue.objects(None, DCAT.themeTaxonomy))
