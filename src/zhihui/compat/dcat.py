"""DCAT-AP 3 export of the catalogue (Art. 48: open data described so that other portals, such
as a provincial or national one, can harvest it).

``catalog_graph`` and ``dataset_graph`` build rdflib graphs from the catalogue service's
canonical dicts and know nothing of HTTP; the router below only picks the format, serialises and
sets the paging headers. The mapping is documented in ``docs/dcat.md``; a test validates the
output against the DCAT-AP 3.0.1 SHACL shapes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote, urljoin

from fastapi import APIRouter, Query, Response
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog import vocab
from zhihui.catalog.schemas import SearchQuery
from zhihui.core.accounts import service as accounts
from zhihui.core.authz import Actor
from zhihui.core.errors import NotFound
from zhihui.core.i18n import translate
from zhihui.web.deps import ActorDep, SessionDep, SettingsDep

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DPV = Namespace("https://w3id.org/dpv#")  # W3C Data Privacy Vocabulary (privacy)

EU = "http://publications.europa.eu/resource/authority/"
EU_THEME = Namespace(EU + "data-theme/")
EU_FREQUENCY = Namespace(EU + "frequency/")
EU_ACCESS = Namespace(EU + "access-right/")
EU_FILE_TYPE = Namespace(EU + "file-type/")
EU_LANGUAGE = Namespace(EU + "language/")
IANA = "http://www.iana.org/assignments/media-types/"

PAGE_SIZE = 100
MAX_PAGE = 10_000  # the search service's offset limit (1,000,000) divided by the page size

# Our themes (2017 guide) -> the EU data-theme vocabulary, closest match first.
EU_THEMES: dict[str, tuple[str, ...]] = {
    "01": ("SOCI",), "02": ("ECON",), "03": ("ENVI", "REGI"), "04": ("ECON", "JUST"),
    "05": ("GOVE",), "10": ("ECON",), "11": ("TRAN",), "12": ("ENVI",),
    "13": ("EDUC", "TECH"), "14": ("HEAL",), "15": ("SOCI",), "16": ("JUST",),
    "17": ("REGI",), "18": ("EDUC",), "19": ("SOCI",), "20": ("AGRI",), "21": ("ECON",),
    "22": ("ECON",), "23": ("ECON",), "24": ("ENVI",), "25": ("GOVE",), "26": ("SOCI",),
    "27": ("JUST",),
}
EU_THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food", "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport", "ENVI": "Environment",
    "GOVE": "Government and public sector", "HEAL": "Health",
    "JUST": "Justice, legal system and public safety", "REGI": "Regions and cities",
    "SOCI": "Population and society", "TECH": "Science and technology", "TRAN": "Transport",
}
EU_FREQUENCY_LABELS = {
    "UPDATE_CONT": "continuously updated", "DAILY": "daily", "WEEKLY": "weekly",
    "MONTHLY": "monthly", "QUARTERLY": "quarterly", "ANNUAL_2": "semiannual",
    "ANNUAL": "annual", "IRREG": "irregular",
}
# opening_type -> the EU access-right authority table (Art. 48: open, conditional, not open).
ACCESS_RIGHTS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED", "none": "NON_PUBLIC"}
ACCESS_RIGHT_LABELS = {"PUBLIC": "public", "RESTRICTED": "restricted", "NON_PUBLIC": "non-public"}

# A distribution's format (free text, CKAN style) -> EU file type and IANA media type.
FILE_TYPES: dict[str, tuple[str, str]] = {
    "CSV": ("CSV", "text/csv"),
    "JSON": ("JSON", "application/json"),
    "GEOJSON": ("GEOJSON", "application/geo+json"),
    "XLSX": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "XLS": ("XLS", "application/vnd.ms-excel"),
    "ODS": ("ODS", "application/vnd.oasis.opendocument.spreadsheet"),
    "XML": ("XML", "application/xml"),
    "PDF": ("PDF", "application/pdf"),
    "ZIP": ("ZIP", "application/zip"),
    "HTML": ("HTML", "text/html"),
    "TXT": ("TXT", "text/plain"),
    "PARQUET": ("PARQUET", "application/vnd.apache.parquet"),
    "DOCX": ("DOCX",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "DOC": ("DOC", "application/msword"),
    "PNG": ("PNG", "image/png"),
    "JPEG": ("JPEG", "image/jpeg"),
    "JPG": ("JPEG", "image/jpeg"),
    "SHP": ("SHP", ""),
    "KML": ("KML", "application/vnd.google-earth.kml+xml"),
    "RDF": ("RDF_XML", "application/rdf+xml"),
    "TTL": ("RDF_TURTLE", "text/turtle"),
    "JSON-LD": ("JSON_LD", "application/ld+json"),
}
MEDIA_TYPE_RE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")
SHA256_RE = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
# Characters XML 1.0 cannot carry, and lone surrogates: dropped from every literal, so that
# RDF/XML output always parses.
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What may stay as it is in an IRI; everything else (spaces, quotes, <, >, non-ASCII) is
# percent-encoded, so no IRI can break out of its Turtle or XML syntax.
IRI_SAFE = ":/?#[]@!$&'()*+,;=%~"

# Serialisations: file extension -> (rdflib format, media type).
FORMATS: dict[str, tuple[str, str]] = {
    "ttl": ("turtle", "text/turtle; charset=utf-8"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("pretty-xml", "application/rdf+xml"),
}
JSONLD_CONTEXT = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD),
    "skos": str(SKOS), "xsd": str(XSD), "rdfs": str(RDFS), "hydra": str(HYDRA),
    "locn": str(LOCN), "spdx": str(SPDX), "dpv": str(DPV),
}
# privacy: the personal flag (PIPL Art. 28) as DPV's kind of data the dataset holds
PERSONAL_DATA = {"none": (DPV.hasData, DPV.NonPersonalData),
                 "personal": (DPV.hasPersonalData, DPV.PersonalData),
                 "sensitive_personal": (DPV.hasPersonalData, DPV.SensitivePersonalData)}
GRADES = ("general", "important", "core")  # GB/T 43697 一般 / 重要 / 核心


# --- building graphs (no HTTP here) -----------------------------------------------------------


def _text(value: str) -> str:
    # XML parsers turn CR LF into LF; doing it here keeps the three formats equal.
    return UNSAFE_CHARS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _iri(value: str) -> URIRef:
    return URIRef(quote(_text(value.strip()), safe=IRI_SAFE))


class _Builder:
    """Adds resources to one graph, with IRIs under the portal's address."""

    def __init__(self, site_url: str) -> None:
        self.site = site_url.rstrip("/")
        self.g = Graph()
        for prefix, ns in JSONLD_CONTEXT.items():
            self.g.bind(prefix, ns)

    # IRIs of our things: ids are stable, names may change.
    def dataset_iri(self, resource_id: str) -> URIRef:
        return _iri(f"{self.site}/dataset/{quote(resource_id, safe='')}")

    def landing_page(self, name: str) -> URIRef:
        return _iri(f"{self.site}/dataset/{quote(name, safe='')}")

    def org_iri(self, org_id: str) -> URIRef:
        return _iri(f"{self.site}/organization/{quote(org_id, safe='')}")

    def theme_scheme(self) -> URIRef:
        return _iri(f"{self.site}/vocab/theme")

    def absolute(self, url: str) -> URIRef:
        return _iri(urljoin(self.site + "/", url.strip()))

    # small helpers
    def add(self, s: Any, p: URIRef, o: Any) -> None:
        self.g.add((s, p, o))

    def lit(self, s: Any, p: URIRef, value: str | None, lang: str | None = None) -> None:
        if value and value.strip():
            self.g.add((s, p, Literal(_text(value), lang=lang)))

    def agent(self, org: dict[str, Any]) -> URIRef:
        node = self.org_iri(org["id"])
        self.add(node, RDF.type, FOAF.Agent)
        self.add(node, RDF.type, FOAF.Organization)
        self.lit(node, FOAF.name, org.get("title") or org.get("name"), "zh")
        self.lit(node, FOAF.name, org.get("title_en"), "en")
        return node

    def concept(self, node: URIRef, labels: dict[str, str], scheme: URIRef | None) -> URIRef:
        self.add(node, RDF.type, SKOS.Concept)
        for lang, text in labels.items():
            self.lit(node, SKOS.prefLabel, text, lang)
        if scheme is not None:
            self.add(node, SKOS.inScheme, scheme)
        return node

    def our_theme_scheme(self) -> URIRef:
        scheme = self.theme_scheme()
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.lit(scheme, DCTERMS.title, translate("dcat.theme_scheme_title", "zh"), "zh")
        self.lit(scheme, DCTERMS.title, translate("dcat.theme_scheme_title", "en"), "en")
        return scheme

    def grade_scheme(self) -> URIRef:
        """privacy: the GB/T 43697 grades as a concept scheme of the portal's own."""
        scheme = _iri(f"{self.site}/vocab/grade")
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.lit(scheme, DCTERMS.title, translate("privacy.grade_scheme", "zh"), "zh")
        self.lit(scheme, DCTERMS.title, translate("privacy.grade_scheme", "en"), "en")
        return scheme

    def grade(self, ds: URIRef, r: dict[str, Any]) -> None:
        """privacy: the grade as a theme from ``grade_scheme``; the personal flag in DPV."""
        grade = r.get("grade") if r.get("grade") in GRADES else "general"
        node = _iri(f"{self.site}/vocab/grade/{grade}")
        self.concept(node, {lang: translate(f"privacy.grade.{grade}", lang)
                            for lang in ("zh", "en")}, self.grade_scheme())
        self.lit(node, SKOS.notation, grade)
        self.add(ds, DCAT.theme, node)
        prop, kind = PERSONAL_DATA.get(r.get("personal") or "none", PERSONAL_DATA["none"])
        self.add(ds, prop, kind)

    def eu_theme_scheme(self) -> URIRef:
        scheme = URIRef(str(EU_THEME).rstrip("/"))
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.lit(scheme, DCTERMS.title, "Data theme", "en")
        return scheme

    def license(self, license_id: str) -> URIRef | None:
        lic = vocab.LICENSES.get(license_id)
        if lic is None:
            return None
        node = _iri(lic["url"])
        self.add(node, RDF.type, DCTERMS.LicenseDocument)
        self.lit(node, DCTERMS.title, lic["title"], "zh")
        self.lit(node, DCTERMS.title, lic["title_en"], "en")
        self.lit(node, DCTERMS.identifier, license_id)
        return node

    def dataset(self, r: dict[str, Any]) -> URIRef:
        """One resource (canonical dict from ``catalog.service.resource_dict``)."""
        ds = self.dataset_iri(r["id"])
        add, lit = self.add, self.lit
        add(ds, RDF.type, DCAT.Dataset)
        lit(ds, DCTERMS.identifier, r["resource_code"])
        lit(ds, DCTERMS.title, r["title"], "zh")
        lit(ds, DCTERMS.title, r.get("title_en"), "en")
        # dct:description is mandatory; an empty abstract falls back to the title.
        lit(ds, DCTERMS.description, r.get("abstract") or r["title"], "zh")
        add(ds, DCTERMS.publisher, self.agent(r["organization"]))
        for tag in r.get("tags") or []:
            lit(ds, DCAT.keyword, tag, "zh")

        labels = r.get("labels") or {}
        if r.get("theme"):
            ours = _iri(f"{self.theme_scheme()}/{quote(r['theme'], safe='')}")
            self.concept(ours, labels.get("theme", {}), self.our_theme_scheme())
            lit(ours, SKOS.notation, r["theme"])
            add(ds, DCAT.theme, ours)
            for code in EU_THEMES.get(r["theme"], ()):
                eu = self.concept(EU_THEME[code], {"en": EU_THEME_LABELS[code]},
                                  self.eu_theme_scheme())
                add(ds, DCAT.theme, eu)

        freq = vocab.EU_FREQUENCY.get(r.get("update_cycle") or "")
        if freq:
            node = EU_FREQUENCY[freq]
            add(node, RDF.type, DCTERMS.Frequency)
            lit(node, SKOS.prefLabel, EU_FREQUENCY_LABELS.get(freq, freq), "en")
            add(ds, DCTERMS.accrualPeriodicity, node)

        if isinstance(r.get("published"), date):
            add(ds, DCTERMS.issued, Literal(_as_date(r["published"]), datatype=XSD.date))
        if isinstance(r.get("modified"), datetime):
            add(ds, DCTERMS.modified, Literal(r["modified"], datatype=XSD.dateTime))

        if r.get("spatial"):
            place = BNode()
            add(place, RDF.type, DCTERMS.Location)
            lit(place, LOCN.geographicName, r["spatial"], "zh")
            lit(place, RDFS.label, r["spatial"], "zh")
            add(ds, DCTERMS.spatial, place)
        if r.get("temporal_start") or r.get("temporal_end"):
            period = BNode()
            add(period, RDF.type, DCTERMS.PeriodOfTime)
            if r.get("temporal_start"):
                add(period, DCAT.startDate, Literal(r["temporal_start"], datatype=XSD.date))
            if r.get("temporal_end"):
                add(period, DCAT.endDate, Literal(r["temporal_end"], datatype=XSD.date))
            add(ds, DCTERMS.temporal, period)

        self._contact(ds, r)
        self.grade(ds, r)  # privacy

        access = ACCESS_RIGHTS.get(r.get("opening_type") or "")
        if access:
            node = EU_ACCESS[access]
            add(node, RDF.type, DCTERMS.RightsStatement)
            lit(node, RDFS.label, ACCESS_RIGHT_LABELS[access], "en")
            add(ds, DCTERMS.accessRights, node)

        language = EU_LANGUAGE.ZHO
        add(language, RDF.type, DCTERMS.LinguisticSystem)
        add(ds, DCTERMS.language, language)

        page = self.landing_page(r["name"])
        add(page, RDF.type, FOAF.Document)
        add(ds, DCAT.landingPage, page)

        for d in r.get("distributions") or []:
            add(ds, DCAT.distribution, self._distribution(r, d, page))
        return ds

    def _contact(self, ds: URIRef, r: dict[str, Any]) -> None:
        name, email = r.get("contact_name") or "", r.get("contact_email") or ""
        phone = re.sub(r"[^0-9+\-]", "", r.get("contact_phone") or "")
        if not (name or email or phone):
            return
        kind = BNode()
        self.add(kind, RDF.type, VCARD.Kind)
        self.add(kind, RDF.type, VCARD.Organization)
        self.lit(kind, VCARD.fn, name or r["organization"].get("title"), "zh")
        if email:
            self.add(kind, VCARD.hasEmail, _iri("mailto:" + email))
        if phone:
            self.add(kind, VCARD.hasTelephone, _iri("tel:" + phone))
        self.add(ds, DCAT.contactPoint, kind)

    def _distribution(self, r: dict[str, Any], d: dict[str, Any], page: URIRef) -> URIRef:
        node = _iri(f"{self.dataset_iri(r['id'])}/resource/{quote(str(d['id']), safe='')}")
        add, lit = self.add, self.lit
        add(node, RDF.type, DCAT.Distribution)
        lit(node, DCTERMS.title, d.get("name"), "zh")
        lit(node, DCTERMS.description, d.get("description"), "zh")
        url = (d.get("url") or "").strip()
        # dcat:accessURL is mandatory: the file, API or link itself, else the portal page.
        add(node, DCAT.accessURL, self.absolute(url) if url else page)
        if url and d.get("kind", "file") == "file":
            add(node, DCAT.downloadURL, self.absolute(url))

        fmt = (d.get("format") or "").strip()
        file_type, guessed_media = FILE_TYPES.get(fmt.upper(), ("", ""))
        if file_type:
            ft = EU_FILE_TYPE[file_type]
            add(ft, RDF.type, DCTERMS.MediaTypeOrExtent)
            add(node, DCTERMS.format, ft)
        elif fmt:
            other = BNode()
            add(other, RDF.type, DCTERMS.MediaTypeOrExtent)
            lit(other, RDFS.label, fmt)
            add(node, DCTERMS.format, other)
        media = (d.get("mimetype") or "").strip() or guessed_media
        if MEDIA_TYPE_RE.fullmatch(media):
            mt = _iri(IANA + media.lower())
            add(mt, RDF.type, DCTERMS.MediaType)
            add(mt, RDF.type, DCTERMS.MediaTypeOrExtent)
            add(node, DCAT.mediaType, mt)

        lic = self.license(r.get("license_id") or "")
        if lic is not None:
            add(node, DCTERMS.license, lic)
        conditions = r.get("opening_conditions") if r.get("opening_type") == "conditional" else ""
        if conditions:
            rights = BNode()
            add(rights, RDF.type, DCTERMS.RightsStatement)
            lit(rights, RDFS.label, conditions, "zh")
            add(node, DCTERMS.rights, rights)
        if isinstance(d.get("size"), int) and d["size"] >= 0:
            add(node, DCAT.byteSize, Literal(d["size"], datatype=XSD.nonNegativeInteger))
        digest = SHA256_RE.fullmatch(d.get("hash") or "")
        if digest:
            checksum = BNode()
            add(checksum, RDF.type, SPDX.Checksum)
            add(checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256)
            add(SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm)
            add(checksum, SPDX.checksumValue,
                Literal(digest.group(1).lower(), datatype=XSD.hexBinary))
            add(node, SPDX.checksum, checksum)
        if isinstance(d.get("created"), datetime):
            add(node, DCTERMS.issued, Literal(d["created"], datatype=XSD.dateTime))
        if isinstance(d.get("modified"), datetime):
            add(node, DCTERMS.modified, Literal(d["modified"], datatype=XSD.dateTime))
        return node


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass
class CatalogPage:
    """One page of the catalogue as a graph, with what the paging headers need."""

    graph: Graph
    page: int
    last_page: int
    count: int

    def page_url(self, site_url: str, ext: str, page: int) -> str:
        return f"{site_url.rstrip('/')}/catalog.{ext}?page={page}"


def catalog_iri(site_url: str) -> URIRef:
    return _iri(f"{site_url.rstrip('/')}/catalog")


def _catalog_publisher(session: Session, b: _Builder, site_title: str) -> URIRef:
    """The city government (the root of the organisation tree); else the platform operator."""
    roots = [o for o in accounts.list_orgs(session) if o.parent_id is None]
    root = next((o for o in roots if o.kind == "city"), roots[0] if roots else None)
    if root is not None:
        return b.agent({"id": root.id, "name": root.name, "title": root.title,
                        "title_en": root.title_en})
    node = _iri(f"{b.site}/#operator")
    b.add(node, RDF.type, FOAF.Agent)
    b.lit(node, FOAF.name, f"{site_title} {translate('dcat.operator', 'zh')}", "zh")
    return node


def catalog_graph(
    session: Session, actor: Actor, *, site_url: str, site_title: str, page: int = 1,
    ext: str = "ttl",
) -> CatalogPage:
    """One page of the catalogue the actor may read (anonymous: open resources only), with a
    hydra:PartialCollectionView for paging. ``ext`` names the serialisation for page links."""
    page = max(1, page)
    result = catalog.search(session, actor, SearchQuery(
        rows=PAGE_SIZE, start=(page - 1) * PAGE_SIZE, sort="name"))
    last_page = max(1, -(-result.count // PAGE_SIZE))
    if page > last_page:
        raise NotFound("error.page_not_found")

    b = _Builder(site_url)
    cat = catalog_iri(site_url)
    b.add(cat, RDF.type, DCAT.Catalog)
    b.lit(cat, DCTERMS.title, site_title, "zh")
    b.lit(cat, DCTERMS.title, translate("ui.site_title", "en"), "en")
    b.lit(cat, DCTERMS.description, translate("dcat.catalog_description", "zh"), "zh")
    b.lit(cat, DCTERMS.description, translate("dcat.catalog_description", "en"), "en")
    b.add(cat, DCTERMS.publisher, _catalog_publisher(session, b, site_title))
    homepage = _iri(b.site + "/")
    b.add(homepage, RDF.type, FOAF.Document)
    b.add(cat, FOAF.homepage, homepage)
    b.add(cat, DCAT.themeTaxonomy, b.our_theme_scheme())
    b.add(cat, DCAT.themeTaxonomy, b.eu_theme_scheme())
    b.add(cat, DCAT.themeTaxonomy, b.grade_scheme())  # privacy
    b.add(cat, DCTERMS.language, EU_LANGUAGE.ZHO)
    b.add(EU_LANGUAGE.ZHO, RDF.type, DCTERMS.LinguisticSystem)

    for r in result.resources:
        b.add(cat, DCAT.dataset, b.dataset(catalog.resource_dict(r, catalog.org_of(session, r))))

    out = CatalogPage(graph=b.g, page=page, last_page=last_page, count=result.count)
    view = _iri(out.page_url(site_url, ext, page))
    b.add(cat, HYDRA.totalItems, Literal(result.count, datatype=XSD.nonNegativeInteger))
    b.add(cat, HYDRA.view, view)
    b.add(view, RDF.type, HYDRA.PartialCollectionView)
    b.add(view, HYDRA.first, _iri(out.page_url(site_url, ext, 1)))
    b.add(view, HYDRA.last, _iri(out.page_url(site_url, ext, last_page)))
    if page > 1:
        b.add(view, HYDRA.previous, _iri(out.page_url(site_url, ext, page - 1)))
    if page < last_page:
        b.add(view, HYDRA.next, _iri(out.page_url(site_url, ext, page + 1)))
    return out


def dataset_graph(session: Session, actor: Actor, id_or_name: str, *, site_url: str) -> Graph:
    """One resource the actor may read, as a dcat:Dataset; NotFound otherwise."""
    b = _Builder(site_url)
    b.dataset(catalog.show(session, actor, id_or_name))
    return b.g


def serialise(graph: Graph, ext: str) -> bytes:
    rdf_format, _ = FORMATS[ext]
    if rdf_format == "json-ld":
        return graph.serialize(format="json-ld", context=JSONLD_CONTEXT,
                               auto_compact=True, encoding="utf-8")
    return graph.serialize(format=rdf_format, encoding="utf-8")


def jsonld_for_html(graph: Graph) -> str:
    """JSON-LD safe to put inside ``<script type="application/ld+json">`` on a page:
    ``<``, ``>`` and ``&`` escaped, so no title can close the script element."""
    data = json.loads(serialise(graph, "jsonld"))
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- HTTP -------------------------------------------------------------------------------------

router = APIRouter(tags=["dcat"])
# Answers depend on who asks (government users see more), so shared caches must not mix them;
# the session middleware adds "Cookie" itself whenever the sign-in cookie was consulted.
VARY = "Authorization, X-CKAN-API-Key"
RDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "RDF in the format the extension names",
          "content": {media.split(";")[0]: {} for _, media in FORMATS.values()}},
    404: {"description": "unknown or unreadable resource, page or format"},
}


def _format(ext: str) -> str:
    if ext not in FORMATS:
        raise NotFound("error.page_not_found")
    return ext


@router.get(
    "/catalog.{ext}",
    summary="DCAT-AP 3 catalogue, paged (ext: ttl, jsonld, rdf)",
    response_class=Response,
    responses=RDF_RESPONSES,
)
def catalog_document(
    ext: str,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    ext = _format(ext)
    out = catalog_graph(session, actor, site_url=settings.site_url,
                        site_title=settings.site_title, page=page, ext=ext)
    links = [f'<{out.page_url(settings.site_url, ext, 1)}>; rel="first"',
             f'<{out.page_url(settings.site_url, ext, out.last_page)}>; rel="last"']
    if out.page > 1:
        links.append(f'<{out.page_url(settings.site_url, ext, out.page - 1)}>; rel="prev"')
    if out.page < out.last_page:
        links.append(f'<{out.page_url(settings.site_url, ext, out.page + 1)}>; rel="next"')
    return Response(serialise(out.graph, ext), media_type=FORMATS[ext][1],
                    headers={"Link": ", ".join(links), "Vary": VARY,
                             "X-Total-Count": str(out.count)})


@router.get(
    "/dataset/{id_or_name}.{ext}",
    summary="One resource as a DCAT-AP 3 dataset (ext: ttl, jsonld, rdf)",
    response_class=Response,
    responses=RDF_RESPONSES,
)
def dataset_document(
    id_or_name: str, ext: str, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    ext = _format(ext)
    if "\x00" in id_or_name:  # PostgreSQL refuses NUL in any text; no resource has one
        raise NotFound("error.resource_not_found", id=id_or_name.replace("\x00", "")[:100])
    graph = dataset_graph(session, actor, id_or_name, site_url=settings.site_url)
    return Response(serialise(graph, ext), media_type=FORMATS[ext][1], headers={"Vary": VARY})
