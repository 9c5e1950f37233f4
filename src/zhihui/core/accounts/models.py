"""Account tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from zhihui.db import Base, IdColumn, UTCDateTime, new_id, utcnow

ORG_KINDS = ("city", "district", "department")
CAPACITIES = ("admin", "editor", "member")


class Organisation(Base):
    __tablename__ = "org"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    # CKAN's URL name; may be Chinese (unlike CKAN).
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))  # city / district / department
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("org.id"), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    catalog_code: Mapped[str] = mapped_column(String(20), unique=True)  # 目录编码
    description: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    sysadmin: Mapped[bool] = mapped_column(Boolean, default=False)
    # An auditor reads the whole audit log but changes nothing (Art. 50).
    auditor: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("org.id"), index=True)
    capacity: Mapped[str] = mapped_column(String(20))  # admin / editor / member


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # sha256 of the secret: tokens have 256 bits of entropy, so a fast hash is safe and lets
    # every request find its token by index.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime())
