"""What comes in and goes out of the catalogue. Pydantic checks shapes; the rules that need
the database or relate fields (conditions, legal basis, codes) live in ``service.py``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhihui.core.schemas import Input

TEXT = 5000


class DataItem(Input):
    """信息项: one column of a resource."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(max_length=100, description="信息项名称")
    name_en: str = Field(default="", max_length=200)
    type: str = Field(default="C", max_length=2, description="数据类型代码: C N Y D T L M G B I F")
    length: int | None = Field(default=None, ge=1, le=100000, description="数据长度")
    description: str = Field(default="", max_length=1000)


class DistributionIn(Input):
    model_config = ConfigDict(extra="ignore")

    id: str | None = Field(default=None, max_length=36, description="keep an existing one")

    name: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=TEXT)
    kind: str = Field(default="file", description="file / api / link")
    url: str = Field(default="", max_length=2000)
    format: str = Field(default="", max_length=40)
    mimetype: str = Field(default="", max_length=100)
    # Bytes; the column is a 64-bit integer, so larger values are a 4xx, not a 500.
    size: int | None = Field(default=None, ge=0, le=2**63 - 1)


class DistributionOut(DistributionIn):
    id: str | None
    resource_id: str
    position: int
    url_type: str
    hash: str
    datastore_active: bool
    created: datetime
    modified: datetime


class ResourceIn(Input):
    """The editable metadata of a resource (national core metadata plus ours)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=100, description="URL name; may be Chinese")
    title: str = Field(default="", max_length=200, description="资源名称")
    title_en: str = Field(default="", max_length=300)
    resource_code: str | None = Field(default=None, max_length=40, description="信息资源代码")
    owner_org: str = Field(default="", max_length=100, description="提供方 (id or name)")
    abstract: str = Field(default="", max_length=TEXT, description="资源摘要")
    classification: str = Field(default="topic", description="base / topic / department")
    theme: str = Field(default="", max_length=20)
    format: str = Field(default="spreadsheet", description="资源格式")
    data_items: list[DataItem] = Field(default_factory=list, max_length=500)
    sharing_type: str = Field(default="", description="unconditional / conditional / none")
    sharing_conditions: str = Field(default="", max_length=TEXT)
    sharing_legal_basis: str = Field(default="", max_length=TEXT)
    sharing_method: str = Field(default="", description="table / api / file")
    opening_type: str = Field(default="", description="unconditional / conditional / none")
    opening_conditions: str = Field(default="", max_length=TEXT)
    opening_legal_basis: str = Field(default="", max_length=TEXT)
    update_cycle: str = Field(default="", description="realtime daily weekly … irregular")
    published: date | None = None
    contact_name: str = Field(default="", max_length=100)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str = Field(default="", max_length=200)
    license_id: str = Field(default="", max_length=40)
    spatial: str = Field(default="", max_length=200)
    temporal_start: date | None = None
    temporal_end: date | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    distributions: list[DistributionIn] | None = Field(default=None, max_length=100)
    # None: keep what the resource has (privacy/service.py checks and never lowers them)
    grade: str | None = Field(default=None, description="general / important / core")
    personal: str | None = Field(default=None,
                                 description="none / personal / sensitive_personal")

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> Any:
        # CKAN sends [{"name": ...}]; forms send "a, b" (or "a，b").
        if isinstance(v, str):
            v = v.replace("，", ",").split(",")
        if isinstance(v, list):
            v = [t.get("name", "") if isinstance(t, dict) else t for t in v]
            v = [t.strip() if isinstance(t, str) else t for t in v]
            v = [t for t in v if t != ""]
        return v


class ResourceOut(BaseModel):
    """A resource as the v1 API returns it (labels in both languages)."""

    id: str
    name: str
    title: str
    title_en: str
    resource_code: str
    owner_org: str
    organization: dict[str, Any]
    abstract: str
    classification: str
    theme: str
    format: str
    data_items: list[DataItem]
    sharing_type: str
    sharing_conditions: str
    sharing_legal_basis: str
    sharing_method: str
    opening_type: str
    opening_conditions: str
    opening_legal_basis: str
    update_cycle: str
    published: date | None
    contact_name: str
    contact_phone: str
    contact_email: str
    license_id: str
    spatial: str
    temporal_start: date | None
    temporal_end: date | None
    tags: list[str]
    distributions: list[DistributionOut]
    created: datetime
    modified: datetime
    revision: int
    deleted: bool
    grade: str = "general"
    personal: str = "none"
    labels: dict[str, dict[str, str]]


class SearchQuery(Input):
    q: str = Field(default="", max_length=500)
    filters: dict[str, list[str]] = Field(default_factory=dict)
    facets: list[str] = Field(default_factory=list)
    sort: str = "relevance"
    rows: int = Field(default=20, ge=0, le=1000)
    start: int = Field(default=0, ge=0, le=1_000_000)
    include_private: bool = True
    include_deleted: bool = False
    facet_limit: int = Field(default=50, ge=-1, le=1000)


class FacetItem(BaseModel):
    name: str
    display_name: str
    count: int


class SearchResultOut(BaseModel):
    count: int
    results: list[ResourceOut]
    facets: dict[str, list[FacetItem]]
