"""The demo city's tables (issue 3; personal data for issue 5): generated, realistic Hangzhou
data for about seventy catalogue resources, written as the files departments actually send
(UTF-8 CSV, GBK CSV with a title row, XLSX with a title row, NDJSON) and loaded through the
datastore's one ``versions.ingest`` by the owning organisation's editor, so the demo takes the
same path as users (Art. 14, 46: the platform holds the data itself, not just its description).

Pure until ``load_tables``: ``build_tables(plan, seed)`` makes every table and file from the
seed alone, so the same seed gives byte-identical files. Columns are the resource's data items
(信息项) in catalogue order; a few tables add columns, and the ingest then updates the
resource's data items, as it does for a department's file.

``PERSONAL_TABLES`` names the resources whose tables hold personal information (fictional
people: see ``values.py``): 个体工商户登记, 养老服务人员, 行政处罚决定. They are set to
有条件共享 / 有条件开放 before their data is loaded; the privacy module protects them with
de-identification policies (Art. 48, 50; PIPL Art. 28)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.catalog.schemas import DistributionIn
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import User
from zhihui.core.authz import SYSTEM, Actor, can
from zhihui.datastore import versions
from zhihui.demo.city import (
    DEPARTMENTS,
    DISTRICT_DEPARTMENTS,
    DISTRICTS,
    STAFFED_ORGS,
    OrgSpec,
)
from zhihui.demo.generators import ELDERLY_WORKERS, SPECS, Cell, Ctx
from zhihui.demo.resources import ResourcePlan, parse_items
from zhihui.demo.values import AS_OF, DISTRICT_BY_NAME, Values

# Resources whose tables hold personal information (resource names).
PERSONAL_TABLES = ("individual-business", "elderly-care-workers", "admin-penalties")
# Until a de-identification policy covers their personal columns (the privacy module decides
# the final types): shared and opened only under conditions.
PERSONAL_TYPES = {
    "sharing_type": "conditional",
    "sharing_conditions": "含个人信息，仅向承担相关监管职责的部门共享，"
                          "使用部门须签订数据安全承诺书，按最小必要原则使用。",
    "opening_type": "conditional",
    "opening_conditions": "含个人信息，须经脱敏处理后按申请开放；"
                          "申请人须签署《杭州市公共数据开放利用协议》，不得尝试重新识别个人。",
}
XLSX_STAMP = (2026, 10, 31, 18, 0, 0)  # fixed zip and document times: identical bytes

FORMATS = {  # file format -> (extension, distribution format label, mimetype)
    "csv": ("csv", "CSV", "text/csv"),
    "gbk": ("csv", "CSV", "text/csv"),
    "xlsx": ("xlsx", "XLSX",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ndjson": ("ndjson", "JSON", "application/x-ndjson"),
}

@dataclass(frozen=True)
class DemoTable:
    """One generated table and the file it is sent as."""

    resource: str  # resource name
    title: str
    owner: str  # organisation name
    fmt: str
    columns: list[str]
    rows: list[list[Cell]] = field(repr=False)

    @property
    def filename(self) -> str:
        return f"{self.title}.{FORMATS[self.fmt][0]}"

    def content(self) -> bytes:
        return render(self)


def personal_resources(orgs: list[OrgSpec], plans: list[ResourcePlan]) -> list[ResourcePlan]:
    """Catalogue entries the personal tables need that the templates do not have: today
    养老服务人员信息, owned by 市民政局, 有条件共享 / 有条件开放 (``PERSONAL_TYPES``)."""
    from zhihui.catalog import vocab

    by_name = {o.name: o for o in orgs}
    w = ELDERLY_WORKERS
    org = by_name[str(w["owner_org"])]
    prefix = vocab.CLASSIFICATION_DIGIT[str(w["classification"])] + str(w["theme"]) \
        + org.catalog_code
    taken = sum(1 for p in plans if p.data["resource_code"].startswith(prefix + "/"))
    contact = next(p.data for p in plans if p.data["owner_org"] == org.name)
    data = {k: val for k, val in w.items() if k != "items"}
    data.update({
        "resource_code": f"{prefix}/{taken + 1:06d}",
        "data_items": parse_items(str(w["items"]), str(w["title"])),
        **PERSONAL_TYPES,
        "sharing_legal_basis": "", "sharing_method": "api", "opening_legal_basis": "",
        "temporal_end": None,
        "contact_name": contact["contact_name"], "contact_phone": contact["contact_phone"],
        "contact_email": contact["contact_email"],
        "distributions": [{
            "name": f"{w['title']}.xlsx", "description": "最新全量数据。", "kind": "file",
            "url": f"https://share.hangzhou.gov.cn/files/{prefix}-{taken + 1:06d}.xlsx",
            "format": "XLSX", "mimetype": FORMATS["xlsx"][2]}],
    })
    return [ResourcePlan("elderly-care-workers", data)]


# --- building the tables -------------------------------------------------------------------


def build_tables(plans: list[ResourcePlan], seed: int = 2015) -> list[DemoTable]:
    """Every demo table, in loading order, from the catalogue plan and the seed alone."""
    city = {p.data["name"]: p for p in plans}
    out = []
    for spec in SPECS:
        if spec.scope == "city":
            chosen = [city[spec.key]] if spec.key in city else []
        else:
            chosen = [p for p in plans if p.template == spec.key and p.data["name"] != spec.key]
        for p in chosen:
            d = p.data
            place = d["spatial"].removeprefix("杭州市")
            ctx = Ctx(d["name"], d["title"], [i["name"] for i in d["data_items"]],
                      d["owner_org"], DISTRICT_BY_NAME.get(place))
            values = Values(f"zhihui-demo-table-{seed}-{d['name']}")
            columns, rows = spec.make(values, ctx)
            out.append(DemoTable(d["name"], d["title"], d["owner_org"], spec.fmt, columns, rows))
    return out


# --- files as departments send them --------------------------------------------------------


def _text(value: Cell, fmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        # GBK files come from older desktop exports: 2026/5/1
        return f"{value.year}/{value.month}/{value.day}" if fmt == "gbk" else value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


def _title_rows(t: DemoTable) -> list[str]:
    return [f"{t.title}（数据截至{AS_OF.year}年{AS_OF.month}月{AS_OF.day}日）",
            f"填报单位：{_OWNER_TITLES.get(t.owner, t.owner)}"]


_OWNER_TITLES = {
    **{slug: title for slug, title, _en, _short in DEPARTMENTS},
    **{slug: f"{short}人民政府" for slug, short, _en, _code in DISTRICTS},
    **{f"{district}_{area}": title for district, area, title, _en in DISTRICT_DEPARTMENTS},
}


def render(t: DemoTable) -> bytes:
    """The file's bytes; the same table gives the same bytes."""
    if t.fmt in ("csv", "gbk"):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        if t.fmt == "gbk":
            for line in _title_rows(t):
                writer.writerow([line])
        writer.writerow(t.columns)
        writer.writerows([_text(c, t.fmt) for c in row] for row in t.rows)
        return buf.getvalue().encode("gbk" if t.fmt == "gbk" else "utf-8")
    if t.fmt == "ndjson":
        lines = (json.dumps({k: _json(c) for k, c in zip(t.columns, row, strict=True)},
                            ensure_ascii=False) for row in t.rows)
        return ("\n".join(lines) + "\n").encode("utf-8")
    return _xlsx(t)


def _json(value: Cell) -> Any:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _xlsx(t: DemoTable) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(t.title[:31])
    ws.append([_title_rows(t)[0]])
    ws.append(t.columns)
    for row in t.rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue())


_DOC_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _stable_zip(data: bytes) -> bytes:
    """The same workbook as identical bytes: openpyxl stamps the save time into the document
    properties and every zip entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _DOC_TIME.sub(rb"\g<1>2026-10-31T10:00:00Z\g<2>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=XLSX_STAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()


def table_files(tables: Iterable[DemoTable], folder: Path) -> list[Path]:
    """Write every table's file into ``folder`` (for a look at what departments send)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        path = folder / f"{t.resource}.{FORMATS[t.fmt][0]}"
        path.write_bytes(t.content())
        paths.append(path)
    return paths


# --- loading: the departments send their files ----------------------------------------------


@dataclass(frozen=True)
class LoadedTable:
    resource: str
    distribution_id: str
    version: int
    rows: int
    fmt: str


def load_tables(session: Session, tables: Iterable[DemoTable], *, data_root: Path
                ) -> list[LoadedTable]:
    """Send every table as its owning organisation's editor would (the platform itself where
    the demo has no editor there): through ``versions.ingest`` into the resource's file
    distribution of that format, or a new one. Personal tables get ``PERSONAL_TYPES`` first,
    so their data is never published under unconditional types. Joins the caller's
    transaction; every step is audited by the services."""
    editors = _editors(session)
    out = []
    for t in tables:
        r = catalog.get_resource(session, SYSTEM, t.resource)
        editor = editors.get(t.owner)
        actor = editor if editor is not None and can(editor, "resource.update", r) else SYSTEM
        if t.resource in PERSONAL_TABLES:
            _protect(session, actor, r)
        dist_id = _distribution(session, actor, r, t)
        version = versions.ingest(session, actor, dist_id, io.BytesIO(t.content()), t.filename,
                                  data_root=data_root)
        out.append(LoadedTable(t.resource, dist_id, version.number, version.rows, t.fmt))
    return out


def _editors(session: Session) -> dict[str, Actor]:
    out = {}
    for org, _label in STAFFED_ORGS:
        user = session.scalar(select(User).where(User.name == f"{org}_editor"))
        if user is not None:
            out[org] = accounts.actor_for(session, user)
    return out


def _protect(session: Session, actor: Actor, r: Resource) -> None:
    changes = {k: v for k, v in PERSONAL_TYPES.items() if getattr(r, k) != v}
    if changes:
        catalog.patch_resource(session, actor, r.id, changes)


def _distribution(session: Session, actor: Actor, r: Resource, t: DemoTable) -> str:
    """The resource's file distribution in the table's format not yet holding data, or a
    new one (API and map resources have none: the data behind them is published too)."""
    ext, label, mimetype = FORMATS[t.fmt]
    for d in r.distributions:
        if d.kind == "file" and d.format == label and not d.datastore_active:
            return d.id
    d = catalog.add_distribution(session, actor, r.id, DistributionIn(
        name=t.filename, description="全量数据。", kind="file", format=label, mimetype=mimetype))
    return d.id
