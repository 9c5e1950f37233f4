"""Builders for tests: a small city with a user in every role and valid resource metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn
from zhihui.core.accounts import service as accounts
from zhihui.core.authz import SYSTEM, Actor
from zhihui.db import Database

PASSWORD = "correct-horse-battery"


def resource_input(org: str, **overrides: Any) -> dict[str, Any]:
    """Metadata that passes every catalogue rule; override what a test is about."""
    data: dict[str, Any] = {
        "title": "城市交通流量监测数据",
        "title_en": "Urban traffic flow",
        "owner_org": org,
        "abstract": "全市主要道路断面的机动车交通流量，按小时统计。",
        "classification": "topic",
        "theme": "11",
        "format": "spreadsheet",
        "data_items": [
            {"name": "路段名称", "type": "C", "length": 100},
            {"name": "统计时间", "type": "T"},
            {"name": "车流量", "type": "N", "length": 10},
        ],
        "sharing_type": "unconditional",
        "sharing_method": "api",
        "opening_type": "unconditional",
        "update_cycle": "daily",
        "published": "2024-05-01",
        "contact_name": "数据科",
        "contact_phone": "0571-85252000",
        "contact_email": "data@jtj.hangzhou.gov.cn",
        "license_id": "hz-open-data",
        "spatial": "杭州市",
        "tags": ["交通", "流量"],
    }
    data.update(overrides)
    return data


@dataclass
class City:
    db: Database
    orgs: dict[str, str] = field(default_factory=dict)  # name -> id
    users: dict[str, str] = field(default_factory=dict)  # role -> user id
    tokens: dict[str, str] = field(default_factory=dict)  # role -> secret
    actors: dict[str, Actor] = field(default_factory=dict)  # role -> actor
    resources: dict[str, str] = field(default_factory=dict)  # label -> resource id

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": self.tokens[role]} if role in self.tokens else {}


ROLES = {
    # role: (org name or None, capacity, sysadmin)
    "sysadmin": (None, None, True),
    "admin": ("jtj", "admin", False),
    "editor": ("jtj", "editor", False),
    "member": ("jtj", "member", False),
    "other_editor": ("hbj", "editor", False),
    "other_member": ("hbj", "member", False),
    "public": (None, None, False),
}


def build_city(db: Database) -> City:
    city = City(db=db)
    with db.session() as s:
        hz = accounts.create_org(s, SYSTEM, name="hangzhou", title="杭州市人民政府",
                                 kind="city", catalog_code="001", uscc="11330100002489809A")
        jtj = accounts.create_org(s, SYSTEM, name="jtj", title="杭州市交通运输局",
                                  title_en="Hangzhou Transport Bureau", kind="department",
                                  catalog_code="002", parent=hz.id)
        hbj = accounts.create_org(s, SYSTEM, name="hbj", title="杭州市生态环境局",
                                  kind="department", catalog_code="003", parent=hz.id)
        city.orgs = {"hangzhou": hz.id, "jtj": jtj.id, "hbj": hbj.id}
        for role, (org, capacity, sysadmin) in ROLES.items():
            user = accounts.create_user(s, SYSTEM, name=role, password=PASSWORD,
                                        fullname=role, sysadmin=sysadmin)
            if org:
                accounts.set_membership(s, SYSTEM, user=user, org=accounts.get_org(s, org),
                                        capacity=capacity or "member")
            _, secret = accounts.create_token(s, SYSTEM, user=user, name="test")
            city.users[role] = user.id
            city.tokens[role] = secret
            city.actors[role] = accounts.actor_for(s, user)
        open_r = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(jtj.id)))
        closed = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            jtj.id, title="公交车辆实时定位数据", sharing_type="conditional",
            sharing_conditions="仅用于交通运行监测", opening_type="none",
            opening_legal_basis="《中华人民共和国数据安全法》第二十一条", tags=["公共交通"])))
        air = catalog.create_resource(s, SYSTEM, ResourceIn(**resource_input(
            hbj.id, title="空气质量监测站点小时数据", title_en="Hourly air quality",
            abstract="全市国控、省控空气质量监测站点的PM2.5、PM10、臭氧小时浓度。",
            theme="12", opening_type="conditional", opening_conditions="须签署数据使用协议",
            tags=["空气质量", "环境"])))
        city.resources = {"open": open_r.id, "closed": closed.id, "air": air.id}
    return city
