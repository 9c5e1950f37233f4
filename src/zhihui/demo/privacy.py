"""The demo's personal data, protected: after the tables are loaded, every resource whose
data holds personal information (detected on ingest) gets a de-identification policy made
from what was detected, and impact assessments for the ways it is shared and opened (PIPL
Art. 55-56). Then the three personal tables of ``tables.PERSONAL_TABLES`` become what the
issue asks for: opened and shared resources holding personal information, protected — the
penalty decisions and individual businesses opened unconditionally (both are published by
law: 行政处罚决定 and 个体工商户 registrations are public records), the elderly-care workers
shared and opened under conditions. Runs as the platform itself (SYSTEM), audited.

Then a few Art. 50 requests to correct or delete (``demo_requests``), filed and answered
through the request service as citizens and departments would: one awaiting an answer, one
accepted with a corrected version published, one refused with its reasons, and one left
unanswered past its deadline and escalated to the operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation, User
from zhihui.core.authz import ANONYMOUS, SYSTEM, Actor, can
from zhihui.core.workflow import service as workflow
from zhihui.datastore import query
from zhihui.datastore import service as datastore
from zhihui.db import utcnow
from zhihui.privacy import detect as d
from zhihui.privacy import service as privacy
from zhihui.privacy.requests import service as requests
from zhihui.privacy.requests.schemas import RequestIn
from zhihui.privacy.schemas import AssessmentIn, ColumnIn, PolicyIn, RuleIn

# How the demo protects each detected type: identifiers masked as on receipts, names replaced
# by stable pseudonyms, accounts and precise positions left out, addresses cut to the district.
RULE_FOR_TYPE: dict[str, dict[str, str]] = {
    d.RESIDENT_ID: {"method": "mask"}, d.MOBILE: {"method": "mask"},
    d.FIXED_LINE: {"method": "mask"}, d.EMAIL: {"method": "mask"},
    d.PASSPORT: {"method": "mask"}, d.TRAVEL_PERMIT: {"method": "mask"},
    d.VEHICLE_PLATE: {"method": "mask"}, d.IP_ADDRESS: {"method": "mask"},
    d.USCC: {"method": "mask"}, d.PERSON_NAME: {"method": "pseudonym"},
    d.BANK_CARD: {"method": "suppress"}, d.COORDINATES: {"method": "suppress"},
    d.ADDRESS: {"method": "generalise", "to": "district"},
}
# An editor's corrections, as the 市场监管局 would make them on the privacy page: the party's
# name holds individuals' names among companies' (its header reads as a name of a thing), and
# the party's category (个人/法人) is not a name. (resource, column) -> (type, personal)
CORRECTIONS: dict[tuple[str, str], tuple[str | None, bool]] = {
    ("admin-penalties", "当事人名称"): (d.PERSON_NAME, True),
    ("admin-penalties", "当事人类别"): (None, False),
}
# Rules other than the type's default: a party that is a company keeps a readable first
# character, a person is reduced to the surname.
OVERRIDES: dict[tuple[str, str], dict[str, str | int]] = {
    ("admin-penalties", "当事人名称"): {"method": "mask", "keep_start": 1, "keep_end": 0},
}
BIRTH_WORDS = ("出生", "birth")
OPENED = {"individual-business", "admin-penalties"}  # public records by law
APPROVER = "市大数据管理局数据安全负责人"
APPROVED_ON = date(2026, 10, 30)


def _template(name: str) -> str:
    """The template key of a demo resource (district copies are named <district>-<key>)."""
    return next((key for key, _ in CORRECTIONS if name == key or name.endswith("-" + key)),
                name)


def policy_for(name: str, columns: list[privacy.ColumnClassification], types: dict[str, str]
               ) -> PolicyIn:
    """A policy from detection: a rule for every personal column; birth dates to the year."""
    rules = []
    for c in columns:
        if c.personal:
            rule = OVERRIDES.get((_template(name), c.column)) or RULE_FOR_TYPE.get(
                c.kind or "", {"method": "mask"})
            rules.append(RuleIn(column=c.column, **rule))
        elif any(w in c.column.lower() for w in BIRTH_WORDS) and types.get(c.column) in (
                "date", "datetime", "text"):
            rules.append(RuleIn(column=c.column, method="generalise", to="year"))
    return PolicyIn(rules=rules)


def protect_demo(session: Session, data_root: Path) -> list[str]:
    """Policies and assessments for every demo resource holding personal information; the
    names of the resources protected."""
    protected = []
    for r in session.scalars(select(Resource).where(Resource.personal != "none")
                             .order_by(Resource.name)):
        columns, types = [], {}
        for v in privacy.current_versions(session, r.id):
            for c in privacy.classifications(session, v, data_root):
                fix = CORRECTIONS.get((_template(r.name), c.column))
                if fix is not None:
                    c = privacy.confirm_column(session, SYSTEM, r.id, ColumnIn(
                        distribution_id=v.distribution_id, column=c.column, type=fix[0],
                        personal=fix[1]), data_root=data_root)
                columns.append(c)
            types.update({c["id"]: c["type"] for c in v.columns})
        if not any(c.personal for c in columns):
            continue
        privacy.set_policy(session, SYSTEM, r.id, policy_for(r.name, columns, types),
                           data_root=data_root)
        opened = any(r.name == key or r.name.endswith("-" + key) for key in OPENED)
        use = {"opening": "依法向社会公开", "sharing": "政务部门履职共享"}
        for scope in ("sharing", "opening"):
            if getattr(r, f"{scope}_type") == "none" and not (opened and scope == "opening"):
                continue
            privacy.record_assessment(session, SYSTEM, r.id, AssessmentIn(
                scope=scope,
                purpose=f"{r.title}：{use[scope]}",
                recipients="社会公众" if scope == "opening" else "承担相关职责的政务部门",
                risks="直接标识符泄露；与其他公开数据关联后重新识别个人",
                measures="身份证号、电话掩码，姓名假名化，银行卡号删除，地址泛化到区县；"
                         "非提供部门只能读取脱敏副本，每次读取记入审计日志",
                approved_by=APPROVER, approved_on=APPROVED_ON), data_root=data_root)
        if opened:
            catalog.patch_resource(session, SYSTEM, r.id, {
                "opening_type": "unconditional", "opening_conditions": "",
                "sharing_type": "unconditional", "sharing_conditions": "",
                "sharing_method": r.sharing_method or "api",
                "license_id": r.license_id or "hz-open-data"})
        protected.append(r.name)
    demo_requests(session, data_root)
    return protected


# --- Art. 50 requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRequest:
    """One request of the demo: against which resource, the record's row (in ``_id`` order,
    as the filer sees it) and the columns that find it, who files it, what they ask, when
    (days before the load), and how the department answers (``None``: not yet)."""

    resource: str
    row: int
    locator: tuple[str, ...]
    contact_name: str
    contact_phone: str
    what_is_wrong: str
    corrections: dict[str, str]
    filed_days_ago: int
    decision: str | None = None
    comment: str = ""
    decided_days_ago: int = 0


DEMO_REQUESTS = (
    # a company moved: waiting for 市场监管 to check the new address (filed two days ago)
    DemoRequest("enterprise-registry", 17, ("统一社会信用代码",), "陈静（企业经办人）",
                "13905711234", "企业已于今年迁址，登记状态仍显示旧的经营情况，注册资本也已增资",
                {"注册资本": "2000"}, filed_days_ago=2),
    # an individual business's keeper: the trade on record is wrong; accepted, corrected
    DemoRequest("individual-business", 41, ("名称", "成立日期"), "个体户经营者（本人）",
                "13757112468", "营业执照上的组成形式是家庭经营，平台数据写成了个人经营",
                {"组成形式": "家庭经营"}, filed_days_ago=20, decision="accept",
                comment="经核对登记档案，组成形式确为家庭经营，已更正并发布新版本。",
                decided_days_ago=12),
    # a penalised business asks for its decision to be taken down: refused, with reasons
    DemoRequest("admin-penalties", 9, ("决定书文号",), "当事人委托代理人",
                "15858123579", "已按要求整改并缴纳罚款，请删除这条处罚信息", {},
                filed_days_ago=30, decision="refuse",
                comment="该行政处罚决定依法应当公示，整改完成和缴纳罚款不改变处罚决定本身的"
                        "真实性，不属于《杭州市智慧经济促进条例》第五十条规定的不实信息；"
                        "公示期满后将依法停止公示，您也可以依法申请信用修复。",
                decided_days_ago=21),
    # a company that filed its annual report asks to leave the abnormal-operation list; no
    # answer within 15 working days, so it is overdue and escalated to the operator
    DemoRequest("abnormal-operation", 5, ("统一社会信用代码",), "企业法定代表人",
                "13616549870", "本企业已补报并公示年度报告，应移出经营异常名录，请删除该记录",
                {}, filed_days_ago=45),
)


def _record(session: Session, resource_id: str, row: int, data_root: Path
            ) -> tuple[str, dict[str, Any]]:
    """The distribution and the ``row``-th record (in ``_id`` order) as anyone sees it."""
    r = catalog.get_resource(session, ANONYMOUS, resource_id)
    dist = next(d for d in r.distributions if d.kind == "file" and d.datastore_active)
    out = datastore.search(session, ANONYMOUS, dist.id, query.Search(
        limit=1, offset=row, sort="_id asc"), data_root=data_root)
    return dist.id, out["records"][0]


def _answerer(session: Session, org_id: str, resource: Resource) -> Actor:
    """The owning department's editor, as in demo/tables.py; the operator where it has none."""
    org = session.get(Organisation, org_id)
    user = session.scalar(select(User).where(User.name == f"{org.name}_editor")) if org else None
    actor = accounts.actor_for(session, user) if user is not None else SYSTEM
    return actor if can(actor, "resource.update", resource) else SYSTEM


def demo_requests(session: Session, data_root: Path, now: datetime | None = None
                  ) -> list[str]:
    """File and answer ``DEMO_REQUESTS`` through the request service (each step audited, the
    acceptance publishing a corrected version), then escalate what is overdue as the deadline
    checker would. Dates count back from ``now``; the records and texts are always the same.
    Returns the requests' ids. Skips a resource the demo did not load."""
    now = now or utcnow()
    ids = []
    for spec in DEMO_REQUESTS:
        r = session.scalar(select(Resource).where(Resource.name == spec.resource))
        if r is None:
            continue
        dist, record = _record(session, r.id, spec.row, data_root)
        filed = now - timedelta(days=spec.filed_days_ago)
        req, case = requests.file_request(session, ANONYMOUS, RequestIn(
            distribution_id=dist, contact_name=spec.contact_name,
            contact_phone=spec.contact_phone,
            locator={c: str(record[c]) for c in spec.locator},
            kind="correct" if spec.corrections else "delete",
            what_is_wrong=spec.what_is_wrong, corrections=spec.corrections),
            data_root=data_root, secret="demo", now=filed)
        if spec.decision is not None:
            requests.decide(session, _answerer(session, req.org_id, r), req.id, spec.decision,
                            comment=spec.comment, data_root=data_root,
                            now=now - timedelta(days=spec.decided_days_ago))
        ids.append(req.id)
    workflow.escalate(session, now)
    return ids
