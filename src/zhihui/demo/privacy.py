"""The demo's personal data, protected: after the tables are loaded, every resource whose
data holds personal information (detected on ingest) gets a de-identification policy made
from what was detected, and impact assessments for the ways it is shared and opened (PIPL
Art. 55-56). Then the three personal tables of ``tables.PERSONAL_TABLES`` become what the
issue asks for: opened and shared resources holding personal information, protected — the
penalty decisions and individual businesses opened unconditionally (both are published by
law: 行政处罚决定 and 个体工商户 registrations are public records), the elderly-care workers
shared and opened under conditions. Runs as the platform itself (SYSTEM), audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.core.authz import SYSTEM
from zhihui.privacy import detect as d
from zhihui.privacy import service as privacy
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
    return protected
