"""CKAN-compatible Action API (Art. 48: open data through the interface harvesters and the
``ckanapi`` client already speak). Every action is a few lines over ``catalog.service`` and
``core.accounts.service``; the rules live there, so this door cannot drift from the others.

Routes: ``/api/3/action/<name>`` and ``/api/action/<name>``, GET (query parameters) and POST
(JSON body, or a form). The answer is CKAN's envelope ``{"help", "success", "result"}``; errors
are taxonomy errors rendered once by ``web/errors.py`` as ``{"help", "success": false,
"error": {"__type", "message", <field>: [messages]}}`` with CKAN's codes: 409 validation,
404 not found, 403 not allowed (also for anonymous callers, as CKAN does), 400 for an unknown
action, malformed JSON, or a changing action called with GET.

The dataset (CKAN package) <-> our resource:

=======================  ====================================================================
CKAN                     ours
=======================  ====================================================================
name, title              name (may be Chinese), title
notes                    abstract
owner_org, organization  provider organisation (id; the dict holds id, name, title, title_en)
private                  opening_type == "none" (derived; ignored on input)
state                    "deleted" when soft-deleted, else "active" (ignored on input)
metadata_created/_modif  created / modified, ISO 8601 in UTC without a zone, like CKAN
license_id/_title/_url   license_id and its entry in ``vocab.LICENSES``
maintainer(_email)       contact_name / contact_email (input: used when contact_* is absent)
tags                     tags as [{"name", "display_name"}] (input: dicts or strings)
groups                   the topic theme as a group (see below; input: sets theme if absent)
resources                distributions (id, package_id, name, description, url, format,
                         mimetype, size, url_type, datastore_active, created, last_modified,
                         position, kind)
extras                   always [] on output; on input, our field names found there are used
top-level fields         our metadata, CKAN "extras style": title_en, resource_code,
                         classification, theme, format (our 资源格式 class; CKAN has no package
                         format, so the name is free), data_items, sharing_type,
                         sharing_conditions, sharing_legal_basis, sharing_method, opening_type,
                         opening_conditions, opening_legal_basis, update_cycle, published,
                         contact_name, contact_phone, contact_email, spatial, temporal_start,
                         temporal_end, revision
grade, personal          privacy's grading (GB/T 43697: general / important / core) and
                         personal flag (PIPL Art. 28: none / personal / sensitive_personal),
                         on the package and on each of its resources (a resource's are its
                         package's); on input, set through the catalogue's privacy rules
=======================  ====================================================================

Groups are the topic themes of ``catalog/vocab.py`` (主题信息资源: 道路交通 …): a group's
``id`` is the theme code ("11"), its ``name`` a slug of the English label ("transport").

package_search: ``fq`` (and ``field:value`` words in ``q``) accept organization / owner_org,
tags, res_format, groups, license_id, name, id, and our fields (classification, theme,
format, sharing_type, opening_type, update_cycle, resource_code); ``"a b"`` quotes a value,
``(a OR b)`` lists alternatives (not for tags: every tag given must be present). Sorts:
``score desc`` (relevance), ``metadata_modified desc``, ``metadata_created desc``,
``title_string asc`` and ``name asc`` (both: by title, then name), ``views_recent desc``.
``rows`` is capped at ``ROWS_MAX`` like CKAN's ``ckan.search.rows_max``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import ValidationError as ShapeError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from zhihui import __version__
from zhihui.catalog import service as catalog
from zhihui.catalog import vocab
from zhihui.catalog.schemas import DistributionIn, ResourceIn, SearchQuery
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor, can
from zhihui.core.errors import (
    BadRequest,
    FieldErrors,
    Forbidden,
    Message,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from zhihui.core.schemas import has_nul
from zhihui.web import deps

router = APIRouter(tags=["ckan"])

CKAN_VERSION = "2.10.0"  # the Action API level we answer as (status_show)
ROWS_MAX = 1000  # CKAN's ckan.search.rows_max: larger ``rows`` are quietly capped
ORG_DATASETS = 1000  # datasets listed by organization_show / group_show include_datasets


# --- the package dict ------------------------------------------------------------------------

OUR_FIELDS = (
    "title_en", "resource_code", "classification", "theme", "format", "data_items",
    "sharing_type", "sharing_conditions", "sharing_legal_basis", "sharing_method",
    "opening_type", "opening_conditions", "opening_legal_basis", "update_cycle", "published",
    "contact_name", "contact_phone", "contact_email", "spatial", "temporal_start",
    "temporal_end", "revision",
)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


GROUPS = {code: _slug(en) for code, (_zh, en) in vocab.TOPIC_THEMES.items()}  # code -> name
GROUP_CODES = {name: code for code, name in GROUPS.items()}


def _iso(value: datetime | str | None) -> str | None:
    """A timestamp as CKAN writes it: ISO 8601, UTC, without a zone."""
    if value is None:
        return None
    if isinstance(value, str):  # activity snapshots hold their timestamps as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def _day(value: date | str | None) -> str | None:
    return value if value is None or isinstance(value, str) else value.isoformat()


def group_dict(code: str, lang: str, package_count: int | None = None) -> dict[str, Any]:
    zh, en = vocab.TOPIC_THEMES[code]
    out = {"id": code, "name": GROUPS[code], "title": zh, "title_en": en,
           "display_name": en if lang == "en" else zh, "description": "", "type": "group",
           "is_organization": False, "state": "active", "approval_status": "approved",
           "image_url": "", "image_display_url": ""}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def organization_dict(org: dict[str, Any], lang: str) -> dict[str, Any]:
    """CKAN's organization dict from our ``org_dict`` (or the summary inside a resource)."""
    out = {
        **org,
        "display_name": (org.get("title_en") or org["title"]) if lang == "en" else org["title"],
        "description": org.get("description", ""),
        "type": "organization", "is_organization": True, "state": "active",
        "approval_status": "approved", "image_url": "",
    }
    if "created" in org:
        out["created"] = _iso(org["created"])
    return out


def _privacy_fields(r: Any) -> dict[str, str]:
    """Grade and personal flag (privacy), from a resource dict, snapshot or model."""
    get = r.get if isinstance(r, dict) else lambda k: getattr(r, k, None)
    return {"grade": get("grade") or "general", "personal": get("personal") or "none"}


def resource_out(d: dict[str, Any], r: Any = None) -> dict[str, Any]:
    """A distribution as a CKAN resource (with its package's grade and personal flag when
    the package ``r`` is given)."""
    out = {
        "id": d["id"], "package_id": d["resource_id"], "name": d["name"],
        "description": d["description"], "url": d["url"], "format": d["format"],
        "mimetype": d["mimetype"] or None, "size": d["size"], "url_type": d["url_type"] or None,
        "datastore_active": d["datastore_active"], "hash": d["hash"], "kind": d["kind"],
        "created": _iso(d["created"]), "last_modified": _iso(d["modified"]),
        "metadata_modified": _iso(d["modified"]), "position": d["position"], "state": "active",
    }
    if r is not None:  # privacy
        out.update(_privacy_fields(r))
    return out


def package_dict(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """A resource (``catalog.resource_dict`` or an activity snapshot) as a CKAN package."""
    licence = vocab.LICENSES.get(r["license_id"] or "")
    tags = [{"name": t, "display_name": t, "state": "active", "vocabulary_id": None}
            for t in r["tags"]]
    groups = ([group_dict(r["theme"], lang)]
              if r["classification"] == "topic" and r["theme"] in GROUPS else [])
    resources = [resource_out(d, r) for d in r["distributions"]]
    ours = {f: r[f] for f in OUR_FIELDS}
    for f in ("published", "temporal_start", "temporal_end"):
        ours[f] = _day(ours[f])
    return {
        "id": r["id"], "name": r["name"], "title": r["title"], "type": "dataset",
        "notes": r["abstract"], "owner_org": r["owner_org"],
        "organization": organization_dict(r["organization"], lang),
        "private": r["opening_type"] == "none",
        "state": "deleted" if r["deleted"] else "active",
        "metadata_created": _iso(r["created"]), "metadata_modified": _iso(r["modified"]),
        "license_id": r["license_id"],
        "license_title": (licence["title_en"] if lang == "en" else licence["title"])
        if licence else r["license_id"],
        "license_url": licence["url"] if licence else "",
        "maintainer": r["contact_name"], "maintainer_email": r["contact_email"],
        "author": "", "author_email": "", "url": "", "version": "",
        "tags": tags, "num_tags": len(tags), "groups": groups,
        "resources": resources, "num_resources": len(resources), "extras": [],
        **ours, **_privacy_fields(r),
    }


def _defaults(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """CKAN clients send null for empty fields: null becomes the field's default."""
    out = {}
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            continue
        if value is None and field.default is not None:
            value = field.get_default(call_default_factory=True)
        out[key] = value
    return out


def resource_input(data: dict[str, Any]) -> dict[str, Any]:
    """A CKAN resource dict as our distribution input (only the keys given)."""
    return _defaults(data, DistributionIn)


def package_input(data: dict[str, Any]) -> dict[str, Any]:
    """A CKAN package dict as our resource input (only the keys given, so patches work)."""
    data = dict(data)
    extras = data.get("extras")
    if isinstance(extras, list):
        for e in extras:
            if isinstance(e, dict) and isinstance(e.get("key"), str):
                data.setdefault(e["key"], e.get("value"))
    for ckan_name, ours in (("notes", "abstract"), ("maintainer", "contact_name"),
                            ("maintainer_email", "contact_email")):
        if ckan_name in data and ours not in data:
            data[ours] = data[ckan_name]
    groups = data.get("groups")
    if "theme" not in data and isinstance(groups, list) and groups:
        first = groups[0]
        key = first.get("name") or first.get("id") if isinstance(first, dict) else first
        data["theme"] = GROUP_CODES.get(key, key)
    if "resources" in data and "distributions" not in data:
        res = data["resources"]
        data["distributions"] = (
            [resource_input(x) if isinstance(x, dict) else x for x in res]
            if isinstance(res, list) else res)
    return _defaults(data, ResourceIn)


# --- parameters ------------------------------------------------------------------------------


def _invalid(field: str, key: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(fields={field: [Message(key, params)]})


class Params:
    """An action's data dict, with typed reads that fail as CKAN does (409, field message)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def text(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise _invalid(key, "ckan.missing")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _invalid(key, "ckan.text")
        return str(value)

    def int(self, key: str, default: int, lo: int = 0, hi: int = 1_000_000) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool | float):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise _invalid(key, "ckan.integer") from None
        if not lo <= number <= hi:
            raise _invalid(key, "field.range", min=lo, max=hi)
        return number

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise _invalid(key, "ckan.boolean")

    def names(self, key: str) -> list[str]:
        """A list of names: a JSON list, a JSON list in a string (facet.field), or one name."""
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.lstrip().startswith("[") else [value]
            except ValueError:
                raise _invalid(key, "ckan.list") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid(key, "ckan.list")
        return value


def _model(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ShapeError as exc:
        errors = FieldErrors()
        for err in exc.errors():
            errors.add(".".join(str(p) for p in err["loc"]) or "__root__", "field.invalid",
                       detail=err["msg"])
        raise ValidationFailed(fields=errors.fields) from None


@dataclass
class Ctx:
    session: Session
    actor: Actor
    lang: str
    request: Request

    def package(self, r: Any) -> dict[str, Any]:
        return package_dict(catalog.resource_dict(r, catalog.org_of(self.session, r)), self.lang)


# --- search ----------------------------------------------------------------------------------

# CKAN's fq / facet names -> ours (SearchQuery.filters and facets)
FIELDS = {
    "organization": "organization", "owner_org": "organization", "tags": "tags",
    "res_format": "res_format", "groups": "theme", "license_id": "license_id",
    "name": "name", "id": "id", "resource_code": "resource_code",
    **{f: f for f in catalog.FACET_COLUMNS},
}
IGNORED_FQ = {"dataset_type:dataset", "type:dataset", "state:active", "capacity:public"}
TERM = re.compile(r'\s*([+]?)([A-Za-z_][\w.]*):("(?:[^"\\]|\\.)*"|\([^)]*\)|\S+)\s*')
SORTS = {
    "score desc": "relevance", "rank desc": "relevance", "relevance": "relevance",
    "metadata_modified desc": "date", "metadata_created desc": "created",
    "title_string asc": "name", "name asc": "name", "views_recent desc": "views",
    "views_total desc": "views",
}


def _values(raw: str) -> list[str]:
    if raw.startswith('"'):
        return [re.sub(r"\\(.)", r"\1", raw[1:-1])]
    if raw.startswith("("):
        parts = re.split(r"\s+OR\s+", raw[1:-1].strip())
        return [v for p in parts for v in _values(p.strip()) if v]
    return [raw]


def _terms(text: str, field: str, *, strict: bool) -> tuple[str, dict[str, list[str]]]:
    """Split ``field:value`` terms out of ``text``: (the rest, filters). In ``fq`` everything
    must be such a term; in ``q`` only terms on fields we know are taken out."""
    filters: dict[str, list[str]] = {}
    rest: list[str] = []
    pos = 0
    for m in TERM.finditer(text):
        rest.append(text[pos:m.start()])
        pos = m.end()
        name = m.group(2)
        if f"{name}:{m.group(3)}" in IGNORED_FQ:
            continue
        if name not in FIELDS and not strict:
            rest.append(m.group(0))
            continue
        ours = FIELDS.get(name, name)  # unknown names reach the service, which refuses them
        values = _values(m.group(3))
        if ours == "tags" and len(values) > 1:
            # the service wants every tag asked for (CKAN: tags:a tags:b), so no OR of tags
            raise _invalid(field, "ckan.fq_tags_or")
        if ours == "theme":
            values = [GROUP_CODES.get(v, v) for v in values]
        filters.setdefault(ours, []).extend(values)
    rest.append(text[pos:])
    leftover = " ".join(w for w in " ".join(rest).split() if w not in ("AND", "&&"))
    if strict and leftover:
        raise _invalid(field, "ckan.fq", detail=leftover[:100])
    return leftover, filters


def _sort(value: str) -> str:
    first = " ".join(value.split(",")[0].lower().split())
    if first not in SORTS:
        raise _invalid("sort", "field.choice", choices=", ".join(SORTS))
    return SORTS[first]


def _search(c: Ctx, **query: Any) -> catalog.SearchResult:
    return catalog.search(c.session, c.actor, _model(SearchQuery, query))


def _facet_item(c: Ctx, field: str, value: str, count: int) -> dict[str, Any]:
    """One facet value, named so that it can go back into ``fq`` under ``field``."""
    ours = FIELDS.get(field, field)
    name = value
    if ours == "organization":
        org = c.session.get(Organisation, value)
        name = org.name if org else value
    elif field == "groups":
        name = GROUPS.get(value, value)
    return {"name": name, "count": count,
            "display_name": catalog.facet_display_name(c.session, ours, value, c.lang)}


def package_search(c: Ctx, p: Params) -> dict[str, Any]:
    """Search datasets. q, fq, fq_list, rows, start, sort, facet, facet.field (a JSON list),
    facet.limit, include_private (default false: the public catalogue), include_deleted."""
    q, filters = _terms(p.text("q"), "q", strict=False)
    for fq in [p.text("fq"), *p.names("fq_list")]:
        for name, values in _terms(fq, "fq", strict=True)[1].items():
            filters.setdefault(name, []).extend(values)
    facet_names = p.names("facet.field") if p.bool("facet", True) else []
    sort = p.text("sort", "score desc, metadata_modified desc")
    res = _search(
        c, q="" if q.strip() in ("*:*", "*") else q, filters=filters,
        facets=[FIELDS.get(f, f) for f in facet_names], sort=_sort(sort),
        rows=min(p.int("rows", 10), ROWS_MAX), start=p.int("start", 0),
        include_private=p.bool("include_private", False),
        include_deleted=p.bool("include_deleted", False),
        facet_limit=p.int("facet.limit", 50, -1, 1000),
    )
    search_facets = {}
    for name in facet_names:
        items = [_facet_item(c, name, v, n) for v, n in res.facets.get(FIELDS.get(name, name), [])]
        search_facets[name] = {"title": name, "items": items}
    return {
        "count": res.count, "sort": sort,
        "results": [c.package(r) for r in res.resources],
        "facets": {f: {i["name"]: i["count"] for i in v["items"]}
                   for f, v in search_facets.items()},
        "search_facets": search_facets,
    }


def _all_pages(c: Ctx, **query: Any) -> list[Any]:
    found, start = [], 0
    while True:
        page = _search(c, rows=ROWS_MAX, start=start, **query).resources
        found += page
        if len(page) < ROWS_MAX:
            return found
        start += ROWS_MAX


def package_list(c: Ctx, p: Params) -> list[str]:
    """Names of the public datasets (as CKAN: private ones are left out), by title; limit,
    offset."""
    query = {"sort": "name", "include_private": False}
    offset = p.int("offset", 0)
    if p.data.get("limit") in (None, ""):
        return [r.name for r in _all_pages(c, **query)[offset:]]
    found = _search(c, rows=p.int("limit", 0, 0, ROWS_MAX), start=offset, **query)
    return [r.name for r in found.resources]


def current_package_list_with_resources(c: Ctx, p: Params) -> list[dict[str, Any]]:
    """Datasets with their resources, newest change first; limit (default 10), offset.
    Private datasets only for the operator, as CKAN does for sysadmins."""
    found = _search(c, sort="date", rows=p.int("limit", 10, 0, ROWS_MAX),
                    start=p.int("offset", 0), include_private=c.actor.sysadmin)
    return [c.package(r) for r in found.resources]


# --- datasets --------------------------------------------------------------------------------


def _id(p: Params) -> str:
    return p.text("id") or p.text("name_or_id") or p.text("name", required=True)


def package_show(c: Ctx, p: Params) -> dict[str, Any]:
    """One dataset by id or name."""
    return c.package(catalog.get_resource(c.session, c.actor, _id(p)))


def package_create(c: Ctx, p: Params) -> dict[str, Any]:
    """Create a dataset (an editor of owner_org). Takes the dict package_show gives."""
    data = catalog.parse_input(package_input(p.data))
    return c.package(catalog.create_resource(c.session, c.actor, data))


def package_update(c: Ctx, p: Params) -> dict[str, Any]:
    """Replace a dataset's metadata (id or name); resources are kept when not given."""
    data = catalog.parse_input(package_input(p.data))
    return c.package(catalog.update_resource(c.session, c.actor, _id(p), data))


def package_patch(c: Ctx, p: Params) -> dict[str, Any]:
    """Change only the fields given (id or name)."""
    changes = package_input({k: v for k, v in p.data.items() if k != "id"})
    return c.package(catalog.patch_resource(c.session, c.actor, _id(p), changes))


def package_delete(c: Ctx, p: Params) -> None:
    """Delete a dataset (softly: the operator can restore it)."""
    catalog.delete_resource(c.session, c.actor, _id(p))


def package_activity_list(c: Ctx, p: Params) -> list[dict[str, Any]]:
    """A dataset's changes, newest first, each with the dataset as it was; limit, offset."""
    r = catalog.get_resource(c.session, c.actor, _id(p))
    kinds = {"new": "new package", "deleted": "deleted package"}
    return [
        {"id": a.id, "timestamp": _iso(a.timestamp), "user_id": a.user_id,
         "user_name": a.user_name, "object_id": r.id, "revision": a.revision,
         "activity_type": kinds.get(a.activity_type, "changed package"),
         "data": {"package": package_dict(a.snapshot, c.lang)}}
        for a in catalog.activity_list(c.session, c.actor, r.id,
                                       limit=p.int("limit", 31, 1, 100),
                                       offset=p.int("offset", 0, 0, 100_000))
    ]


# --- resources (our distributions) -----------------------------------------------------------


def resource_show(c: Ctx, p: Params) -> dict[str, Any]:
    """One resource (a file, API or link of a dataset) by id."""
    d, r = catalog.get_distribution(c.session, c.actor, p.text("id", required=True))
    return resource_out(catalog.distribution_dict(d), r)


def _upload(p: Params) -> UploadFile | None:
    value = p.data.get("upload")
    return value if isinstance(value, UploadFile) else None


def _with_upload(p: Params, upload: UploadFile | None) -> dict[str, Any]:
    """The resource fields; for a file upload, its name and format when not given."""
    data = {k: v for k, v in p.data.items() if k != "upload"}
    if upload is not None:
        filename = upload.filename or ""
        data.setdefault("name", filename)
        if not data.get("format") and "." in filename:
            data["format"] = filename.rsplit(".", 1)[1].upper()
    return resource_input(data)


def _ingest(c: Ctx, d: Any, upload: UploadFile) -> Any:
    """The uploaded file becomes the resource's data (a datastore version): queryable, so
    ``datastore_active`` is true; the resource's url is its download address."""
    from zhihui.datastore import jobs
    from zhihui.datastore import service as datastore

    settings = c.request.app.state.settings
    url = f"{settings.site_url.rstrip('/')}/datastore/dump/{d.id}"
    if jobs.should_background(upload.size or 0, False, settings.ingest_background_bytes):
        # a large file becomes a background job; datastore_active turns true when it is done
        # (like CKAN's xloader); GET /api/v1/datastore/<id>/jobs shows its progress
        jobs.submit(c.session, c.actor, d.id, upload.file, upload.filename or "",
                    data_root=settings.data_root,
                    distribution={"url": url, "url_type": "upload"})
        return d
    datastore.ingest(c.session, c.actor, d.id, upload.file, upload.filename or "",
                     data_root=settings.data_root,
                     distribution={"url": url, "url_type": "upload"})
    c.session.refresh(d)
    return d


def resource_create(c: Ctx, p: Params) -> dict[str, Any]:
    """Add a resource to package_id: url, name, description, format, mimetype, size; or a
    multipart ``upload`` (a CSV, Excel or JSON file), which becomes its queryable data."""
    upload = _upload(p)
    din = catalog.parse_input(_with_upload(p, upload), DistributionIn)
    d = catalog.add_distribution(c.session, c.actor, p.text("package_id", required=True), din)
    if upload is not None:
        d = _ingest(c, d, upload)
    return resource_out(catalog.distribution_dict(d),
                        catalog.get_distribution(c.session, c.actor, d.id)[1])


def _resource_change(c: Ctx, p: Params, *, partial: bool) -> dict[str, Any]:
    upload = _upload(p)
    changes = {k: v for k, v in _with_upload(p, upload).items() if k != "id"}
    d = catalog.update_distribution(c.session, c.actor, p.text("id", required=True), changes,
                                    partial=partial)
    if upload is not None:
        d = _ingest(c, d, upload)
    return resource_out(catalog.distribution_dict(d),
                        catalog.get_distribution(c.session, c.actor, d.id)[1])


def resource_update(c: Ctx, p: Params) -> dict[str, Any]:
    """Replace a resource's fields (id); a multipart ``upload`` makes a new data version."""
    return _resource_change(c, p, partial=False)


def resource_patch(c: Ctx, p: Params) -> dict[str, Any]:
    """Change only the resource fields given (id)."""
    return _resource_change(c, p, partial=True)


def resource_delete(c: Ctx, p: Params) -> None:
    """Remove a resource from its dataset (id)."""
    catalog.delete_distribution(c.session, c.actor, p.text("id", required=True))


# --- organisations and groups ----------------------------------------------------------------


def _counts(c: Ctx, facet: str) -> dict[str, int]:
    found = _search(c, rows=0, facets=[facet], facet_limit=-1)
    return dict(found.facets[facet])


def _listing(p: Params, items: list[dict[str, Any]], default_sort: str) -> list[Any]:
    """CKAN's sort / limit / offset / all_fields over organisation or group dicts."""
    wanted = p.names("organizations") or p.names("groups")
    if wanted:
        items = [i for i in items if i["name"] in wanted or i["id"] in wanted]
    sort = " ".join(p.text("sort", default_sort).lower().split())
    key, _, direction = sort.partition(" ")
    if key not in ("name", "title", "package_count"):
        raise _invalid("sort", "field.choice", choices="name, title, package_count")
    items.sort(key=lambda i: (i[key], i["name"]), reverse=direction == "desc")
    offset = p.int("offset", 0)
    limit = p.int("limit", len(items), 0, 1_000_000)
    items = items[offset:offset + limit]
    return items if p.bool("all_fields", False) else [i["name"] for i in items]


def _org_out(c: Ctx, org: Organisation, count: int) -> dict[str, Any]:
    return {**organization_dict(catalog.org_dict(org), c.lang), "package_count": count}


def organization_list(c: Ctx, p: Params) -> list[Any]:
    """Organisation names (or dicts with all_fields); sort, limit, offset, organizations."""
    counts = _counts(c, "organization")
    items = [_org_out(c, o, counts.get(o.id, 0)) for o in accounts.list_orgs(c.session)]
    return _listing(p, items, "title asc")


def _with_datasets(
    c: Ctx, p: Params, out: dict[str, Any], field: str, value: str
) -> dict[str, Any]:
    if p.bool("include_datasets", False):
        found = _search(c, filters={field: [value]}, sort="name", rows=ORG_DATASETS)
        out["packages"] = [c.package(r) for r in found.resources]
    return out


def organization_show(c: Ctx, p: Params) -> dict[str, Any]:
    """One organisation by id or name; include_datasets lists its datasets."""
    org = accounts.get_org(c.session, p.text("id", required=True))
    out = _org_out(c, org, _counts(c, "organization").get(org.id, 0))
    return _with_datasets(c, p, out, "organization", org.id)


def organization_create(c: Ctx, p: Params) -> dict[str, Any]:
    """Create an organisation (the operator): name, title, catalog_code, kind (default
    department), parent (or parent_id, or groups=[{"name": parent}]), uscc, title_en,
    description."""
    groups = p.data.get("groups")
    parent = p.text("parent") or p.text("parent_id")
    if not parent and isinstance(groups, list) and groups and isinstance(groups[0], dict):
        parent = str(groups[0].get("name") or groups[0].get("id") or "")
    org = accounts.create_org(
        c.session, c.actor, name=p.text("name"), title=p.text("title"),
        kind=p.text("kind", "department"), catalog_code=p.text("catalog_code"),
        parent=parent or None, uscc=p.text("uscc") or None, title_en=p.text("title_en"),
        description=p.text("description"),
    )
    return _org_out(c, org, 0)


def group_list(c: Ctx, p: Params) -> list[Any]:
    """The topic themes as groups (names, or dicts with all_fields); sort, limit, offset."""
    counts = _counts(c, "theme")
    items = [group_dict(code, c.lang, counts.get(code, 0)) for code in GROUPS]
    return _listing(p, items, "name asc")


def group_show(c: Ctx, p: Params) -> dict[str, Any]:
    """One theme group by id (theme code) or name; include_datasets lists its datasets."""
    key = p.text("id", required=True)
    code = GROUP_CODES.get(key, key)
    if code not in GROUPS:
        raise NotFound("ckan.group_not_found", id=key[:100])
    out = group_dict(code, c.lang, _counts(c, "theme").get(code, 0))
    return _with_datasets(c, p, out, "theme", code)


# --- the rest --------------------------------------------------------------------------------


def tag_list(c: Ctx, p: Params) -> list[Any]:
    """Tags of the datasets the caller can see; query filters them, all_fields gives dicts."""
    names = catalog.tag_list(c.session, c.actor, p.text("query") or p.text("q"))
    if p.bool("all_fields", False):
        return [{"id": n, "name": n, "display_name": n, "vocabulary_id": None} for n in names]
    return names


def user_show(c: Ctx, p: Params) -> dict[str, Any]:
    """A user's public details by id or name (without id: the caller); e-mail only for the
    user and the operator."""
    key = p.text("id") or (c.actor.user_id if not c.actor.is_anonymous else "")
    if not key:
        raise _invalid("id", "ckan.missing")
    user = accounts.get_user(c.session, key)
    if not user.active:
        raise NotFound("error.user_not_found", id=key[:100])
    out = {"id": user.id, "name": user.name, "fullname": user.fullname,
           "display_name": user.fullname or user.name, "created": _iso(user.created),
           "state": "active", "sysadmin": user.sysadmin, "about": ""}
    if can(c.actor, "user.read_private", user):
        out["email"] = user.email
    return out


def license_list(c: Ctx, p: Params) -> list[dict[str, Any]]:
    """The licences open datasets may carry."""
    return [{"id": key, "title": lic["title"], "title_en": lic["title_en"], "url": lic["url"],
             "status": "active"} for key, lic in vocab.LICENSES.items()]


def status_show(c: Ctx, p: Params) -> dict[str, Any]:
    """The site: title, address, the CKAN API level answered, our version."""
    settings = c.request.app.state.settings
    return {"site_title": settings.site_title, "site_url": settings.site_url,
            "site_description": "", "ckan_version": CKAN_VERSION, "error_emails_to": None,
            "locale_default": "zh_Hans_CN", "extensions": [], "zhihui_version": __version__}


def site_read(c: Ctx, p: Params) -> bool:
    """Whether the site may be read: always true."""
    return True


def help_show(c: Ctx, p: Params) -> str:
    """The documentation of an action (name)."""
    name = p.text("name", required=True)
    if name not in ACTIONS:
        raise NotFound("ckan.action_not_found", action=name[:100])
    return ACTIONS[name].fn.__doc__ or ""


# --- the DataStore ---------------------------------------------------------------------------


def _json_arg(p: Params, key: str, default: Any) -> Any:
    value = p.data.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            raise _invalid(key, "field.invalid", detail="JSON") from None
    return value


def datastore_search(c: Ctx, p: Params) -> dict[str, Any]:
    """Rows of a resource's data: resource_id, filters ({"field": value or [values]}; ranges
    as {"gte": …, "lt": …}), q (text in any text field, Chinese too; or {"field": text}),
    fields, sort ("field desc, …"), limit (default 100, at most 32000), offset,
    include_total, distinct, records_format (objects, lists, csv, tsv); our version (a
    number) reads an older version."""
    from zhihui.datastore import query
    from zhihui.datastore import service as datastore

    fields = _json_arg(p, "fields", [])
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise _invalid("fields", "ckan.list")
    q = _json_arg(p, "q", "")
    if not isinstance(q, str | dict):
        raise _invalid("q", "ckan.text")
    sort = _json_arg(p, "sort", "")
    if isinstance(sort, list):
        sort = ", ".join(str(x) for x in sort)
    params = query.Search(
        filters=_json_arg(p, "filters", {}), q=q, fields=fields or None, sort=str(sort),
        limit=p.int("limit", query.LIMIT_DEFAULT, 0, query.LIMIT_MAX),
        offset=p.int("offset", 0, 0, 2**62), include_total=p.bool("include_total", True),
        distinct=p.bool("distinct", False),
        records_format=p.text("records_format", "objects"))
    resource_id = p.text("resource_id", required=True)
    number = p.int("version", 0, 0, 1_000_000) or None
    out = datastore.search(c.session, c.actor, resource_id, params,
                           data_root=c.request.app.state.settings.data_root, number=number)
    base = f"/api/3/action/datastore_search?resource_id={resource_id}"
    out["_links"] = {"start": base,
                     "next": f"{base}&offset={params.offset + params.limit}"}
    return out


def datastore_search_sql(c: Ctx, p: Params) -> dict[str, Any]:
    """One read-only SELECT (sql) over resource tables, each named by its resource id in
    double quotes; 10 seconds and 32000 rows at most."""
    from zhihui.datastore import service as datastore

    sql = p.text("sql", required=True)
    out = datastore.search_sql(c.session, c.actor, sql,
                               data_root=c.request.app.state.settings.data_root)
    return {"sql": sql, **out}


def datastore_info(c: Ctx, p: Params) -> dict[str, Any]:
    """A resource's data: its fields with their types, row count and version (id)."""
    from zhihui.datastore import service as datastore

    return datastore.info(c.session, c.actor, p.text("id") or p.text("resource_id",
                                                                       required=True),
                          data_root=c.request.app.state.settings.data_root)


@dataclass(frozen=True)
class Action:
    fn: Callable[[Ctx, Params], Any]
    changes: bool = False  # POST only (CKAN: not side_effect_free)


ACTIONS: dict[str, Action] = {
    "status_show": Action(status_show),
    "site_read": Action(site_read),
    "help_show": Action(help_show),
    "package_list": Action(package_list),
    "current_package_list_with_resources": Action(current_package_list_with_resources),
    "package_search": Action(package_search),
    "package_show": Action(package_show),
    "package_create": Action(package_create, changes=True),
    "package_update": Action(package_update, changes=True),
    "package_patch": Action(package_patch, changes=True),
    "package_delete": Action(package_delete, changes=True),
    "package_activity_list": Action(package_activity_list),
    "resource_show": Action(resource_show),
    "resource_create": Action(resource_create, changes=True),
    "resource_update": Action(resource_update, changes=True),
    "resource_patch": Action(resource_patch, changes=True),
    "resource_delete": Action(resource_delete, changes=True),
    "organization_list": Action(organization_list),
    "organization_show": Action(organization_show),
    "organization_create": Action(organization_create, changes=True),
    "group_list": Action(group_list),
    "group_show": Action(group_show),
    "tag_list": Action(tag_list),
    "user_show": Action(user_show),
    "license_list": Action(license_list),
    "datastore_search": Action(datastore_search),
    "datastore_search_sql": Action(datastore_search_sql),
    "datastore_info": Action(datastore_info),
}


# --- HTTP ------------------------------------------------------------------------------------


def _multi(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(value, UploadFile) and key != "upload":
            raise _invalid(key, "ckan.upload_unsupported")
        data[key] = [*data[key], value] if isinstance(data.get(key), list) else (
            [data[key], value] if key in data else value)
    return data


async def request_data(request: Request) -> dict[str, Any]:
    """The action's data dict: query parameters for GET; for POST a JSON object, or a form
    (as CKAN, a form body that is JSON is read as JSON)."""
    if request.method == "GET":
        data = _multi(list(request.query_params.multi_items()))
    elif "multipart/form-data" in request.headers.get("content-type", ""):
        data = _multi(list((await request.form()).multi_items()))
    else:
        body = (await request.body()).strip()
        urlencoded = "urlencoded" in request.headers.get("content-type", "")
        if urlencoded and body and not body.startswith(b"{"):
            try:
                pairs = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                raise BadRequest("ckan.form") from None
            data = _multi([(k, v) for k, vs in pairs.items() for v in vs])
        else:
            try:
                data = json.loads(body or b"{}")
            except (UnicodeDecodeError, ValueError) as exc:
                raise BadRequest("ckan.json", detail=str(exc)[:200]) from None
            if not isinstance(data, dict):
                raise BadRequest("ckan.json_object")
    if has_nul(data):
        raise BadRequest("ckan.nul")
    return data


def _ckan_fields(exc: ValidationFailed, resource_action: bool) -> ValidationFailed:
    """Field names as a CKAN client knows them: notes, resources.N.url (or url alone)."""
    def rename(name: str) -> str:
        if name == "abstract":
            return "notes"
        if name.startswith("distributions"):
            return (re.sub(r"^distributions\.\d+\.", "", name) if resource_action
                    else "resources" + name[len("distributions"):])
        return name

    fields: dict[str, list[Message]] = {}
    for name, msgs in exc.fields.items():
        fields.setdefault(rename(name), []).extend(msgs)
    return ValidationFailed(exc.message.key, fields=fields, **exc.message.params)


def call(name: str, request: Request, session: Session, data: dict[str, Any]) -> Any:
    """Run one action as the request's caller; commit what it changed."""
    action = ACTIONS.get(name)
    if action is None:
        raise BadRequest("ckan.action_unknown", action=name[:100])
    if action.changes and request.method == "GET":
        # CKAN: changing actions are POST only (and a cookie must never make a change).
        raise BadRequest("ckan.post_only")
    try:
        actor = deps.get_actor(request, session)
        ctx = Ctx(session=session, actor=actor, lang=deps.get_language(request), request=request)
        result = action.fn(ctx, Params(data))
    except NotAuthenticated as exc:
        raise Forbidden(exc.message.key, **exc.message.params) from None  # CKAN says 403
    except ValidationFailed as exc:
        raise _ckan_fields(exc, name.startswith("resource_")) from None
    session.commit()
    return result


# Not in the /api/v1 OpenAPI document: CKAN clients learn the actions from help_show.
@router.api_route("/api/3/action/{name}", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/action/{name}", methods=["GET", "POST"], include_in_schema=False)
def action(
    name: str, request: Request, session: deps.SessionDep,
    data: Annotated[dict[str, Any], Depends(request_data)],
) -> JSONResponse:
    result = call(name, request, session, data)
    return JSONResponse({"help": f"{request.base_url}api/3/action/help_show?name={name}",
                         "success": True, "result": result})
