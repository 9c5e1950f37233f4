"""Catalogue tables. The full-text index lives beside them (``search.py``), built per dialect
by the migration: FTS5 on SQLite, a tsvector column with GIN on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow


class Resource(Base):
    """A data resource (政务信息资源; CKAN: dataset/package)."""

    __tablename__ = "resource"
    __table_args__ = (
        Index("ix_resource_visible", "deleted", "opening_type"),
        Index("ix_resource_modified", "modified"),
    )

    # An integer key for the full-text index (FTS5 rowid); the public id is the uuid.
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(IdColumn(), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    resource_code: Mapped[str] = mapped_column(String(40), unique=True)
    owner_org_id: Mapped[str] = mapped_column(ForeignKey("org.id"), index=True)
    abstract: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[str] = mapped_column(String(20), index=True)
    theme: Mapped[str] = mapped_column(String(20), default="", index=True)
    format: Mapped[str] = mapped_column(String(20), index=True)
    data_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sharing_type: Mapped[str] = mapped_column(String(20), index=True)
    sharing_conditions: Mapped[str] = mapped_column(Text, default="")
    sharing_legal_basis: Mapped[str] = mapped_column(Text, default="")
    sharing_method: Mapped[str] = mapped_column(String(20), default="")
    opening_type: Mapped[str] = mapped_column(String(20), index=True)
    opening_conditions: Mapped[str] = mapped_column(Text, default="")
    opening_legal_basis: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(20), index=True)
    published: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    license_id: Mapped[str] = mapped_column(String(40), default="")
    spatial: Mapped[str] = mapped_column(String(200), default="")
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    creator_id: Mapped[str | None] = mapped_column(String(36))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    views: Mapped[int] = mapped_column(Integer, default=0)
    # Data grade (GB/T 43697: general / important / core) and personal information (PIPL
    # Art. 28: none / personal / sensitive_personal); rules in privacy/service.py.
    grade: Mapped[str] = mapped_column(String(20), default="general", server_default="general")
    personal: Mapped[str] = mapped_column(String(30), default="none", server_default="none")

    tags: Mapped[list[ResourceTag]] = relationship(
        cascade="all, delete-orphan", order_by="ResourceTag.name", lazy="selectin"
    )
    distributions: Mapped[list[Distribution]] = relationship(
        cascade="all, delete-orphan", order_by="Distribution.position", lazy="selectin"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags]


class ResourceTag(Base):
    __tablename__ = "resource_tag"

    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class ResourceFacet(Base):
    """The many-valued facets of a resource (its tags, its distributions' formats) keyed by the
    integer ``resource.pk``: a search counts them for its matches by probing this narrow table
    (a clustered key on SQLite, no row lookups) instead of the uuid-keyed tag and distribution
    tables. Written with the search index, in the same transaction (``catalog.search``)."""

    __tablename__ = "resource_facet"
    __table_args__ = {"sqlite_with_rowid": False}

    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("resource.pk", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String(20), primary_key=True)  # tags, res_format
    value: Mapped[str] = mapped_column(String(100), primary_key=True)


class Distribution(Base):
    """A file, API or link of a resource (分发; CKAN: resource)."""

    __tablename__ = "distribution"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10), default="file")  # file / api / link
    url: Mapped[str] = mapped_column(Text, default="")
    url_type: Mapped[str] = mapped_column(String(20), default="")  # "upload" when stored here
    format: Mapped[str] = mapped_column(String(40), default="")
    mimetype: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int | None] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(80), default="")
    datastore_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Activity(Base):
    """One change of a resource: the snapshot after it is that revision (CKAN: activity)."""

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("resource_id", "revision"),
        Index("ix_activity_resource_time", "resource_id", "timestamp"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    resource_id: Mapped[str] = mapped_column(String(36))
    revision: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(100))
    # new / changed / deleted / restored
    activity_type: Mapped[str] = mapped_column(String(20))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class Showcase(Base):
    """An application built on open data (应用示范, Art. 48)."""

    __tablename__ = "showcase"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    owner_title: Mapped[str] = mapped_column(String(200), default="")  # who built it
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resources: Mapped[list[ShowcaseResource]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class ShowcaseResource(Base):
    __tablename__ = "showcase_resource"

    showcase_id: Mapped[str] = mapped_column(
        ForeignKey("showcase.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True, index=True
    )
