"""The demo's credit sources for the one-enterprise profile (Art. 40-41): the same enterprises,
by unified social credit code, in several departments' data.

The registry (市场监管, ``enterprise-registry``, loaded by demo/tables.py) names the firms; this
module adds four small tables keyed by some of the same codes, from the departments Art. 40
lists as credit providers: 税务 credit ratings, 人社 social insurance payments, 生态环境
penalties and the intermediate court's judgments (an organisation the demo city lacks, made
here). Their types differ, so a profile shows what a viewer may read and what not:

| resource | sharing | opening |
| --- | --- | --- |
| tax-credit-ratings (swj) | unconditional | conditional (usage agreement) |
| employer-social-insurance (rsj) | conditional | none |
| environmental-penalties (hbj) | unconditional | unconditional (penalties are published) |
| court-judgments (court) | conditional | conditional (usage agreement) |

Everything goes through the services (catalogue, ``versions.ingest``, agreements), audited."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import DistributionIn, ResourceIn
from zhihui.core.accounts import service as accounts
from zhihui.core.authz import SYSTEM
from zhihui.core.errors import NotFound
from zhihui.datastore import query, versions
from zhihui.datastore import service as datastore
from zhihui.exchange import applications

REGISTRY = "enterprise-registry"
FIRMS = 300  # enterprises taken from the registry; each source covers a seeded share of them
COURT = ("hzzy", "杭州市中级人民法院", "Hangzhou Intermediate People's Court", "900")
AGREEMENT = ("第一条 数据仅用于申请书载明的用途和场景，不得超出范围使用。\n"
             "第二条 不得向第三方提供、转售或公开原始数据，不得尝试识别特定个人。\n"
             "第三条 落实访问控制、日志留存等安全保障措施，发生数据安全事件应立即告知提供部门。\n"
             "第四条 授权到期或被吊销后应删除已获取的数据。")
CONDITIONS = "使用部门须说明履职用途并经提供部门审核同意，按最小必要原则使用。"
OPEN_CONDITIONS = "申请人须签署数据使用协议，说明用途和安全保障措施，经审核后以接口方式使用。"


def _firms(session: Session, data_root: Path) -> list[tuple[str, str]]:
    """(name, code) of the registry's first enterprises, read through the datastore."""
    r = catalog.get_resource(session, SYSTEM, REGISTRY)
    dist = next((d for d in r.distributions if d.datastore_active), None)
    if dist is None:
        return []
    out = datastore.search(session, SYSTEM, dist.id, query.Search(
        fields=["企业名称", "统一社会信用代码"], limit=FIRMS, include_total=False),
        data_root=data_root)
    return [(str(x["企业名称"]), str(x["统一社会信用代码"])) for x in out["records"]
            if x.get("统一社会信用代码")]


def _pick(rng: random.Random, firms: list[tuple[str, str]], share: float
          ) -> list[tuple[str, str]]:
    return [f for f in firms if rng.random() < share]


def _day(rng: random.Random, first: date, last: date) -> str:
    return (first + timedelta(days=rng.randint(0, (last - first).days))).isoformat()


def tax_ratings(rng: random.Random, firms: list[tuple[str, str]]) -> list[list[Any]]:
    grades = (("A", 25), ("B", 50), ("M", 12), ("C", 9), ("D", 4))
    return [[code, name, year, rng.choices([g for g, _ in grades], [w for _, w in grades])[0]]
            for name, code in _pick(rng, firms, 0.8) for year in ("2024", "2025")]


def social_insurance(rng: random.Random, firms: list[tuple[str, str]]) -> list[list[Any]]:
    rows = []
    for name, code in _pick(rng, firms, 0.7):
        staff = rng.choice((3, 8, 15, 30, 60, 120, 400))
        owed = rng.choice((0,) * 9 + (round(staff * rng.uniform(800, 3000), 2),))
        rows.append([code, name, staff, "正常缴费" if not owed else "欠费", owed, "2026-09"])
    return rows


def penalties(rng: random.Random, firms: list[tuple[str, str]]) -> list[list[Any]]:
    acts = ("超标排放大气污染物", "未按规定设置危险废物识别标志", "未批先建",
            "未按排污许可证规定申报", "违规处置一般工业固体废物")
    rows = []
    for i, (name, code) in enumerate(_pick(rng, firms, 0.12), start=1):
        day = _day(rng, date(2024, 1, 1), date(2026, 9, 30))
        rows.append([f"杭环罚〔{day[:4]}〕{i:03d}号", name, code, rng.choice(acts),
                     rng.choice(("罚款", "罚款、责令改正", "警告、责令改正")),
                     rng.choice((0, 20000, 50000, 100000, 200000)), day])
    return rows


def judgments(rng: random.Random, firms: list[tuple[str, str]]) -> list[list[Any]]:
    causes = ("买卖合同纠纷", "劳动争议", "借款合同纠纷", "建设工程施工合同纠纷",
              "知识产权侵权纠纷")
    rows = []
    for i, (name, code) in enumerate(_pick(rng, firms, 0.15), start=1):
        day = _day(rng, date(2023, 1, 1), date(2026, 9, 30))
        rows.append([f"（{day[:4]}）浙01民初{1000 + i}号", name, code, rng.choice(causes),
                     rng.choice(("原告", "被告")),
                     rng.choice(("判决支持诉讼请求", "部分支持", "驳回诉讼请求", "调解结案")),
                     day])
    return rows


SOURCES: tuple[dict[str, Any], ...] = (
    {"name": "tax-credit-ratings", "owner": "swj", "title": "纳税信用评价结果",
     "title_en": "Tax credit ratings", "theme": "04", "make": tax_ratings,
     "items": "统一社会信用代码:C:18|纳税人名称:C:200|评价年度:C:4|信用级别:C:2",
     "abstract": "企业纳税信用年度评价级别（A、B、M、C、D），供信用联合奖惩使用。",
     "sharing": "unconditional", "opening": "conditional"},
    {"name": "employer-social-insurance", "owner": "rsj", "title": "用人单位社会保险缴费情况",
     "title_en": "Employers' social insurance payments", "theme": "04",
     "make": social_insurance,
     "items": "统一社会信用代码:C:18|单位名称:C:200|参保人数:I:8|缴费状态:C:10|"
              "欠费金额:Y:14:元|所属期:C:7",
     "abstract": "用人单位参保人数、缴费状态和欠费金额（按月）。",
     "sharing": "conditional", "opening": "none",
     "opening_legal_basis": "《中华人民共和国社会保险法》第八十一条：社会保险信息依法保密"},
    {"name": "environmental-penalties", "owner": "hbj", "title": "生态环境行政处罚信息",
     "title_en": "Environmental penalties", "theme": "04", "make": penalties,
     "items": "决定书文号:C:50|当事人名称:C:200|统一社会信用代码:C:18|违法行为:C:200|"
              "处罚种类:C:50|罚款金额:Y:14:元|决定日期:D::",
     "abstract": "生态环境部门作出的行政处罚决定，依法公示。",
     "sharing": "unconditional", "opening": "unconditional"},
    {"name": "court-judgments", "owner": COURT[0], "title": "涉企民商事裁判信息",
     "title_en": "Court judgments involving enterprises", "theme": "04", "make": judgments,
     "items": "案号:C:50|当事人名称:C:200|统一社会信用代码:C:18|案由:C:100|诉讼地位:C:10|"
              "裁判结果:C:100|裁判日期:D::",
     "abstract": "本院审结的涉企民商事案件的案号、案由、当事人诉讼地位和裁判结果。",
     "sharing": "conditional", "opening": "conditional"},
)


def _items(spec: str) -> list[dict[str, Any]]:
    out = []
    for part in spec.split("|"):
        name, kind, length, *unit = part.split(":") + [""]
        item: dict[str, Any] = {"name": name, "type": kind}
        if length:
            item["length"] = int(length)
        if unit and unit[0]:
            item["description"] = f"单位：{unit[0]}"
        out.append(item)
    return out


def _resource_data(spec: dict[str, Any], org_id: str) -> dict[str, Any]:
    sharing, opening = spec["sharing"], spec["opening"]
    return {
        "name": spec["name"], "title": spec["title"], "title_en": spec["title_en"],
        "owner_org": org_id, "abstract": spec["abstract"], "classification": "base",
        "theme": spec["theme"], "format": "database", "data_items": _items(spec["items"]),
        "sharing_type": sharing, "sharing_method": "api",
        "sharing_conditions": CONDITIONS if sharing == "conditional" else "",
        "opening_type": opening,
        "opening_conditions": OPEN_CONDITIONS if opening == "conditional" else "",
        "opening_legal_basis": spec.get("opening_legal_basis", ""),
        "update_cycle": "monthly", "published": "2026-10-01",
        "contact_name": "数据管理科", "contact_phone": "0571-85250000",
        "contact_email": "data@hangzhou.gov.cn",
        "license_id": "hz-open-data" if opening != "none" else "",
        "spatial": "杭州市", "tags": ["信用", "企业", "一企一档"],
    }


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def load_credit_sources(session: Session, data_root: Path, seed: int = 2015) -> int:
    """Make the four credit sources from the registry's enterprises; the rows loaded (0 when
    the registry has no data, e.g. a demo without tables)."""
    firms = _firms(session, data_root)
    if not firms:
        return 0
    rng = random.Random(f"zhihui-demo-exchange-{seed}")
    try:
        accounts.get_org(session, COURT[0])
    except NotFound:  # the demo city has no court yet
        city = accounts.get_org(session, "hangzhou")
        accounts.create_org(session, SYSTEM, name=COURT[0], title=COURT[1], title_en=COURT[2],
                            kind="department", catalog_code=COURT[3], parent=city.id,
                            description="杭州市中级人民法院，向公共信用信息平台提供涉企裁判信息。")
    total = 0
    for spec in SOURCES:
        org = accounts.get_org(session, spec["owner"])
        r = catalog.create_resource(session, SYSTEM,
                                    ResourceIn.model_validate(_resource_data(spec, org.id)))
        d = catalog.add_distribution(session, SYSTEM, r.id, DistributionIn(
            name=f"{spec['title']}.csv", description="全量数据。", kind="file", format="CSV",
            mimetype="text/csv"))
        rows = spec["make"](rng, firms)
        header = [i["name"] for i in _items(spec["items"])]
        version = versions.ingest(session, SYSTEM, d.id, io.BytesIO(_csv(header, rows)),
                                  f"{spec['name']}.csv", data_root=data_root)
        total += version.rows
        if spec["opening"] == "conditional":
            applications.publish_agreement(session, SYSTEM, r.id, AGREEMENT)
    return total
