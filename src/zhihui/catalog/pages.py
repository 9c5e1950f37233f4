"""Portal pages of the catalogue (Art. 48: open data for society; Art. 46: the government
catalogue). Each page is one call to the catalogue service and a template; editors' forms go
through the same service rules as the APIs, so their messages are the same."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service, vocab
from zhihui.catalog.api import search_result
from zhihui.catalog.models import Showcase
from zhihui.catalog.schemas import SearchQuery
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor, can, require
from zhihui.core.errors import NotFound, ValidationFailed
from zhihui.web.deps import ActorDep, LangDep, SessionDep, check_csrf
from zhihui.web.pages import redirect, render

router = APIRouter(include_in_schema=False)

# Times are stored in UTC and shown in China Standard Time (UTC+8 all year, no summer time).
CHINA_TIME = timezone(timedelta(hours=8))

PAGE_SIZE = 20
FILTERS = ("organization", "classification", "theme", "sharing_type", "opening_type", "format",
           "update_cycle", "tags")
FACETS = ("organization", "theme", "sharing_type", "opening_type", "format", "update_cycle",
          "tags")
# Form fields that are plain text inputs, in the order the form shows them.
TEXT_FIELDS = (
    "title", "title_en", "name", "abstract", "sharing_conditions", "sharing_legal_basis",
    "opening_conditions", "opening_legal_basis", "contact_name", "contact_phone",
    "contact_email", "spatial", "published", "temporal_start", "temporal_end", "tags",
)
CHOICE_FIELDS = ("owner_org", "classification", "theme", "format", "sharing_type",
                 "sharing_method", "opening_type", "update_cycle", "license_id")
SUGGESTIONS = 6
BLANK_ROWS = 3  # empty data-item rows under the filled ones; "more rows" adds as many again


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as the city's clock shows it."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA_TIME).strftime(fmt)


def show(request: Request, template: str, actor: Actor, lang: str, status_code: int = 200,
         **context: Any):
    """render() with the catalogue's template helpers."""
    return render(request, template, actor, lang, status_code=status_code,
                  local_time=local_time, licenses=vocab.LICENSES, **context)


@router.get("/")
def home(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    newest = search_result(session, actor, SearchQuery(sort="created", rows=6,
                                                       facets=["theme"], facet_limit=-1), lang)
    popular = search_result(session, actor, SearchQuery(sort="views", rows=6), lang)
    return show(request, "catalog/home.html", actor, lang,
                counts=service.counts(session, actor), newest=newest["results"],
                popular=popular["results"], themes=newest["facets"]["theme"],
                showcases=service.list_showcases(session)[:6])


@router.get("/search/suggest")
def suggest(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
            q: str = ""):
    """A few titles while the user types (htmx swaps this list under the search box)."""
    q = q.strip()[:100]
    results = []
    if q:
        results = search_result(session, actor, SearchQuery(q=q, rows=SUGGESTIONS, facets=[]),
                                lang)["results"]
    return show(request, "catalog/_suggest.html", actor, lang, q=q, results=results)


def _filters(request: Request) -> dict[str, list[str]]:
    out = {}
    for f in FILTERS:
        values = [v for v in request.query_params.getlist(f) if v]
        if values:
            out[f] = values
    return out


def _url(params: dict[str, list[str] | str], **changes: Any) -> str:
    merged: dict[str, Any] = {**params, **changes}
    pairs = []
    for k, v in merged.items():
        for item in v if isinstance(v, list) else [v]:
            if item not in (None, ""):
                pairs.append((k, item))
    return "/dataset?" + urlencode(pairs)


@router.get("/dataset")
def search_page(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
                q: str = "", sort: str = "relevance", page: int = 1):
    filters = _filters(request)
    page = max(1, min(page, 5000))
    if sort not in service.SORTS:
        sort = "relevance"
    query = SearchQuery(q=q[:500], filters=filters, facets=list(FACETS), sort=sort,
                        rows=PAGE_SIZE, start=(page - 1) * PAGE_SIZE, facet_limit=12)
    result = search_result(session, actor, query, lang)
    params: dict[str, Any] = {"q": q, "sort": sort if sort != "relevance" else "", **filters}

    def toggle(field: str, value: str) -> str:
        values = list(filters.get(field, []))
        values = [v for v in values if v != value] if value in values else [*values, value]
        return _url(params, **{field: values, "page": ""})

    # The filters in force, each with its label and a link that removes it.
    labels = {(f, item.name): item.display_name
              for f, items in result["facets"].items() for item in items}
    active = [(labels.get((f, v)) or service.facet_display_name(session, f, v, lang),
               toggle(f, v)) for f, values in filters.items() for v in values]
    pages = max(1, math.ceil(result["count"] / PAGE_SIZE))
    return show(request, "catalog/search.html", actor, lang, q=q, sort=sort, result=result,
                filters=filters, toggle=toggle, page=page, pages=pages, active=active,
                clear_url=_url({"q": q, "sort": params["sort"]}),
                page_url=lambda n: _url(params, page=str(n)),
                sort_url=lambda s: _url(params, sort=s, page=""),
                can_create=_editable_orgs(session, actor) != [])


def _editable_orgs(session: Session, actor: Actor) -> list[Organisation]:
    return [o for o in accounts.list_orgs(session) if can(actor, "resource.create", o)]


# --- editors' forms (declared before /dataset/{id} so "new" is not taken for an id) ---------


def _form_values(form: Any) -> dict[str, Any]:
    """The posted form as the service's input dict (data items from repeated rows)."""
    data: dict[str, Any] = {}
    for f in (*TEXT_FIELDS, *CHOICE_FIELDS):
        value = form.get(f)
        data[f] = value.strip() if isinstance(value, str) else ""
    items = []
    for name, type_, length, desc in zip(
        form.getlist("item_name"), form.getlist("item_type"), form.getlist("item_length"),
        form.getlist("item_description"), strict=False,
    ):
        if name.strip() or desc.strip():
            # a length that is not a number goes to the service, which says so by the field
            length = length.strip()
            items.append({"name": name.strip(), "type": type_ or "C",
                          "length": int(length) if length.isdigit() else (length or None),
                          "description": desc.strip()})
    data["data_items"] = items
    # The form shows conditions only for a conditional type and the legal basis only for a
    # refusal; text left in a hidden field must not be saved with the wrong type.
    for kind in ("sharing", "opening"):
        if data[f"{kind}_type"] != "conditional":
            data[f"{kind}_conditions"] = ""
        if data[f"{kind}_type"] != "none":
            data[f"{kind}_legal_basis"] = ""
    return data


def _service_input(values: dict[str, Any]) -> dict[str, Any]:
    data = dict(values)
    for f in ("published", "temporal_start", "temporal_end", "name"):
        if not data.get(f):
            data[f] = None
    return data


def _form(request: Request, session: Session, actor: Actor, lang: str, *, values: dict,
          errors: dict[str, list[str]] | None = None, resource: dict | None = None,
          status_code: int = 200, blank_rows: int = BLANK_ROWS):
    return show(request, "catalog/form.html", actor, lang, values=values, errors=errors or {},
                blank_rows=min(blank_rows, 200),
                  resource=resource, orgs=_editable_orgs(session, actor), vocab=vocab,
                status_code=status_code)


def _more_rows(request: Request, session: Session, actor: Actor, lang: str, form: Any,
               values: dict[str, Any], resource: dict | None = None):
    """The "more rows" button: the same form again with more empty data-item rows, nothing
    saved (works without JavaScript)."""
    shown = len(form.getlist("item_name"))
    return _form(request, session, actor, lang, values=values, resource=resource,
                 blank_rows=shown - len(values["data_items"]) + BLANK_ROWS)


def _blank(actor: Actor, session: Session) -> dict[str, Any]:
    orgs = _editable_orgs(session, actor)
    return {f: "" for f in (*TEXT_FIELDS, *CHOICE_FIELDS)} | {
        "owner_org": orgs[0].id if orgs else "", "classification": "topic",
        "format": "spreadsheet", "sharing_type": "unconditional", "sharing_method": "api",
        "opening_type": "unconditional", "update_cycle": "irregular",
        "license_id": "hz-open-data", "data_items": [],
    }


@router.get("/dataset/new")
def new_form(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    if not _editable_orgs(session, actor):
        require(actor, "resource.create", Organisation(id=""))
    return _form(request, session, actor, lang, values=_blank(actor, session))


@router.post("/dataset/new")
async def create(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    values = _form_values(form)
    if form.get("more_rows"):
        return _more_rows(request, session, actor, lang, form, values)
    try:
        r = service.create_resource(session, actor, service.parse_input(_service_input(values)))
        session.commit()
    except ValidationFailed as exc:
        session.rollback()
        return _form(request, session, actor, lang, values=values,
                     errors=exc.render_fields(lang), status_code=409)
    return redirect(f"/dataset/{r.name}")


def _values_of(data: dict[str, Any]) -> dict[str, Any]:
    values = {f: data.get(f) or "" for f in (*TEXT_FIELDS, *CHOICE_FIELDS)}
    values["tags"] = ", ".join(data.get("tags", []))
    for f in ("published", "temporal_start", "temporal_end"):
        values[f] = str(data[f]) if data.get(f) else ""
    values["data_items"] = data.get("data_items", [])
    return values


@router.get("/dataset/edit/{resource_id}")
def edit_form(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
              lang: LangDep):
    r = service.get_resource(session, actor, resource_id)
    require(actor, "resource.update", r)
    data = service.resource_dict(r, service.org_of(session, r))
    return _form(request, session, actor, lang, values=_values_of(data), resource=data)


@router.post("/dataset/edit/{resource_id}")
async def update(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                 lang: LangDep):
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    r = service.get_resource(session, actor, resource_id)
    require(actor, "resource.update", r)
    data = service.resource_dict(r, service.org_of(session, r))
    values = _form_values(form)
    if form.get("more_rows"):
        return _more_rows(request, session, actor, lang, form, values, resource=data)
    try:
        service.update_resource(session, actor, r.id,
                                service.parse_input(_service_input(values)))
        session.commit()
    except ValidationFailed as exc:
        session.rollback()
        return _form(request, session, actor, lang, values=values, resource=data,
                     errors=exc.render_fields(lang), status_code=409)
    return redirect(f"/dataset/{r.name}")


@router.post("/dataset/{verb}/{resource_id}")
async def delete_or_restore(verb: str, resource_id: str, request: Request, session: SessionDep,
                            actor: ActorDep):
    """Soft delete (editors) and restore (the operator): buttons on the edit and resource pages."""
    change = {"delete": service.delete_resource, "restore": service.restore_resource}.get(verb)
    if change is None:
        raise NotFound("error.page_not_found")
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    r = change(session, actor, resource_id)
    session.commit()
    return redirect(f"/dataset/{r.name}")


@router.get("/dataset/{resource_id}")
def resource_page(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
                  lang: LangDep):
    r = service.get_resource(session, actor, resource_id)
    data = service.resource_dict(r, service.org_of(session, r))
    activity = service.activity_list(session, actor, r.id, limit=20)
    showcases = service.list_showcases(session, r.id)
    service.record_view(session, r)
    session.commit()
    license_ = vocab.LICENSES.get(data["license_id"])
    return show(request, "catalog/resource.html", actor, lang, r=data, activity=activity,
                  showcases=showcases, license=license_, vocab=vocab,
                  can_edit=can(actor, "resource.update", r),
                  can_restore=r.deleted and can(actor, "resource.restore", r))


# --- organisations and showcases --------------------------------------------------------------


@router.get("/organization")
def org_tree(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    """The tree as the city is built: the city government, its own departments, then the
    districts and counties, each with its departments; counts of the resources each holds."""
    orgs = accounts.list_orgs(session)
    facet = search_result(session, actor, SearchQuery(rows=0, facets=["organization"],
                                                      facet_limit=-1), lang)
    counts = {f.name: f.count for f in facet["facets"]["organization"]}
    children: dict[str | None, list[Organisation]] = {}
    for o in orgs:
        children.setdefault(o.parent_id, []).append(o)
    for kids in children.values():
        # departments before districts, each group in catalogue-code order
        kids.sort(key=lambda o: (o.kind != "department", o.catalog_code))

    def total(o: Organisation) -> int:
        return counts.get(o.id, 0) + sum(total(k) for k in children.get(o.id, []))

    return show(request, "catalog/orgs.html", actor, lang, roots=children.get(None, []),
                children=children, counts=counts, total=total)


@router.get("/organization/{name}")
def org_page(name: str, request: Request, session: SessionDep, actor: ActorDep, lang: LangDep,
             page: int = 1):
    org = accounts.get_org(session, name)
    page = max(1, min(page, 5000))
    result = search_result(session, actor, SearchQuery(
        filters={"organization": [org.id]}, rows=PAGE_SIZE, start=(page - 1) * PAGE_SIZE,
        sort="name", facets=["opening_type"]), lang)
    parent = session.get(Organisation, org.parent_id) if org.parent_id else None
    subs = list(session.scalars(select(Organisation).where(Organisation.parent_id == org.id)
                                .order_by(Organisation.catalog_code)))
    return show(request, "catalog/org.html", actor, lang, org=org, parent=parent, subs=subs,
                result=result, page=page, page_url=lambda n: f"?page={n}",
                pages=max(1, math.ceil(result["count"] / PAGE_SIZE)))


@router.get("/showcase")
def showcase_list(request: Request, session: SessionDep, actor: ActorDep, lang: LangDep):
    return show(request, "catalog/showcases.html", actor, lang,
                showcases=service.list_showcases(session))


@router.get("/showcase/{name}")
def showcase_page(name: str, request: Request, session: SessionDep, actor: ActorDep,
                  lang: LangDep):
    sc = session.scalar(select(Showcase).where(Showcase.name == name))
    if sc is None:
        raise NotFound("error.not_found")
    used = []
    for link in sc.resources:
        try:
            r = service.get_resource(session, actor, link.resource_id)
        except NotFound:
            continue
        used.append(service.resource_dict(r, service.org_of(session, r)))
    return show(request, "catalog/showcase.html", actor, lang, sc=sc, used=used)
