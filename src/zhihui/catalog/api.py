"""/api/v1 routes for the catalogue: parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Query
from pydantic import BaseModel, Field

from zhihui.catalog import facets, service, vocab
from zhihui.catalog.schemas import (
    DistributionIn,
    DistributionOut,
    FacetItem,
    ResourceIn,
    ResourceOut,
    SearchQuery,
    SearchResultOut,
)
from zhihui.core.schemas import Input
from zhihui.web import background
from zhihui.web.deps import ActorDep, LangDep, SessionDep

router = APIRouter(tags=["catalogue"])


def search_result(session, actor, query: SearchQuery, lang: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One search answer for every door (v1 API, pages)."""
    res = service.search(session, actor, query)
    return {
        "count": res.count,
        "results": [service.resource_dict(r, service.org_of(session, r)) for r in res.resources],
        "facets": {
            f: [FacetItem(name=v, count=c,
                          display_name=service.facet_display_name(session, f, v, lang))
                for v, c in items]
            for f, items in res.facets.items()
        },
    }


@router.get("/resources", response_model=SearchResultOut)
def search_resources(
    session: SessionDep,
    actor: ActorDep,
    lang: LangDep,
    q: Annotated[str, Query(max_length=500)] = "",
    sort: str = "relevance",
    rows: Annotated[int, Query(ge=0, le=1000)] = 20,
    start: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    facet: Annotated[list[str] | None, Query(description="facet fields to count")] = None,
    organization: Annotated[list[str] | None, Query()] = None,
    classification: Annotated[list[str] | None, Query()] = None,
    theme: Annotated[list[str] | None, Query()] = None,
    sharing_type: Annotated[list[str] | None, Query()] = None,
    opening_type: Annotated[list[str] | None, Query()] = None,
    format: Annotated[list[str] | None, Query()] = None,
    update_cycle: Annotated[list[str] | None, Query()] = None,
    tags: Annotated[list[str] | None, Query()] = None,
    include_deleted: bool = False,
) -> dict[str, Any]:
    filters = {
        k: v for k, v in {
            "organization": organization, "classification": classification, "theme": theme,
            "sharing_type": sharing_type, "opening_type": opening_type, "format": format,
            "update_cycle": update_cycle, "tags": tags,
        }.items() if v
    }
    query = SearchQuery(q=q, sort=sort, rows=rows, start=start, facets=facet or [],
                        filters=filters, include_deleted=include_deleted)
    return search_result(session, actor, query, lang)


@router.post("/resources", response_model=ResourceOut, status_code=201)
def create_resource(body: ResourceIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    r = service.create_resource(session, actor, body)
    session.commit()
    return service.resource_dict(r, service.org_of(session, r))


@router.get("/resources/{resource_id}", response_model=ResourceOut)
def show_resource(resource_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.show(session, actor, resource_id)


@router.put("/resources/{resource_id}", response_model=ResourceOut)
def update_resource(resource_id: str, body: ResourceIn, session: SessionDep,
                    actor: ActorDep) -> dict[str, Any]:
    r = service.update_resource(session, actor, resource_id, body)
    session.commit()
    return service.resource_dict(r, service.org_of(session, r))


@router.patch("/resources/{resource_id}", response_model=ResourceOut)
def patch_resource(resource_id: str, session: SessionDep, actor: ActorDep,
                   body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    r = service.patch_resource(session, actor, resource_id, body)
    session.commit()
    return service.resource_dict(r, service.org_of(session, r))


@router.delete("/resources/{resource_id}", status_code=204)
def delete_resource(resource_id: str, session: SessionDep, actor: ActorDep) -> None:
    service.delete_resource(session, actor, resource_id)
    session.commit()


@router.post("/resources/{resource_id}/restore", response_model=ResourceOut)
def restore_resource(resource_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    r = service.restore_resource(session, actor, resource_id)
    session.commit()
    return service.resource_dict(r, service.org_of(session, r))


class ActivityOut(BaseModel):
    id: str
    revision: int
    timestamp: Any
    user_name: str
    activity_type: str
    snapshot: dict[str, Any]


@router.get("/resources/{resource_id}/activity", response_model=list[ActivityOut])
def resource_activity(
    resource_id: str, session: SessionDep, actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 31,
    offset: Annotated[int, Query(ge=0, le=100000)] = 0,
) -> list[Any]:
    return service.activity_list(session, actor, resource_id, limit=limit, offset=offset)


@router.post("/resources/{resource_id}/distributions", response_model=DistributionOut,
             status_code=201)
def add_distribution(resource_id: str, body: DistributionIn, session: SessionDep,
                     actor: ActorDep) -> dict[str, Any]:
    d = service.add_distribution(session, actor, resource_id, body)
    session.commit()
    return service.distribution_dict(d)


@router.put("/distributions/{distribution_id}", response_model=DistributionOut)
def update_distribution(distribution_id: str, body: DistributionIn, session: SessionDep,
                        actor: ActorDep) -> dict[str, Any]:
    d = service.update_distribution(session, actor, distribution_id,
                                    body.model_dump(exclude={"id"}), partial=False)
    session.commit()
    return service.distribution_dict(d)


@router.delete("/distributions/{distribution_id}", status_code=204)
def delete_distribution(distribution_id: str, session: SessionDep, actor: ActorDep) -> None:
    service.delete_distribution(session, actor, distribution_id)
    session.commit()


@router.get("/vocabularies")
def vocabularies() -> dict[str, Any]:
    """The value lists of the 2017 catalogue guide, each code with its zh/en labels."""
    def table(labels: vocab.Labels) -> dict[str, dict[str, str]]:
        return {code: {"zh": zh, "en": en} for code, (zh, en) in labels.items()}

    return {
        "classification": table(vocab.CLASSIFICATIONS),
        "theme": {"base": table(vocab.BASE_THEMES), "topic": table(vocab.TOPIC_THEMES)},
        "format": table(vocab.FORMATS),
        "data_item_type": table(vocab.ITEM_TYPES),
        "sharing_type": table(vocab.SHARING_TYPES),
        "opening_type": table(vocab.OPENING_TYPES),
        "sharing_method": table(vocab.SHARING_METHODS),
        "update_cycle": table(vocab.UPDATE_CYCLES),
        "license": vocab.LICENSES,
    }


class ShowcaseIn(Input):
    name: str = Field(max_length=100)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    url: str = Field(default="", max_length=2000)
    owner_title: str = Field(default="", max_length=200)
    resources: list[str] = Field(default_factory=list, max_length=50)


class ShowcaseOut(BaseModel):
    id: str
    name: str
    title: str
    description: str
    url: str
    owner_title: str
    resources: list[str]


def _showcase_out(sc: Any) -> ShowcaseOut:
    return ShowcaseOut(id=sc.id, name=sc.name, title=sc.title, description=sc.description,
                       url=sc.url, owner_title=sc.owner_title,
                       resources=[x.resource_id for x in sc.resources])


@router.get("/showcases", response_model=list[ShowcaseOut])
def list_showcases(session: SessionDep, resource: str | None = None) -> list[ShowcaseOut]:
    return [_showcase_out(sc) for sc in service.list_showcases(session, resource)]


@router.post("/showcases", response_model=ShowcaseOut, status_code=201)
def create_showcase(body: ShowcaseIn, session: SessionDep, actor: ActorDep) -> ShowcaseOut:
    sc = service.create_showcase(session, actor, **body.model_dump())
    session.commit()
    return _showcase_out(sc)


def keep_snapshot_fresh(app: FastAPI, interval: float = 10.0) -> None:
    """Load the catalogue's search snapshot (``catalog/facets.py``) at start-up and follow
    changes every ``interval`` seconds, so that searches seldom wait for either."""

    def refresh(a: FastAPI) -> None:
        with a.state.db.session() as session:
            facets.snapshot(session)

    background.periodically(app, interval, refresh, "catalogue snapshot", first=0)
