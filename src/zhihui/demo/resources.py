"""The demo catalogue: resource metadata generated from ``templates.py`` with
``random.Random(seed)``. Pure functions, no database: the same seed gives the same list (titles,
codes, types, dates, order), so the output can be compared without loading it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from zhihui.catalog import vocab
from zhihui.demo.city import DISTRICTS, OrgSpec, district_department
from zhihui.demo.templates import (
    CITY_TEMPLATES,
    DISTRICT_TEMPLATES,
    ITEM_DESCRIPTIONS,
    UNITS,
    Template,
)

OPEN_SITE = "https://data.hangzhou.gov.cn"  # the open-data portal (Art. 48)
SHARE_SITE = "https://share.hangzhou.gov.cn"  # the government sharing platform (Art. 46)

# Which sharing x opening pairs each profile may take, with weights. The rules allow seven of
# the nine pairs: what is not shared inside government is not opened either.
PROFILE_TYPES: dict[str, tuple[tuple[str, str, int], ...]] = {
    "public": (("unconditional", "unconditional", 75), ("unconditional", "conditional", 20),
               ("conditional", "unconditional", 5)),
    "restricted": (("unconditional", "conditional", 40), ("conditional", "conditional", 60)),
    "closed": (("unconditional", "none", 30), ("conditional", "none", 70)),
    "secret": (("none", "none", 1),),
}

SHARING_CONDITIONS = (
    "仅限用于行政审批、监管执法等履职需要，使用部门须说明用途并经提供部门审核同意。",
    "须通过公共数据平台接口按需调用，不得批量下载或留存，使用情况接受审计。",
    "仅向承担相关职责的部门共享，使用部门应落实数据安全管理措施，不得向第三方提供。",
    "使用部门须签订数据共享安全承诺书，按最小必要原则使用。",
)
OPENING_CONDITIONS = (
    "申请人须为依法登记的法人或非法人组织，签署《杭州市公共数据开放利用协议》，说明用途和安全保障措施。",
    "须通过开放平台提交申请并经审核，按约定场景使用，不得用于商业转售。",
    "仅以接口方式开放，调用方须完成实名认证并遵守调用频次限制。",
    "面向科研机构和高校开放，申请时须提交研究方案，成果注明数据来源。",
)
PERSONAL_BASIS = (
    "《中华人民共和国个人信息保护法》第二十八条：含敏感个人信息，不予开放",
    "《中华人民共和国个人信息保护法》第十三条：含个人信息，未取得个人同意，不予开放",
    "《杭州市智慧经济促进条例》第四十八条：涉及个人隐私，不予开放",
)
SECRET_BASIS = (
    "《中华人民共和国数据安全法》第二十一条：列入重要数据目录，实行重点保护，不予共享和开放",
)
LICENCES = (("hz-open-data", 70), ("cc-by-4.0", 20), ("cc0-1.0", 5), ("odbl-1.0", 5))
OFFICES = ("信息中心", "数据管理科", "办公室", "科技信息处", "大数据中心", "政策法规处")
FIRST_DAY = date(2019, 1, 1)
LAST_DAY = date(2026, 10, 31)
ONGOING = ("realtime", "daily", "weekly")

FILE_FORMATS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # resource format: (extension, distribution format, mimetype) of its files
    "spreadsheet": (("csv", "CSV", "text/csv"),
                    ("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument"
                     ".spreadsheetml.sheet")),
    "database": (("csv", "CSV", "text/csv"), ("json", "JSON", "application/json")),
    "self_describing": (("json", "JSON", "application/json"), ("xml", "XML", "application/xml")),
    "file": (("pdf", "PDF", "application/pdf"),
             ("docx", "DOCX", "application/vnd.openxmlformats-officedocument"
              ".wordprocessingml.document")),
    "image": (("zip", "SHP", "application/zip"), ("geojson", "GeoJSON", "application/geo+json"),
              ("png", "PNG", "image/png")),
}


@dataclass(frozen=True)
class ResourcePlan:
    """One resource to create: the input dict for ``catalog.service.create_resource`` (with
    ``owner_org`` as the organisation's name) and the template it came from."""

    template: str
    data: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return self.data["resource_code"], self.data["title"]


def parse_items(spec: str, subject: str) -> list[dict[str, Any]]:
    """Data items from ``name:type:length:description|…`` (see ``templates.py``)."""
    items = []
    for part in spec.split("|"):
        name, type_code, length, note = (part.split(":") + ["", "", ""])[:4]
        if note in UNITS:
            description = f"{name}，单位：{note}"
        else:
            description = note or ITEM_DESCRIPTIONS.get(name, f"{subject}的{name}")
        default_length = {"D": 8, "T": 14, "L": 1, "I": 10}.get(type_code)
        items.append({
            "name": name,
            "type": type_code,
            "length": int(length) if length else default_length,
            "description": description,
        })
    return items


def _weighted(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(options, weights=[o[-1] for o in options])[0]


def _contacts(orgs: list[OrgSpec]) -> dict[str, tuple[str, str, str]]:
    out = {}
    for org in orgs:
        rng = random.Random(f"zhihui-demo-contact-{org.name}")
        phone = "0571-8" + "".join(rng.choice("0123456789") for _ in range(7))
        email = f"data@{org.name.replace('_', '-')}.hangzhou.gov.cn"
        out[org.name] = (f"{org.short or org.title}{rng.choice(OFFICES)}", phone, email)
    return out


def _distributions(rng: random.Random, fmt: str, title: str, code: str, opened: bool,
                   cycle: str) -> list[dict[str, Any]]:
    site = OPEN_SITE if opened else SHARE_SITE
    slug = code.replace("/", "-")
    if fmt == "api":
        return [{
            "name": f"{title}接口",
            "description": "RESTful 接口，JSON 分页返回；调用须携带 AppKey。",
            "kind": "api",
            "url": f"{site}/api/v1/{slug}",
            "format": "JSON",
            "mimetype": "application/json",
        }]
    if fmt == "stream":
        return [{
            "name": f"{title}直播流",
            "description": "HLS 直播流地址。",
            "kind": "link",
            "url": f"{site}/stream/{slug}.m3u8",
            "format": "HLS",
            "mimetype": "application/vnd.apple.mpegurl",
        }]
    files = FILE_FORMATS[fmt]
    chosen = files if len(files) <= 2 else rng.sample(files, 2)
    out = []
    for ext, label, mime in chosen:
        out.append({
            "name": f"{title}.{ext}",
            "description": "最新全量数据。" if cycle in ONGOING else "",
            "kind": "file",
            "url": f"{site}/files/{slug}.{ext}",
            "format": label,
            "mimetype": mime,
            "size": rng.randint(8, 40_000) * 1024,
        })
    if fmt in ("spreadsheet", "database") and rng.random() < 0.3:
        out.append({
            "name": f"{title}查询接口",
            "description": "按条件查询，JSON 返回。",
            "kind": "api",
            "url": f"{site}/api/v1/{slug}",
            "format": "JSON",
            "mimetype": "application/json",
        })
    return out


def _resource(
    rng: random.Random,
    t: Template,
    org: OrgSpec,
    contacts: dict[str, tuple[str, str, str]],
    code: str,
    *,
    name: str,
    district: tuple[str, str, str, str] | None,
) -> dict[str, Any]:
    place, place_en = (district[1], district[2]) if district else ("", "")
    title = t.title.format(d=place)
    classification = ("base" if t.theme in vocab.BASE_THEMES
                      else "topic" if t.theme in vocab.TOPIC_THEMES else "department")
    sharing, opening, _ = _weighted(rng, PROFILE_TYPES[t.profile])
    published = FIRST_DAY + timedelta(days=rng.randint(0, (LAST_DAY - FIRST_DAY).days))
    start = max(date(2010, 1, 1), published - timedelta(days=rng.randint(180, 6 * 365)))
    start = start.replace(day=1)
    contact_name, phone, email = contacts[org.name]
    data: dict[str, Any] = {
        "name": name,
        "title": title,
        "title_en": t.title_en.format(e=place_en),
        "resource_code": code,
        "owner_org": org.name,
        "abstract": t.abstract.format(d=place),
        "classification": classification,
        "theme": t.theme,
        "format": t.format,
        "data_items": parse_items(t.items, t.title.format(d="")),
        "sharing_type": sharing,
        "sharing_conditions": rng.choice(SHARING_CONDITIONS) if sharing == "conditional" else "",
        "sharing_legal_basis": "",
        "sharing_method": "",
        "opening_type": opening,
        "opening_conditions": rng.choice(OPENING_CONDITIONS) if opening == "conditional" else "",
        "opening_legal_basis": "",
        "update_cycle": t.update_cycle,
        "published": published.isoformat(),
        "contact_name": contact_name,
        "contact_phone": phone,
        "contact_email": email,
        "license_id": _weighted(rng, LICENCES)[0] if opening != "none" else "",
        "spatial": f"杭州市{place}" if place else "杭州市",
        "temporal_start": start.isoformat(),
        "temporal_end": None if t.update_cycle in ONGOING else published.isoformat(),
        "tags": list(dict.fromkeys([*t.tags, *([place] if place else [])])),
    }
    if sharing == "none":
        data["sharing_legal_basis"] = t.legal_basis or rng.choice(SECRET_BASIS)
    else:
        data["sharing_method"] = ({"api": "api", "database": "table"}.get(t.format)
                                  or rng.choice(("file", "file", "api")))
    if opening == "none":
        data["opening_legal_basis"] = t.legal_basis or rng.choice(
            SECRET_BASIS if sharing == "none" else PERSONAL_BASIS)
    data["distributions"] = _distributions(rng, t.format, title, code, opening != "none",
                                           t.update_cycle)
    return data


def build_resources(seed: int, orgs: list[OrgSpec]) -> list[ResourcePlan]:
    """Every resource of the demo catalogue, in creation order: the city departments' first,
    then each district template over a seeded choice of 10 to 13 districts."""
    rng = random.Random(f"zhihui-demo-resources-{seed}")
    by_name = {o.name: o for o in orgs}
    contacts = _contacts(orgs)
    sequence: dict[str, int] = {}

    def next_code(t: Template, org: OrgSpec) -> str:
        classification = ("base" if t.theme in vocab.BASE_THEMES
                          else "topic" if t.theme in vocab.TOPIC_THEMES else "department")
        # The same classification code as catalog.service.classification_code.
        prefix = vocab.CLASSIFICATION_DIGIT[classification] + (t.theme or "00") + org.catalog_code
        sequence[prefix] = sequence.get(prefix, 0) + 1
        return f"{prefix}/{sequence[prefix]:06d}"

    plans = []
    for t in CITY_TEMPLATES:
        org = by_name[t.owner]
        plans.append(ResourcePlan(t.key, _resource(rng, t, org, contacts, next_code(t, org),
                                                   name=t.key, district=None)))
    for t in DISTRICT_TEMPLATES:
        chosen = sorted(rng.sample(range(len(DISTRICTS)), rng.randint(10, len(DISTRICTS))))
        for i in chosen:
            district = DISTRICTS[i]
            owner = (t.owner and district_department(district[0], t.owner)) or district[0]
            org = by_name[owner]
            plans.append(ResourcePlan(t.key, _resource(
                rng, t, org, contacts, next_code(t, org),
                name=f"{district[0]}-{t.key}", district=district)))
    return plans
