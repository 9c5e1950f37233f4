"""The catalogue's rules: what a valid resource is (the 2017 guide and GB/T 21063.3), who may
change it (``core.authz``), how every change is versioned (activity) and audited, and search.

Every door (v1 API, CKAN Action API, pages, CLI) calls these functions; none has rules of its
own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import (
    Float,
    Integer,
    String,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from zhihui.catalog import facets, vocab
from zhihui.catalog import search as fts
from zhihui.catalog.models import (
    Activity,
    Distribution,
    Resource,
    ResourceFacet,
    ResourceTag,
    Showcase,
    ShowcaseResource,
)
from zhihui.catalog.schemas import DistributionIn, ResourceIn, SearchQuery
from zhihui.core import audit
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import Actor, can, read_scope, require
from zhihui.core.errors import FieldErrors, Message, NotFound, ValidationFailed
from zhihui.db import utcnow

NAME_RE = re.compile(r"^[\w\-]{2,100}$")
CODE_RE = re.compile(r"^[123]\d{2}[0-9A-Za-z]{1,20}/\d{6}$")
PHONE_RE = re.compile(r"^[0-9+\-() ]{5,40}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_RE = re.compile(r"^[^,<>\"'&]{1,50}$")


# --- input ---------------------------------------------------------------------------------


def parse_input(data: dict[str, Any], model: type[ResourceIn] | type[DistributionIn] = ResourceIn):
    """Turn a request's dict into the input model, with field messages on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = FieldErrors()
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "__root__"
            errors.add(loc, "field.invalid", detail=err["msg"])
        raise ValidationFailed(fields=errors.fields) from None


def _org(session: Session, id_or_name: str) -> Organisation | None:
    if not id_or_name:
        return None
    return session.get(Organisation, id_or_name) or session.scalar(
        select(Organisation).where(Organisation.name == id_or_name)
    )


def _validate(
    session: Session, data: ResourceIn, existing: Resource | None
) -> tuple[Organisation | None, FieldErrors]:
    """The catalogue rules, each failure a field message."""
    e = FieldErrors()
    org = _org(session, data.owner_org)
    if not data.owner_org:
        e.add("owner_org", "field.required")
    elif org is None:
        e.add("owner_org", "field.org_unknown", id=data.owner_org)

    if not data.title.strip():
        e.add("title", "field.required")
    if data.name is not None and not NAME_RE.fullmatch(data.name):
        e.add("name", "field.name_invalid")
    elif data.name is not None:
        clash = session.scalar(select(Resource.id).where(Resource.name == data.name))
        if clash and (existing is None or clash != existing.id):
            e.add("name", "field.name_taken")

    if data.classification not in vocab.CLASSIFICATIONS:
        e.add("classification", "field.choice", choices=", ".join(vocab.CLASSIFICATIONS))
    else:
        themes = vocab.theme_labels(data.classification)
        if themes and data.theme not in themes:
            e.add("theme", "field.choice", choices=", ".join(themes))
        if not themes and data.theme:
            e.add("theme", "field.theme_department")

    if data.resource_code is not None:
        if not CODE_RE.fullmatch(data.resource_code):
            e.add("resource_code", "field.resource_code_invalid")
        else:
            digit = vocab.CLASSIFICATION_DIGIT.get(data.classification)
            if digit and not data.resource_code.startswith(digit):
                e.add("resource_code", "field.resource_code_class")
            clash = session.scalar(
                select(Resource.id).where(Resource.resource_code == data.resource_code)
            )
            if clash and (existing is None or clash != existing.id):
                e.add("resource_code", "field.resource_code_taken")

    if data.format not in vocab.FORMATS:
        e.add("format", "field.choice", choices=", ".join(vocab.FORMATS))
    for i, item in enumerate(data.data_items):
        if not item.name.strip():
            e.add(f"data_items.{i}.name", "field.required")
        if item.type not in vocab.ITEM_TYPES:
            e.add(f"data_items.{i}.type", "field.choice", choices=", ".join(vocab.ITEM_TYPES))
    names = [i.name.strip() for i in data.data_items]
    if len(set(names)) != len(names):
        e.add("data_items", "field.data_item_duplicate")

    # Sharing and opening types: conditional types need their conditions, refusals their
    # legal basis (2017 guide §5; Art. 46, 48).
    for kind, labels in (("sharing", vocab.SHARING_TYPES), ("opening", vocab.OPENING_TYPES)):
        value = getattr(data, f"{kind}_type")
        if not value:
            e.add(f"{kind}_type", "field.required")
        elif value not in labels:
            e.add(f"{kind}_type", "field.choice", choices=", ".join(labels))
        elif value == "conditional" and not getattr(data, f"{kind}_conditions").strip():
            e.add(f"{kind}_conditions", f"field.{kind}_conditions_required")
        elif value == "none" and not getattr(data, f"{kind}_legal_basis").strip():
            e.add(f"{kind}_legal_basis", f"field.{kind}_legal_basis_required")
    if data.sharing_type == "none" and data.opening_type in ("unconditional", "conditional"):
        # What government may not share among itself cannot be opened to everyone.
        e.add("opening_type", "field.opening_needs_sharing")
    if data.sharing_type in ("unconditional", "conditional"):
        if not data.sharing_method:
            e.add("sharing_method", "field.required")
        elif data.sharing_method not in vocab.SHARING_METHODS:
            e.add("sharing_method", "field.choice", choices=", ".join(vocab.SHARING_METHODS))
    elif data.sharing_method and data.sharing_method not in vocab.SHARING_METHODS:
        e.add("sharing_method", "field.choice", choices=", ".join(vocab.SHARING_METHODS))

    if not data.update_cycle:
        e.add("update_cycle", "field.required")
    elif data.update_cycle not in vocab.UPDATE_CYCLES:
        e.add("update_cycle", "field.choice", choices=", ".join(vocab.UPDATE_CYCLES))
    if data.license_id and data.license_id not in vocab.LICENSES:
        e.add("license_id", "field.choice", choices=", ".join(vocab.LICENSES))
    if data.opening_type in ("unconditional", "conditional") and not data.license_id:
        e.add("license_id", "field.license_required")
    if data.contact_phone and not PHONE_RE.fullmatch(data.contact_phone):
        e.add("contact_phone", "field.phone_invalid")
    if data.contact_email and not EMAIL_RE.fullmatch(data.contact_email):
        e.add("contact_email", "field.email_invalid")
    if data.temporal_start and data.temporal_end and data.temporal_start > data.temporal_end:
        e.add("temporal_end", "field.temporal_order")
    for tag in data.tags:
        if not TAG_RE.fullmatch(tag):
            e.add("tags", "field.tag_invalid", tag=tag[:50])
            break
    for i, d in enumerate(data.distributions or []):
        if d.kind not in vocab.DISTRIBUTION_KINDS:
            e.add(f"distributions.{i}.kind", "field.choice",
                  choices=", ".join(vocab.DISTRIBUTION_KINDS))
        if d.kind in ("api", "link") and not d.url.strip():
            e.add(f"distributions.{i}.url", "field.required")
        if d.url and not _safe_url(d.url):
            e.add(f"distributions.{i}.url", "field.url_invalid")
    # Grade and personal information (GB/T 43697, PIPL Art. 28, 55): privacy's rules.
    from zhihui.privacy import service as privacy

    privacy.check_resource(session, data, existing, e)
    return org, e


def _safe_url(url: str) -> bool:
    # No javascript:, data: … links on a public portal.
    return bool(re.match(r"^(https?|ftp)://[^\s]+$", url.strip(), re.I)) or url.startswith("/")


def classification_code(classification: str, theme: str, org: Organisation) -> str:
    """前段码: class digit, two-digit item (theme; 00 for department resources), and the
    provider's catalogue code."""
    return vocab.CLASSIFICATION_DIGIT[classification] + (theme or "00") + org.catalog_code


def _next_code(session: Session, prefix: str) -> str:
    last = session.scalar(
        select(func.max(Resource.resource_code)).where(Resource.resource_code.like(prefix + "/%"))
    )
    seq = int(last.rsplit("/", 1)[1]) + 1 if last else 1
    return f"{prefix}/{seq:06d}"


# --- output --------------------------------------------------------------------------------


def labels_of(r: Resource) -> dict[str, dict[str, str]]:
    """Chinese and English labels of a resource's coded fields."""
    pairs = {
        "classification": (vocab.CLASSIFICATIONS, r.classification),
        "theme": (vocab.theme_labels(r.classification), r.theme),
        "format": (vocab.FORMATS, r.format),
        "sharing_type": (vocab.SHARING_TYPES, r.sharing_type),
        "opening_type": (vocab.OPENING_TYPES, r.opening_type),
        "sharing_method": (vocab.SHARING_METHODS, r.sharing_method),
        "update_cycle": (vocab.UPDATE_CYCLES, r.update_cycle),
    }
    return {
        f: {"zh": vocab.label(lab, code, "zh"), "en": vocab.label(lab, code, "en")}
        for f, (lab, code) in pairs.items()
    }


def org_dict(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "title": org.title,
        "title_en": org.title_en,
        "kind": org.kind,
        "parent_id": org.parent_id,
        "uscc": org.uscc,
        "catalog_code": org.catalog_code,
        "description": org.description,
        "created": org.created,
    }


def distribution_dict(d: Distribution) -> dict[str, Any]:
    return {
        "id": d.id,
        "resource_id": d.resource_id,
        "position": d.position,
        "name": d.name,
        "description": d.description,
        "kind": d.kind,
        "url": d.url,
        "url_type": d.url_type,
        "format": d.format,
        "mimetype": d.mimetype,
        "size": d.size,
        "hash": d.hash,
        "datastore_active": d.datastore_active,
        "created": d.created,
        "modified": d.modified,
    }


def resource_dict(r: Resource, org: Organisation) -> dict[str, Any]:
    """A resource in our canonical shape: the v1 API, CKAN, DCAT and pages all start here."""
    return {
        "id": r.id,
        "name": r.name,
        "title": r.title,
        "title_en": r.title_en,
        "resource_code": r.resource_code,
        "owner_org": org.id,
        "organization": {"id": org.id, "name": org.name, "title": org.title,
                         "title_en": org.title_en},
        "abstract": r.abstract,
        "classification": r.classification,
        "theme": r.theme,
        "format": r.format,
        "data_items": list(r.data_items or []),
        "sharing_type": r.sharing_type,
        "sharing_conditions": r.sharing_conditions,
        "sharing_legal_basis": r.sharing_legal_basis,
        "sharing_method": r.sharing_method,
        "opening_type": r.opening_type,
        "opening_conditions": r.opening_conditions,
        "opening_legal_basis": r.opening_legal_basis,
        "update_cycle": r.update_cycle,
        "published": r.published,
        "contact_name": r.contact_name,
        "contact_phone": r.contact_phone,
        "contact_email": r.contact_email,
        "license_id": r.license_id,
        "spatial": r.spatial,
        "temporal_start": r.temporal_start,
        "temporal_end": r.temporal_end,
        "tags": r.tag_names,
        "distributions": [distribution_dict(d) for d in r.distributions],
        "created": r.created,
        "modified": r.modified,
        "revision": r.revision,
        "deleted": r.deleted,
        "grade": r.grade or "general",
        "personal": r.personal or "none",
        "labels": labels_of(r),
    }


def input_dict(r: Resource) -> dict[str, Any]:
    """The resource as an input dict: what a patch is merged into."""
    return {
        **{f: getattr(r, f) for f in ResourceIn.model_fields
           if f not in ("owner_org", "tags", "distributions", "data_items")},
        "owner_org": r.owner_org_id,
        "data_items": list(r.data_items or []),
        "tags": r.tag_names,
        "distributions": [
            {k: getattr(d, k) for k in DistributionIn.model_fields} for d in r.distributions
        ],
    }


# --- reads ---------------------------------------------------------------------------------


def _find(session: Session, id_or_name: str) -> Resource:
    r = None
    if id_or_name and "\x00" not in id_or_name:
        r = session.scalar(select(Resource).where(Resource.id == id_or_name)) or session.scalar(
            select(Resource).where(Resource.name == id_or_name)
        )
    if r is None:
        raise NotFound("error.resource_not_found", id=str(id_or_name)[:100])
    return r


def get_resource(session: Session, actor: Actor, id_or_name: str) -> Resource:
    """The resource, if the actor may read it; otherwise 404 (existence is not leaked)."""
    r = _find(session, id_or_name)
    if not can(actor, "resource.read", r):
        raise NotFound("error.resource_not_found", id=str(id_or_name)[:100])
    return r


def org_of(session: Session, r: Resource) -> Organisation:
    org = session.get(Organisation, r.owner_org_id)
    assert org is not None  # a foreign key
    return org


def show(session: Session, actor: Actor, id_or_name: str) -> dict[str, Any]:
    r = get_resource(session, actor, id_or_name)
    return resource_dict(r, org_of(session, r))


def get_distribution(session: Session, actor: Actor, dist_id: str) -> tuple[Distribution, Resource]:
    d = session.get(Distribution, dist_id) if dist_id and "\x00" not in dist_id else None
    if d is None:
        raise NotFound("error.distribution_not_found", id=str(dist_id)[:100])
    r = get_resource(session, actor, d.resource_id)
    return d, r


# --- writes --------------------------------------------------------------------------------


def _search_document(session: Session, r: Resource, org: Organisation) -> dict[str, list[str]]:
    body = [
        r.title_en,
        r.abstract,
        " ".join(r.tag_names),
        org.title,
        org.title_en,
        " ".join(i.get("name", "") + " " + i.get("description", "") for i in r.data_items or []),
        vocab.label(vocab.theme_labels(r.classification), r.theme, "zh"),
        vocab.label(vocab.theme_labels(r.classification), r.theme, "en"),
        r.spatial,
        r.resource_code,
    ]
    return fts.document(r.title, body, [r.title, " ".join(r.tag_names)])


def facet_values(r: Resource) -> dict[str, list[str]]:
    """The many-valued facets of ``r``, as ``ResourceFacet`` keeps them."""
    return {"tags": r.tag_names,
            "res_format": [d.format.upper() for d in r.distributions if d.format]}


def _record(session: Session, actor: Actor, r: Resource, org: Organisation, kind: str) -> None:
    """Index, version and audit one change, in the caller's transaction."""
    session.flush()
    session.refresh(r, attribute_names=["tags", "distributions"])
    fts.index_resource(session, r.pk, _search_document(session, r, org))
    fts.index_facets(session, r.pk, facet_values(r))
    snapshot = resource_dict(r, org)
    snapshot_json = audit.service.canonical_json(snapshot).decode()
    import json

    session.add(
        Activity(
            resource_id=r.id,
            revision=r.revision,
            timestamp=r.modified,
            user_id=actor.user_id,
            user_name=actor.name,
            activity_type=kind,
            snapshot=json.loads(snapshot_json),
        )
    )
    audit.record(session, actor, f"resource.{kind}", "resource", r.id, org_id=r.owner_org_id,
                 content=snapshot, detail={"revision": r.revision, "name": r.name})


def _apply(session: Session, r: Resource, data: ResourceIn, org: Organisation) -> None:
    for field in (
        "title", "title_en", "abstract", "classification", "theme", "format",
        "sharing_type", "sharing_conditions", "sharing_legal_basis", "sharing_method",
        "opening_type", "opening_conditions", "opening_legal_basis", "update_cycle",
        "published", "contact_name", "contact_phone", "contact_email", "license_id",
        "spatial", "temporal_start", "temporal_end",
    ):
        setattr(r, field, getattr(data, field))
    r.title = r.title.strip()
    r.owner_org_id = org.id
    r.data_items = [i.model_dump() for i in data.data_items]
    if data.grade is not None:
        r.grade = data.grade
    if data.personal is not None:
        r.personal = data.personal
    wanted = list(dict.fromkeys(data.tags))
    have = {t.name: t for t in r.tags}
    r.tags = [have.get(name) or ResourceTag(name=name) for name in wanted]
    if data.distributions is not None:
        existing = {d.id: d for d in r.distributions}
        kept = []
        for pos, din in enumerate(data.distributions):
            d = existing.get(din.id or "") or Distribution()
            _apply_distribution(d, din)
            d.position = pos
            kept.append(d)
        r.distributions = kept


def _apply_distribution(d: Distribution, din: DistributionIn) -> None:
    changed = False
    for field in ("name", "description", "kind", "url", "format", "mimetype", "size"):
        value = getattr(din, field)
        if getattr(d, field) != value:
            setattr(d, field, value)
            changed = True
    if changed or d.modified is None:
        d.modified = utcnow()


def create_resource(session: Session, actor: Actor, data: ResourceIn) -> Resource:
    org, errors = _validate(session, data, None)
    if org is not None:
        require(actor, "resource.create", org)
    errors.raise_if_any()
    assert org is not None
    r = Resource(
        resource_code=data.resource_code
        or _next_code(session, classification_code(data.classification, data.theme, org)),
        creator_id=actor.user_id,
        revision=1,
    )
    r.name = data.name or r.resource_code.replace("/", "-")
    if data.name is None and session.scalar(select(Resource.id).where(Resource.name == r.name)):
        raise ValidationFailed(fields={"name": [Message("field.name_taken")]})
    r.tags = []
    r.distributions = []
    _apply(session, r, data, org)
    r.created = r.modified = utcnow()
    session.add(r)
    _record(session, actor, r, org, "new")
    return r


def update_resource(
    session: Session, actor: Actor, id_or_name: str, data: ResourceIn
) -> Resource:
    """Replace the metadata (CKAN package_update). Distributions are kept when not given."""
    r = get_resource(session, actor, id_or_name)
    require(actor, "resource.update", r)
    if data.name is None:
        data = data.model_copy(update={"name": r.name})
    if data.resource_code is None:
        data = data.model_copy(update={"resource_code": r.resource_code})
    org, errors = _validate(session, data, r)
    if org is not None and org.id != r.owner_org_id:
        # Moving a resource to another provider needs the right to create there.
        require(actor, "resource.create", org)
    errors.raise_if_any()
    assert org is not None
    r.name = data.name or r.name
    r.resource_code = data.resource_code or r.resource_code
    _apply(session, r, data, org)
    r.revision += 1
    r.modified = utcnow()
    _record(session, actor, r, org, "changed")
    return r


def patch_resource(
    session: Session, actor: Actor, id_or_name: str, changes: dict[str, Any]
) -> Resource:
    """Change only the given fields (CKAN package_patch)."""
    r = get_resource(session, actor, id_or_name)
    require(actor, "resource.update", r)
    merged = {**input_dict(r), **changes}
    if "distributions" not in changes:
        merged.pop("distributions")
    return update_resource(session, actor, r.id, parse_input(merged))


def delete_resource(session: Session, actor: Actor, id_or_name: str) -> Resource:
    """Soft delete: hidden from everyone but the operator, who can restore it."""
    r = get_resource(session, actor, id_or_name)
    require(actor, "resource.delete", r)
    if not r.deleted:
        r.deleted = True
        r.revision += 1
        r.modified = utcnow()
        _record(session, actor, r, org_of(session, r), "deleted")
    return r


def restore_resource(session: Session, actor: Actor, id_or_name: str) -> Resource:
    r = _find(session, id_or_name)
    require(actor, "resource.restore", r)
    if r.deleted:
        r.deleted = False
        r.revision += 1
        r.modified = utcnow()
        _record(session, actor, r, org_of(session, r), "restored")
    return r


def add_distribution(
    session: Session, actor: Actor, resource_id: str, din: DistributionIn
) -> Distribution:
    r = get_resource(session, actor, resource_id)
    require(actor, "resource.update", r)
    current = [DistributionIn.model_validate(
        {k: getattr(d, k) for k in DistributionIn.model_fields}) for d in r.distributions]
    new = din.model_copy(update={"id": None})
    data = parse_input(input_dict(r)).model_copy(update={"distributions": [*current, new]})
    update_resource(session, actor, r.id, data)
    return r.distributions[-1]


def update_distribution(
    session: Session, actor: Actor, dist_id: str, changes: dict[str, Any], *, partial: bool
) -> Distribution:
    d, r = get_distribution(session, actor, dist_id)
    require(actor, "resource.update", r)
    base = {k: getattr(d, k) for k in DistributionIn.model_fields} if partial else {}
    din = parse_input({**base, **changes, "id": d.id}, DistributionIn)
    dists = [din if x.id == d.id else {k: getattr(x, k) for k in DistributionIn.model_fields}
             for x in r.distributions]
    data = parse_input({**input_dict(r), "distributions": [
        x.model_dump() if isinstance(x, DistributionIn) else x for x in dists]})
    update_resource(session, actor, r.id, data)
    return next(x for x in r.distributions if x.id == d.id)


def delete_distribution(session: Session, actor: Actor, dist_id: str) -> Resource:
    d, r = get_distribution(session, actor, dist_id)
    require(actor, "resource.update", r)
    remaining = [{k: getattr(x, k) for k in DistributionIn.model_fields}
                 for x in r.distributions if x.id != d.id]
    return update_resource(
        session, actor, r.id, parse_input({**input_dict(r), "distributions": remaining})
    )


def activity_list(
    session: Session, actor: Actor, id_or_name: str, *, limit: int = 31, offset: int = 0
) -> list[Activity]:
    r = get_resource(session, actor, id_or_name)
    return list(session.scalars(
        select(Activity).where(Activity.resource_id == r.id)
        .order_by(Activity.revision.desc()).limit(min(limit, 100)).offset(offset)
    ))


def record_view(session: Session, r: Resource) -> None:
    """Count a page view (for "most used"); no audit entry, no new version."""
    session.execute(
        Resource.__table__.update().where(Resource.pk == r.pk).values(views=Resource.views + 1)
    )


# --- search --------------------------------------------------------------------------------

# Facet name -> Resource column; the snapshot (catalog/facets.py) holds the same fields.
FACET_COLUMNS: dict[str, Any] = {f: getattr(Resource, c) for f, c in facets.COLUMNS.items()}
FACET_FIELDS = (*FACET_COLUMNS, "tags", "res_format")
# Each sort as (column, descending) keys; relevance is the score, then the date sort's keys.
SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    "relevance": (("score", True), ("modified", True), ("name", False)),
    "name": (("title", False), ("name", False)),
    "date": (("modified", True), ("name", False)),
    "published": (("published", True), ("name", False)),
    "created": (("created", True), ("name", False)),
    "views": (("views", True), ("name", False)),
}


def _order(columns: Any, sort: str) -> list[Any]:
    """The ORDER BY of ``sort`` over ``columns`` (Resource's, or a subquery's with the same
    names). A missing date sorts last in a descending order on every database, as SQLite
    sorts it (PostgreSQL would put it first); columns that hold no NULL keep a plain order,
    which an index can serve."""
    keys = SORTS[sort]
    if "score" not in columns:  # no full-text match: relevance is the newest first
        keys = tuple(k for k in keys if k[0] != "score")
    out = []
    for name, descending in keys:
        col = columns[name]
        nullable = getattr(Resource.__table__.c.get(name), "nullable", False)
        out.append((col.desc().nulls_last() if nullable else col.desc()) if descending
                   else col.asc())
    return out


@dataclass
class SearchResult:
    count: int
    resources: list[Resource]
    facets: dict[str, list[tuple[str, int]]]


def _filter(session: Session, actor: Actor, query: SearchQuery) -> facets.Filter:
    """What ``actor`` may see of the catalogue and what ``query`` asks for, as data."""
    scope = read_scope(actor)
    columns, tags, formats, keys = [], [], [], []
    for field, values in query.filters.items():
        values = [v for v in values if v is not None][:50]
        if not values:
            continue
        if field == "organization":
            # Resolved first: planners take an IN list of ids for the selective condition it
            # is, but guess badly at the size of a subquery.
            ids = session.scalars(select(Organisation.id).where(
                or_(Organisation.id.in_(values), Organisation.name.in_(values))))
            columns.append((field, tuple(sorted(ids))))
        elif field in FACET_COLUMNS:
            columns.append((field, tuple(values)))
        elif field == "tags":
            tags += values  # every tag asked for (CKAN: tags:a AND tags:b)
        elif field == "res_format":
            formats += [v.upper() for v in values]
        elif field in ("name", "id", "resource_code"):
            keys.append((field, tuple(values)))
        else:
            raise ValidationFailed(
                fields={"fq": [Message("field.filter_unknown", {"field": field})]})
    return facets.Filter(
        unopened=query.include_private and scope.include_unopened,
        show_deleted=query.include_deleted,
        deleted_orgs=scope.deleted_orgs,
        columns=tuple(columns), tags=tuple(dict.fromkeys(tags)),
        formats=tuple(dict.fromkeys(formats)), keys=tuple(keys))


def _conditions(flt: facets.Filter) -> list[ColumnElement[bool]]:
    """``flt`` as SQL conditions on Resource (``Snapshot.mask`` is the same in memory)."""
    conds: list[ColumnElement[bool]] = []
    if not flt.unopened:
        conds.append(Resource.opening_type != "none")
    if not flt.show_deleted or flt.deleted_orgs is not None and not flt.deleted_orgs:
        conds.append(Resource.deleted == false())
    elif flt.deleted_orgs is not None:
        conds.append(or_(Resource.deleted == false(),
                         Resource.owner_org_id.in_(sorted(flt.deleted_orgs))))
    # (shown deleted with deleted_orgs None: the operator sees them among the others)
    for field, values in flt.columns:
        conds.append(FACET_COLUMNS[field].in_(values))
    for v in flt.tags:
        conds.append(exists().where(ResourceTag.resource_id == Resource.id,
                                    ResourceTag.name == v).correlate(Resource))
    if flt.formats:
        conds.append(exists().where(Distribution.resource_id == Resource.id,
                                    func.upper(Distribution.format).in_(list(flt.formats))
                                    ).correlate(Resource))
    for field, values in flt.keys:
        conds.append(getattr(Resource, field).in_(values))
    return conds


def search(session: Session, actor: Actor, query: SearchQuery, *,
           use_snapshot: bool = True) -> SearchResult:
    """Resources matching ``query`` that ``actor`` may read: a page of them, their count and the
    facet counts over all of them.

    Counts, facets and ranking come from the in-memory snapshot of the catalogue's facet and
    sort fields (``catalog/facets.py``) where it can answer, after one full-text query for the
    matches; otherwise (and with ``use_snapshot=False``) from SQL alone, as follows.

    Each full-text pass runs the match once for the page and its count (a window count), and
    once more for all facets together (one statement); the facets of the unfiltered catalogue
    are cached (``_summary``). Figures: ``benchmarks/catalog_search.py``."""
    if query.sort not in SORTS:
        raise ValidationFailed(
            fields={"sort": [Message("field.choice", {"choices": ", ".join(SORTS)})]})
    for f in query.facets:
        if f not in FACET_FIELDS:
            raise ValidationFailed(fields={"facet.field": [
                Message("field.choice", {"choices": ", ".join(FACET_FIELDS)})]})
    flt = _filter(session, actor, query)
    conds = _conditions(flt)
    terms = fts.query_terms(query.q)
    dialect = session.get_bind().dialect.name
    facet_names = list(dict.fromkeys(query.facets))
    if use_snapshot and flt.in_memory and query.sort in facets.SORTS:
        snap = facets.snapshot(session)
        if snap is not None:
            return _search_snapshot(session, snap, flt, conds, terms, query, facet_names)

    if not terms:
        summary = _summary(session, conds, None, facet_names, query.facet_limit)
        pks = list(session.scalars(
            select(Resource.pk).where(*conds).order_by(*_order(Resource.__table__.c, query.sort))
            .limit(query.rows).offset(query.start)))
        return SearchResult(count=summary.count, resources=_load(session, pks),
                            facets=summary.facets)

    for with_pinyin in (False, True):
        sql, expr = fts.match_sql(dialect, terms, with_pinyin)
        hits = text(sql).bindparams(m=expr).columns(pk=Integer, score=Float).subquery("hits")
        if facet_names:
            summary = _summary(session, conds, hits, facet_names, query.facet_limit,
                               page=(query.sort, query.rows, query.start))
            if summary.count or with_pinyin or not fts.has_pinyin_term(terms):
                return SearchResult(count=summary.count, resources=_load(session, summary.page),
                                    facets=summary.facets)
            continue
        order = _order({**Resource.__table__.c, "score": hits.c.score}, query.sort)
        page = session.execute(
            select(Resource.pk, func.count().over().label("total")).select_from(Resource)
            .join(hits, hits.c.pk == Resource.pk).where(*conds)
            .order_by(*order).limit(query.rows).offset(query.start)).all()
        if page:
            count = page[0].total
        elif query.rows and not query.start:
            count = 0
        else:  # an empty page (rows=0, or past the end) does not tell the count
            count = session.scalar(
                select(func.count()).select_from(Resource)
                .join(hits, hits.c.pk == Resource.pk).where(*conds)) or 0
        # Pinyin (jiaotong, jt) is a fallback: only when the text itself finds nothing.
        if count or not fts.has_pinyin_term(terms):
            break
    return SearchResult(count=count, resources=_load(session, [p.pk for p in page]), facets={})


def _search_snapshot(session: Session, snap: facets.Snapshot, flt: facets.Filter,
                     conds: list[ColumnElement[bool]], terms: list[list[str]],
                     query: SearchQuery, facet_names: list[str]) -> SearchResult:
    """``search`` answered from the snapshot: the database is asked only for the full-text
    matches (and, with no query words, for the page, which its indexes sort fastest)."""
    allowed = snap.mask(flt)
    if not terms:
        pks = list(session.scalars(
            select(Resource.pk).where(*conds).order_by(*_order(Resource.__table__.c, query.sort))
            .limit(query.rows).offset(query.start)))
        return SearchResult(count=int(allowed.sum()), resources=_load(session, pks),
                            facets=snap.facets(allowed, facet_names, query.facet_limit))
    dialect = session.get_bind().dialect.name
    rows = scores = np.zeros(0)
    for with_pinyin in (False, True):
        sql, expr = fts.match_sql(dialect, terms, with_pinyin)
        hits = np.array(fts.matches(session, sql, expr), dtype=np.float64).reshape(-1, 2)
        found_pks, found_scores = hits[:, 0].astype(np.int64), hits[:, 1]
        rows, held = snap.rows_of(found_pks)
        keep = allowed[rows]
        rows, scores = rows[keep], found_scores[held][keep]
        # Pinyin (jiaotong, jt) is a fallback: only when the text itself finds nothing.
        if len(rows) or not fts.has_pinyin_term(terms):
            break
    ordered = snap.rank(rows, scores, query.sort)
    page = [int(pk) for pk in snap.pks[ordered[query.start:query.start + query.rows]]]
    result = {}
    if facet_names:
        selected = np.zeros(snap.size, dtype=bool)
        selected[rows] = True
        result = snap.facets(selected, facet_names, query.facet_limit, rows=rows)
    return SearchResult(count=len(rows), resources=_load(session, page), facets=result)


def _load(session: Session, pks: list[int]) -> list[Resource]:
    """The resources of ``pks`` in that order, with their providers in the identity map (so
    that ``org_of`` and ``resource_dict`` ask the database nothing more)."""
    if not pks:
        return []
    found = {r.pk: r for r in session.scalars(select(Resource).where(Resource.pk.in_(pks)))}
    _preload_orgs(session, {r.owner_org_id for r in found.values()})
    return [found[pk] for pk in pks if pk in found]


def _preload_orgs(session: Session, ids: set[str]) -> None:
    """Load these organisations in one query; held by the session (its identity map alone
    holds them weakly) so that ``session.get`` finds them for the rest of the request."""
    held: dict[str, Organisation] = session.info.setdefault("catalog.orgs", {})
    missing = [i for i in ids if i and i not in held]
    if missing:
        held.update((o.id, o) for o in session.scalars(
            select(Organisation).where(Organisation.id.in_(missing))))


@dataclass
class _Summary:
    count: int
    facets: dict[str, list[tuple[str, int]]]
    page: list[int] = dc_field(default_factory=list)  # pks of the asked-for page, in order


def _summary(
    session: Session, conds: list, hits: Any, facets: list[str], limit: int, *,
    page: tuple[str, int, int] | None = None,
) -> _Summary:
    """The count and the facets of the resources matching ``conds`` (and ``hits``), in one
    statement: the matches once, then a GROUP BY of each facet over them."""
    columns = [f for f in facets if f in FACET_COLUMNS]
    sort_columns = ([hits.c.score.label("score"), *(Resource.__table__.c[c] for c in SORT_COLUMNS)]
                    if page is not None and hits is not None else [])
    base = select(Resource.pk, Resource.id, *sort_columns,
                  *(FACET_COLUMNS[f].label(f"f_{f}") for f in columns))
    if hits is not None:
        base = base.join(hits, hits.c.pk == Resource.pk)
    m = base.where(*conds).cte("m")
    parts = [select(literal_column("-1"), cast(null(), String), func.count()).select_from(m)]
    if sort_columns and page is not None:
        # The ranked page from the same matches: the full-text match is evaluated once.
        sort, rows, start = page
        ranked = select(m.c.pk, func.row_number().over(order_by=_order(m.c, sort)).label("rn")
                        ).subquery()
        parts.append(select(literal_column("-2"), cast(ranked.c.pk, String), ranked.c.rn)
                     .where(ranked.c.rn > start, ranked.c.rn <= start + rows))
    for i, f in enumerate(facets):
        if f in FACET_COLUMNS:
            col = m.c[f"f_{f}"]
            parts.append(select(literal_column(str(i)), col, func.count()).group_by(col))
    # Tags and formats: one probe of the narrow facet table per match, by integer key.
    many = {f: i for i, f in enumerate(facets) if f in ("tags", "res_format")}
    if many:
        fc = ResourceFacet.__table__.c
        which = case(*((fc.field == f, literal_column(str(i))) for f, i in many.items()))
        parts.append(select(which, fc.value, func.count())
                     .where(fc.resource_pk.in_(select(m.c.pk)), fc.field.in_(list(many)))
                     .group_by(fc.field, fc.value))
    groups: dict[int, list[tuple[Any, int]]] = {}
    for i, value, n in session.execute(union_all(*parts)):
        groups.setdefault(int(i), []).append((value, int(n)))
    count = groups.pop(-1, [(None, 0)])[0][1]
    page_pks = [int(pk) for pk, _ in sorted(groups.pop(-2, []), key=lambda x: x[1])]
    result: dict[str, list[tuple[str, int]]] = {}
    for i, f in enumerate(facets):
        # Most frequent first, then by value (code point order, as SQLite and C collations).
        ordered = sorted(groups.get(i, []), key=lambda vc: (-vc[1], "" if vc[0] is None
                                                            else str(vc[0])))
        if limit >= 0:
            ordered = ordered[:limit]
        result[f] = [(str(v), c) for v, c in ordered if v not in (None, "")]
    summary = _Summary(count=count, facets=result, page=page_pks)
    if "organization" in result:
        _preload_orgs(session, {v for v, _ in result["organization"]})
    return summary


# Resource columns the sorts use, carried in the match CTE so the page can be ranked there.
SORT_COLUMNS = ("modified", "name", "title", "published", "created", "views")


def facet_display_name(session: Session, field: str, value: str, lang: str) -> str:
    if field == "organization":
        org = session.get(Organisation, value)
        if org is None:
            return value
        return (org.title_en or org.title) if lang == "en" else org.title
    table = {
        "classification": vocab.CLASSIFICATIONS,
        "theme": {**vocab.BASE_THEMES, **vocab.TOPIC_THEMES},
        "sharing_type": vocab.SHARING_TYPES,
        "opening_type": vocab.OPENING_TYPES,
        "format": vocab.FORMATS,
        "update_cycle": vocab.UPDATE_CYCLES,
    }.get(field)
    if table is not None:
        return vocab.label(table, value, lang)
    if field == "license_id" and value in vocab.LICENSES:
        lic = vocab.LICENSES[value]
        return lic["title_en"] if lang == "en" else lic["title"]
    return value


def tag_list(session: Session, actor: Actor, query: str = "", limit: int = 1000) -> list[str]:
    q = SearchQuery(include_private=True)
    conds = _conditions(_filter(session, actor, q))
    stmt = (select(ResourceTag.name).join(Resource, Resource.id == ResourceTag.resource_id)
            .where(*conds).group_by(ResourceTag.name).order_by(ResourceTag.name).limit(limit))
    if query:
        stmt = stmt.where(ResourceTag.name.contains(query, autoescape=True))
    return list(session.scalars(stmt))


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """Figures for the home page."""
    res = search(session, actor, SearchQuery(rows=0, facets=["opening_type"]))
    by_type = dict(res.facets["opening_type"])
    return {
        "resources": res.count,
        "open": by_type.get("unconditional", 0),
        "conditional": by_type.get("conditional", 0),
        "organisations": session.scalar(select(func.count()).select_from(Organisation)) or 0,
        "showcases": session.scalar(select(func.count()).select_from(Showcase)) or 0,
    }


# --- showcases (应用示范, Art. 48) ------------------------------------------------------------


def create_showcase(
    session: Session, actor: Actor, *, name: str, title: str, description: str = "",
    url: str = "", owner_title: str = "", resources: list[str] | None = None,
) -> Showcase:
    require(actor, "showcase.create")
    e = FieldErrors()
    if not NAME_RE.fullmatch(name or ""):
        e.add("name", "field.name_invalid")
    elif session.scalar(select(Showcase.id).where(Showcase.name == name)):
        e.add("name", "field.name_taken")
    if not title.strip():
        e.add("title", "field.required")
    if url and not _safe_url(url):
        e.add("url", "field.url_invalid")
    linked = []
    for rid in resources or []:
        try:
            r = get_resource(session, actor, rid)
        except NotFound:
            e.add("resources", "field.resource_unknown", id=rid[:100])
            continue
        if r.opening_type == "none":
            e.add("resources", "field.showcase_needs_open", id=r.name)
        linked.append(r)
    e.raise_if_any()
    sc = Showcase(name=name, title=title.strip(), description=description, url=url,
                  owner_id=actor.user_id, owner_title=owner_title)
    sc.resources = [ShowcaseResource(resource_id=r.id) for r in linked]
    session.add(sc)
    session.flush()
    audit.record(session, actor, "showcase.create", "showcase", sc.id,
                 content={"name": name, "title": title, "resources": [r.id for r in linked]})
    return sc


def list_showcases(session: Session, resource_id: str | None = None) -> list[Showcase]:
    stmt = select(Showcase).order_by(Showcase.created.desc())
    if resource_id:
        stmt = stmt.join(ShowcaseResource).where(ShowcaseResource.resource_id == resource_id)
    return list(session.scalars(stmt))


def today() -> date:
    return utcnow().date()


# --- the datastore's hand-over (datastore/service.py) --------------------------------------


def datastore_published(
    session: Session, actor: Actor, dist_id: str, data_items: list[dict[str, Any]] | None,
    **distribution: Any,
) -> Distribution:
    """A new version of a distribution's data is queryable: mark it (CKAN
    ``datastore_active``), take the file's facts (size, hash, url_type …), and describe its
    columns as the resource's data items (信息项), as a new revision of the resource."""
    d, r = get_distribution(session, actor, dist_id)
    require(actor, "resource.update", r)
    d.datastore_active = True
    for name in ("size", "hash", "url", "url_type", "format", "mimetype"):
        if distribution.get(name) is not None:
            setattr(d, name, distribution[name])
    d.modified = utcnow()
    if data_items is not None:
        r.data_items = data_items
    r.revision += 1
    r.modified = utcnow()
    _record(session, actor, r, org_of(session, r), "changed")
    return d
