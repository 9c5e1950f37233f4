"""DCAT-AP 3 export: a harvester (a provincial or national portal) reads our catalogue as RDF,
and what it reads passes the DCAT-AP 3.0.1 SHACL shapes with zero violations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from tests.factories import City, resource_input
from zhihui.catalog import service as catalog
from zhihui.catalog import vocab
from zhihui.catalog.schemas import ResourceIn
from zhihui.compat import dcat
from zhihui.compat.dcat import VCARD
from zhihui.core.authz import ANONYMOUS, SYSTEM

# The published shapes live beside the repository (../shared/standards/); a clone elsewhere
# names the folder with ZHIHUI_STANDARDS, or finds the workplace's copy.
_SHAPES_NAME = "dcat-ap-3.0.1-shacl.ttl"
_SHAPES_DIRS = [os.environ.get("ZHIHUI_STANDARDS", ""),
                str(Path(__file__).resolve().parents[3] / "shared/standards"),
                "/work/shared/standards"]
SHAPES = next((Path(d) / _SHAPES_NAME for d in _SHAPES_DIRS
               if d and (Path(d) / _SHAPES_NAME).exists()), Path(_SHAPES_DIRS[1]) / _SHAPES_NAME)
SITE = "http://127.0.0.1:8000"  # Settings.site_url's default, which the tests keep
EU = "http://publications.europa.eu/resource/authority/"
HYDRA = "http://www.w3.org/ns/hydra/core#"

HOSTILE_TITLE = '"><script>alert(1)</script> 第一行\n第二行 "引号" \'单引号\' \\ 反斜杠 ]]> &amp;'


@pytest.fixture(scope="module")
def shapes() -> Graph:
    if not SHAPES.exists():
        pytest.skip(f"DCAT-AP shapes not found at {SHAPES}")
    return Graph().parse(SHAPES)


def assert_valid(data: Graph, shapes: Graph) -> None:
    """Zero violations (and zero warnings). The shapes use sh:class, which pyshacl checks
    against rdf:type triples in the data graph: our output types every node it points to
    (licence, media type, frequency …), so no inference is needed."""
    from pyshacl import validate

    conforms, _, text = validate(data, shacl_graph=shapes, inference="none",
                                 abort_on_first=False, allow_warnings=False)
    assert conforms, text


def add_resource(city: City, **overrides) -> str:  # type: ignore[no-untyped-def]
    with city.db.session() as s:
        r = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            city.orgs["jtj"], **overrides)))
        return r.id


def full_resource(city: City) -> str:
    """Every optional field filled, and distributions of every kind."""
    return add_resource(
        city, name="road-works", title="道路施工占道信息", title_en="Road works",
        resource_code=None, temporal_start="2020-01-01", temporal_end="2024-12-31",
        update_cycle="weekly", license_id="cc-by-4.0", tags=["施工", "道路", "占道"],
        opening_type="conditional", opening_conditions="须签署数据使用协议",
        distributions=[
            {"name": "施工清单 2024", "kind": "file", "format": "CSV",
             "url": "https://data.example.gov.cn/files/roadworks-2024.csv", "size": 123456,
             "description": "按月汇总"},
            {"name": "上传的表格", "kind": "file", "format": "xlsx",
             "url": "/download/roadworks.xlsx", "mimetype":
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
            {"name": "尚未上传的文件", "kind": "file", "format": "", "url": ""},
            {"name": "实时查询接口", "kind": "api", "format": "REST",
             "url": "https://api.example.gov.cn/roadworks?city=hz&page=1"},
            {"name": "说明页面", "kind": "link", "format": "HTML",
             "url": "https://www.example.gov.cn/roadworks"},
        ],
    )


def bare_resource(city: City) -> str:
    """Only what the catalogue rules require: no distributions, no contact, no abstract."""
    return add_resource(
        city, name="bare", title="最简资源", title_en="", abstract="", tags=[],
        classification="department", theme="", published=None, contact_name="",
        contact_phone="", contact_email="", spatial="", update_cycle="irregular",
    )


def get_graph(client, url: str, fmt: str = "turtle", headers=None) -> Graph:  # type: ignore[no-untyped-def]
    resp = client.get(url, headers=headers or {})
    assert resp.status_code == 200, resp.text
    return Graph().parse(data=resp.content, format=fmt)


def without_page_links(g: Graph) -> Graph:
    view = g.value(URIRef(f"{SITE}/catalog"), URIRef(HYDRA + "view"))
    assert view is not None
    out = Graph()
    for s, p, o in g:
        if view not in (s, o):
            out.add((s, p, o))
    return out


def dataset(resource_id: str) -> URIRef:
    return URIRef(f"{SITE}/dataset/{resource_id}")


# --- validation ---------------------------------------------------------------------------


def test_catalogue_page_passes_dcat_ap_shapes(client, city: City, shapes: Graph) -> None:
    full_resource(city)
    bare_resource(city)
    g = get_graph(client, "/catalog.ttl")
    assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 4  # open, air, full, bare
    assert_valid(g, shapes)


@pytest.mark.parametrize("which", ["open", "air", "full", "bare"])
def test_each_dataset_passes_dcat_ap_shapes(client, city: City, shapes: Graph, which) -> None:  # type: ignore[no-untyped-def]
    ids = {**city.resources, "full": full_resource(city), "bare": bare_resource(city)}
    g = get_graph(client, f"/dataset/{ids[which]}.ttl")
    assert (dataset(ids[which]), RDF.type, DCAT.Dataset) in g
    assert_valid(g, shapes)


def test_the_not_open_resource_validates_for_government_users(
    client, city: City, shapes: Graph
) -> None:
    g = get_graph(client, f"/dataset/{city.resources['closed']}.rdf", "xml",
                  headers=city.headers("member"))
    assert (dataset(city.resources["closed"]), DCTERMS.accessRights,
            URIRef(EU + "access-right/NON_PUBLIC")) in g
    assert_valid(g, shapes)


def test_the_validation_would_catch_a_broken_export(client, city: City, shapes: Graph) -> None:
    """The check bites: the same output without a publisher's name or a licence's type fails."""
    from pyshacl import validate

    full_resource(city)
    g = get_graph(client, "/dataset/road-works.ttl")
    g.remove((None, FOAF.name, None))
    assert not validate(g, shacl_graph=shapes, inference="none")[0]
    g = get_graph(client, "/dataset/road-works.ttl")
    g.remove((None, RDF.type, DCTERMS.LicenseDocument))
    assert not validate(g, shacl_graph=shapes, inference="none")[0]


# --- the mapping ------------------------------------------------------------------------------


def test_a_resource_maps_to_the_dcat_ap_properties(client, city: City) -> None:
    rid = full_resource(city)
    g = get_graph(client, "/dataset/road-works.ttl")
    ds = dataset(rid)
    assert g.value(ds, DCTERMS.identifier).startswith("211002/")
    assert set(g.objects(ds, DCTERMS.title)) == {Literal("道路施工占道信息", lang="zh"),
                                                  Literal("Road works", lang="en")}
    assert (ds, DCAT.keyword, Literal("占道", lang="zh")) in g
    # our theme 11 道路交通 is the EU theme TRAN, and stays a concept of our own scheme
    themes = set(g.objects(ds, DCAT.theme))
    assert URIRef(EU + "data-theme/TRAN") in themes
    ours = URIRef(f"{SITE}/vocab/theme/11")
    assert ours in themes
    assert (ours, SKOS.prefLabel, Literal("道路交通", lang="zh")) in g
    assert (ours, SKOS.inScheme, URIRef(f"{SITE}/vocab/theme")) in g
    assert g.value(ds, DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/WEEKLY")
    assert g.value(ds, DCTERMS.accessRights) == URIRef(EU + "access-right/RESTRICTED")
    issued = g.value(ds, DCTERMS.issued)
    assert issued.datatype == XSD.date and str(issued) == "2024-05-01"
    assert g.value(ds, DCTERMS.modified).datatype == XSD.dateTime
    period = g.value(ds, DCTERMS.temporal)
    assert g.value(period, DCAT.startDate) == Literal("2020-01-01", datatype=XSD.date)
    assert g.value(period, DCAT.endDate) == Literal("2024-12-31", datatype=XSD.date)
    assert g.value(ds, DCTERMS.spatial) is not None
    publisher = g.value(ds, DCTERMS.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in g
    assert (publisher, FOAF.name, Literal("杭州市交通运输局", lang="zh")) in g
    contact = g.value(ds, DCAT.contactPoint)
    assert g.value(contact, VCARD.fn) == Literal("数据科", lang="zh")
    assert g.value(contact, VCARD.hasEmail) == URIRef("mailto:data@jtj.hangzhou.gov.cn")
    assert g.value(contact, VCARD.hasTelephone) == URIRef("tel:0571-85252000")
    assert g.value(ds, DCAT.landingPage) == URIRef(f"{SITE}/dataset/road-works")

    dists = {str(g.value(d, DCTERMS.title)): d for d in g.objects(ds, DCAT.distribution)}
    assert len(dists) == 5
    csv = dists["施工清单 2024"]
    url = URIRef("https://data.example.gov.cn/files/roadworks-2024.csv")
    assert g.value(csv, DCAT.accessURL) == url and g.value(csv, DCAT.downloadURL) == url
    assert g.value(csv, DCTERMS.format) == URIRef(EU + "file-type/CSV")
    assert g.value(csv, DCAT.mediaType) == URIRef(
        "http://www.iana.org/assignments/media-types/text/csv")
    assert g.value(csv, DCAT.byteSize) == Literal(123456, datatype=XSD.nonNegativeInteger)
    licence = URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert g.value(csv, DCTERMS.license) == licence
    assert (licence, RDF.type, DCTERMS.LicenseDocument) in g
    # an uploaded file's relative address becomes absolute under the portal
    assert g.value(dists["上传的表格"], DCAT.downloadURL) == URIRef(
        f"{SITE}/download/roadworks.xlsx")
    # a file not yet uploaded still has an access URL: the resource's page
    pending = dists["尚未上传的文件"]
    assert g.value(pending, DCAT.accessURL) == URIRef(f"{SITE}/dataset/road-works")
    assert g.value(pending, DCAT.downloadURL) is None
    # APIs and links are accessed, not downloaded
    for name in ("实时查询接口", "说明页面"):
        assert g.value(dists[name], DCAT.accessURL) is not None
        assert g.value(dists[name], DCAT.downloadURL) is None


def test_a_resource_without_distributions_still_has_a_landing_page(client, city: City) -> None:
    rid = bare_resource(city)
    g = get_graph(client, "/dataset/bare.jsonld", "json-ld")
    ds = dataset(rid)
    assert g.value(ds, DCAT.distribution) is None
    assert g.value(ds, DCAT.landingPage) == URIRef(f"{SITE}/dataset/bare")
    # the mandatory description falls back to the title
    assert g.value(ds, DCTERMS.description) == Literal("最简资源", lang="zh")


def test_the_catalogue_describes_itself(client, city: City) -> None:
    g = get_graph(client, "/catalog.ttl")
    cat = URIRef(f"{SITE}/catalog")
    assert (cat, RDF.type, DCAT.Catalog) in g
    assert {t.language for t in g.objects(cat, DCTERMS.title)} == {"zh", "en"}
    assert g.value(cat, DCTERMS.description) is not None
    publisher = g.value(cat, DCTERMS.publisher)
    assert (publisher, FOAF.name, Literal("杭州市人民政府", lang="zh")) in g
    assert set(g.objects(cat, DCAT.dataset)) == {
        dataset(city.resources["open"]), dataset(city.resources["air"])}


# --- formats and media types ------------------------------------------------------------------


def test_the_three_formats_carry_the_same_graph(client, city: City) -> None:
    turtle = client.get("/catalog.ttl")
    jsonld = client.get("/catalog.jsonld")
    rdfxml = client.get("/catalog.rdf")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert rdfxml.headers["content-type"].startswith("application/rdf+xml")
    g_ttl = Graph().parse(data=turtle.content, format="turtle")
    g_json = Graph().parse(data=jsonld.content, format="json-ld")
    g_xml = Graph().parse(data=rdfxml.content, format="xml")
    assert len(g_ttl) > 50
    # the same graph, but for the page links, which name their own format
    g_ttl = without_page_links(g_ttl)
    assert isomorphic(g_ttl, without_page_links(g_json))
    assert isomorphic(g_ttl, without_page_links(g_xml))
    assert "@context" in json.loads(jsonld.content)

    one = client.get(f"/dataset/{city.resources['open']}.jsonld")
    assert one.headers["content-type"].startswith("application/ld+json")
    assert isomorphic(Graph().parse(data=one.content, format="json-ld"),
                      Graph().parse(data=client.get(
                          f"/dataset/{city.resources['open']}.ttl").content, format="turtle"))


def test_a_dataset_is_found_by_name_too(client, city: City) -> None:
    with city.db.session() as s:
        name = catalog.get_resource(s, SYSTEM, city.resources["air"]).name
    g = get_graph(client, f"/dataset/{name}.ttl")
    assert (dataset(city.resources["air"]), RDF.type, DCAT.Dataset) in g


def test_unknown_dataset_or_format_is_404(client, city: City) -> None:
    assert client.get("/dataset/no-such-thing.ttl").status_code == 404
    assert client.get("/dataset/a%00b.ttl").status_code == 400  # NUL is refused at the door
    assert client.get("/dataset/" + "长" * 300 + ".rdf").status_code == 404
    assert client.get(f"/dataset/{city.resources['open']}.n3").status_code == 404
    assert client.get("/catalog.csv").status_code == 404
    assert client.get("/catalog.ttl?page=2").status_code == 404


# --- who sees what ----------------------------------------------------------------------------


def test_anonymous_does_not_see_the_resource_that_is_not_open(client, city: City) -> None:
    closed = dataset(city.resources["closed"])
    public = get_graph(client, "/catalog.ttl")
    assert (closed, RDF.type, DCAT.Dataset) not in public
    assert "公交车辆实时定位数据" not in client.get("/catalog.rdf").text
    assert client.get(f"/dataset/{city.resources['closed']}.ttl").status_code == 404
    assert client.get(f"/dataset/{city.resources['closed']}.jsonld").status_code == 404

    # a government user (any organisation's member) reads the whole catalogue
    government = get_graph(client, "/catalog.ttl", headers=city.headers("other_member"))
    assert (closed, RDF.type, DCAT.Dataset) in government
    vary = [v.strip().lower() for v in client.get("/catalog.ttl").headers["vary"].split(",")]
    assert "authorization" in vary and "cookie" in vary and len(vary) == len(set(vary))


def test_deleted_resources_are_not_exported(client, city: City) -> None:
    with city.db.session() as s:
        catalog.delete_resource(s, SYSTEM, city.resources["open"])
    g = get_graph(client, "/catalog.ttl", headers=city.headers("sysadmin"))
    assert (dataset(city.resources["open"]), RDF.type, DCAT.Dataset) not in g


def test_service_functions_answer_without_http(city: City) -> None:
    with city.db.session() as s:
        page = dcat.catalog_graph(s, ANONYMOUS, site_url=SITE, site_title="杭州", page=1)
        assert page.count == 2 and page.last_page == 1
        with pytest.raises(Exception) as exc:
            dcat.dataset_graph(s, ANONYMOUS, city.resources["closed"], site_url=SITE)
        assert getattr(exc.value, "status", None) == 404


# --- paging -----------------------------------------------------------------------------------


def test_a_harvester_follows_the_pages(client, city: City, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    for i in range(3):
        add_resource(city, name=f"extra-{i}", title=f"附加资源{i}")
    seen: set[URIRef] = set()
    url: str | None = "/catalog.ttl"
    pages = 0
    while url:
        resp = client.get(url)
        assert resp.status_code == 200
        g = Graph().parse(data=resp.content, format="turtle")
        batch = set(g.subjects(RDF.type, DCAT.Dataset))
        assert 1 <= len(batch) <= 2
        assert not (batch & seen)
        seen |= batch
        pages += 1
        cat = URIRef(f"{SITE}/catalog")
        assert g.value(cat, URIRef(HYDRA + "totalItems")).toPython() == 5
        view = g.value(cat, URIRef(HYDRA + "view"))
        assert (view, RDF.type, URIRef(HYDRA + "PartialCollectionView")) in g
        links = resp.links
        assert links["first"]["url"] == f"{SITE}/catalog.ttl?page=1"
        assert links["last"]["url"] == f"{SITE}/catalog.ttl?page=3"
        if pages > 1:
            assert links["prev"]["url"] == f"{SITE}/catalog.ttl?page={pages - 1}"
            assert g.value(view, URIRef(HYDRA + "previous")) is not None
        nxt = links.get("next", {}).get("url")
        assert (g.value(view, URIRef(HYDRA + "next")) is not None) == bool(nxt)
        url = nxt.removeprefix(SITE) if nxt else None
    assert pages == 3 and len(seen) == 5


def test_page_numbers_are_checked(client, city: City) -> None:
    assert client.get("/catalog.ttl?page=0").status_code in (400, 409, 422)
    assert client.get("/catalog.ttl?page=abc").status_code in (400, 409, 422)
    assert client.get("/catalog.jsonld?page=99999999").status_code in (400, 409, 422)


# --- hostile text -----------------------------------------------------------------------------


def test_hostile_text_is_serialised_safely(client, city: City, shapes: Graph) -> None:
    rid = add_resource(
        city, name="hostile", title=HOSTILE_TITLE, title_en='</rdf:RDF><x a="1">',
        abstract="摘要\r\n\"}] @prefix evil: <http://evil/> . \x0b end",
        distributions=[{"name": '"><img src=x onerror=alert(1)>', "kind": "link",
                        "url": 'https://example.org/a"><script>b</script>{x}|^`'}],
    )
    ds = dataset(rid)
    for ext, fmt in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        resp = client.get(f"/dataset/hostile.{ext}")
        assert resp.status_code == 200
        g = Graph().parse(data=resp.content, format=fmt)
        assert (ds, DCTERMS.title, Literal(HOSTILE_TITLE, lang="zh")) in g, ext
        assert (ds, DCTERMS.title, Literal('</rdf:RDF><x a="1">', lang="en")) in g, ext
        description = str(g.value(ds, DCTERMS.description))
        assert description.startswith("摘要\n\"}] @prefix evil") and "\x0b" not in description
        assert not any(str(p).startswith("http://evil/") for p in g.predicates())
        access = str(g.value(g.value(ds, DCAT.distribution), DCAT.accessURL))
        assert '"' not in access and "<" not in access and " " not in access
        assert_valid(g, shapes)
    assert "<script>" not in client.get("/dataset/hostile.rdf").text
    with city.db.session() as s:
        html_safe = dcat.jsonld_for_html(
            dcat.dataset_graph(s, ANONYMOUS, "hostile", site_url=SITE))
    assert "<" not in html_safe and ">" not in html_safe
    assert json.loads(html_safe)


# --- the docs say what the code does ----------------------------------------------------------


def test_every_theme_mapping_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs/dcat.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().split()[0]: line.split("|")[2]
            for line in text.splitlines() if line.startswith("| ") and line[2:4].isdigit()}
    for code, eu_codes in dcat.EU_THEMES.items():
        assert [c.strip() for c in rows[code].split(",")] == list(eu_codes), code
    assert set(rows) == {*vocab.BASE_THEMES, *vocab.TOPIC_THEMES}
