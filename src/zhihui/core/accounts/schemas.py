"""Account shapes for the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from zhihui.core.schemas import Input


class OrgIn(Input):
    name: str = Field(max_length=100)
    title: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    kind: str = Field(description="city / district / department")
    catalog_code: str = Field(max_length=20)
    parent: str | None = Field(default=None, max_length=100)
    uscc: str | None = Field(default=None, max_length=18)
    description: str = Field(default="", max_length=5000)


class OrgOut(BaseModel):
    id: str
    name: str
    title: str
    title_en: str
    kind: str
    parent_id: str | None
    uscc: str | None
    catalog_code: str
    description: str
    created: datetime


class UserIn(Input):
    name: str = Field(max_length=100)
    password: str = Field(max_length=200)
    fullname: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=200)
    sysadmin: bool = False
    auditor: bool = False


class UserOut(BaseModel):
    id: str
    name: str
    fullname: str
    sysadmin: bool
    created: datetime
    email: str | None = None
    memberships: dict[str, str] | None = None


class MemberIn(Input):
    user: str = Field(max_length=100)
    capacity: str = Field(description="admin / editor / member")


class TokenIn(Input):
    name: str = Field(default="", max_length=200)
    days: int = Field(default=365, ge=1, le=3650)


class TokenOut(BaseModel):
    id: str
    name: str
    created: datetime
    expires: datetime
    last_used: datetime | None
    revoked: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="the secret, shown this once")
