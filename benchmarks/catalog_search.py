"""Catalogue figures of issue 2: search, show and create on a generated catalogue.

    .venv/bin/python benchmarks/catalog_search.py [--resources 100000] [--quick]

Builds a Hangzhou-like catalogue (the city, 13 districts and counties, 20 departments;
realistic Chinese titles, abstracts, tags, data items; every sharing and opening type) in a
temporary ZHIHUI_HOME on SQLite (or in ``--database-url``), then prints side by side:

1. package_search p50/p95, in process (CKAN ``package_search`` action over
   ``catalog.service.search``; the service call alone beside it), for Chinese, synonym,
   pinyin and faceted queries: the median of ``--runs`` runs each, a fresh session per run.
2. package_show and package_search over HTTP against ``zhihui serve --workers 2``: median
   latency of one client, then requests per second with ``--threads`` client threads.
3. package_create (``catalog.service.create_resource`` and commit, one transaction each) on
   the full catalogue, beside CKAN 2.12's figures from the issue.

How the catalogue is written (printed with the figures): the first ``--service-batch``
resources go through ``catalog.service.create_resource`` in one transaction, which measures
its rate; the rest are written as rows in batches of 1000, indexed with the service's own
search document (``service._search_document`` -> ``search.document``) and
``search.index_resource``, without activity or audit entries (nothing searched reads them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from zhihui.catalog import facets, vocab
from zhihui.catalog import search as fts
from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource, ResourceFacet, ResourceTag
from zhihui.catalog.schemas import ResourceIn, SearchQuery
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import ANONYMOUS, SYSTEM
from zhihui.db import Database, upgrade

ROOT = Path(__file__).resolve().parents[1]

# CKAN 2.12 on this kind of machine (issue 2, "Figures").
CKAN = {"package_show_ms": 14.0, "package_show_rps": 110.0, "package_create_ms": 38.0}

# --- the generated city ----------------------------------------------------------------------

DEPARTMENTS = [
    # name, title, title_en, the themes it mostly provides
    ("jxj", "杭州市经济和信息化局", "Economy and Information Technology Bureau", ["10", "02"]),
    ("sjj", "杭州市数据资源管理局", "Data Resources Bureau", ["05", "04", "10"]),
    ("jtj", "杭州市交通运输局", "Transport Bureau", ["11"]),
    ("hbj", "杭州市生态环境局", "Ecology and Environment Bureau", ["12"]),
    ("scjgj", "杭州市市场监督管理局", "Market Regulation Bureau", ["21", "02", "04"]),
    ("wjw", "杭州市卫生健康委员会", "Health Commission", ["14"]),
    ("jyj", "杭州市教育局", "Education Bureau", ["13"]),
    ("gaj", "杭州市公安局", "Public Security Bureau", ["16", "01", "11"]),
    ("mzj", "杭州市民政局", "Civil Affairs Bureau", ["19", "25", "03"]),
    ("rsj", "杭州市人力资源和社会保障局", "Human Resources and Social Security Bureau", ["15"]),
    ("zjj", "杭州市住房和城乡建设局", "Housing and Urban-Rural Development Bureau", ["17"]),
    ("gzj", "杭州市规划和自然资源局", "Planning and Natural Resources Bureau", ["03", "17"]),
    ("wglyj", "杭州市文化广电旅游局", "Culture, Radio, TV and Tourism Bureau", ["18"]),
    ("nyncj", "杭州市农业农村局", "Agriculture and Rural Affairs Bureau", ["20"]),
    ("tjj", "杭州市统计局", "Statistics Bureau", ["10", "01"]),
    ("ybj", "杭州市医疗保障局", "Healthcare Security Bureau", ["14", "15"]),
    ("cgj", "杭州市城市管理局", "Urban Management Bureau", ["17", "26", "11"]),
    ("slj", "杭州市林业水利局", "Forestry and Water Resources Bureau", ["12", "03"]),
    ("yjglj", "杭州市应急管理局", "Emergency Management Bureau", ["27", "16"]),
    ("qxj", "杭州市气象局", "Meteorological Bureau", ["24"]),
]
DISTRICTS = [
    ("shangcheng", "上城区"), ("gongshu", "拱墅区"), ("xihu", "西湖区"), ("binjiang", "滨江区"),
    ("xiaoshan", "萧山区"), ("yuhang", "余杭区"), ("linping", "临平区"), ("qiantang", "钱塘区"),
    ("fuyang", "富阳区"), ("linan", "临安区"), ("tonglu", "桐庐县"), ("chunan", "淳安县"),
    ("jiande", "建德市"),
]

# Subjects of each theme (what a department of a Chinese city catalogues).
SUBJECTS: dict[str, list[str]] = {
    "01": ["户籍人口", "常住人口", "出生登记", "死亡登记", "流动人口居住登记"],
    "02": ["法人单位基本信息", "事业单位登记", "社会组织登记", "企业法人变更"],
    "03": ["地名地址", "土地利用现状", "基础地理信息", "不动产登记", "地质灾害隐患点"],
    "04": ["失信被执行人", "企业信用评价", "行政许可信用信息", "信用承诺"],
    "05": ["营业执照电子证照", "居民身份证电子证照", "不动产权证书", "结婚登记证电子证照"],
    "10": ["规模以上工业企业", "工业增加值", "数字经济核心产业", "高新技术企业",
           "固定资产投资", "统计年鉴"],
    "11": ["公共交通线路", "公交站点", "公交车辆实时定位", "道路交通流量", "城市交通拥堵指数",
           "停车场泊位", "出租车运营", "轨道交通客流", "交通违法", "道路交通事故",
           "公共自行车租赁点", "网约车平台", "道路运输企业", "客运站班次"],
    "12": ["空气质量监测站点", "空气质量日报", "水质自动监测", "重点排污单位", "噪声监测",
           "污染源在线监测", "饮用水水源地", "环境影响评价审批", "固体废物处置"],
    "13": ["中小学校名录", "幼儿园", "高等院校", "学区划分", "科技型中小企业", "专利授权"],
    "14": ["医疗机构名录", "医疗机构床位", "医保定点医疗机构", "医保定点药店",
           "基层医疗卫生机构", "疫苗接种点", "执业医师", "医疗保险参保"],
    "15": ["社会保险参保", "就业登记", "职业培训机构", "最低工资标准", "人才引进"],
    "16": ["消防设施", "应急避难场所", "治安卡口", "危险化学品企业"],
    "17": ["建设工程项目", "商品房预售许可", "保障性住房", "住房公积金缴存", "物业服务企业"],
    "18": ["A级旅游景区", "公共图书馆", "文化场馆", "星级饭店", "旅行社"],
    "19": ["最低生活保障", "特困人员供养", "临时救助", "养老机构"],
    "20": ["农产品价格", "家庭农场", "农民专业合作社", "耕地保护"],
    "21": ["企业登记注册", "个体工商户登记", "食品经营许可", "行政处罚", "特种设备"],
    "22": ["财政预算", "政府采购", "税收收入"],
    "23": ["信用修复", "守信激励名单"],
    "24": ["气象观测站", "天气预报", "降水量", "台风路径"],
    "25": ["社会团体", "民办非企业单位", "基金会"],
    "26": ["便民服务网点", "农贸市场", "公共厕所", "垃圾分类投放点"],
    "27": ["安全生产许可", "重大危险源", "生产安全事故"],
}
DEPARTMENT_SUBJECTS = ["政务服务事项", "行政许可事项", "权力清单", "办件统计", "信访件统计",
                       "政府信息公开", "执法检查记录"]
SUFFIXES = ["信息", "数据", "名录", "统计", "月度统计", "年度数据", "监测数据", "实时数据",
            "明细", "汇总"]
ITEMS_COMMON = [("名称", "C", 200), ("地址", "C", 200), ("行政区划代码", "C", 12),
                ("统计日期", "D", None), ("经度", "N", 12), ("纬度", "N", 12),
                ("联系电话", "C", 20), ("统一社会信用代码", "C", 18), ("更新时间", "T", None),
                ("备注", "M", None)]
ITEMS_THEME: dict[str, list[tuple[str, str, int | None]]] = {
    "11": [("线路名称", "C", 50), ("站点名称", "C", 100), ("车牌号码", "C", 10),
           ("车流量", "N", 10), ("平均车速", "N", 6), ("泊位数", "I", 6)],
    "12": [("监测站点", "C", 100), ("PM2.5浓度", "N", 8), ("PM10浓度", "N", 8),
           ("臭氧浓度", "N", 8), ("空气质量指数", "I", 4), ("水质类别", "C", 4)],
    "14": [("机构名称", "C", 200), ("机构类别", "C", 50), ("床位数", "I", 6),
           ("医保编码", "C", 20), ("诊疗科目", "C", 500)],
    "15": [("参保人数", "I", 10), ("缴费基数", "Y", 12), ("险种类型", "C", 20)],
    "21": [("企业名称", "C", 200), ("法定代表人", "C", 50), ("注册资本", "Y", 16),
           ("登记机关", "C", 100), ("成立日期", "D", None)],
}
TAGS_THEME: dict[str, list[str]] = {
    "01": ["人口", "户籍"], "02": ["法人", "企业"], "03": ["地理", "国土"],
    "04": ["信用", "失信"], "05": ["证照", "电子证照"], "10": ["经济", "工业", "数字经济"],
    "11": ["交通", "公共交通", "出行", "停车"], "12": ["环境", "空气质量", "水质", "生态"],
    "13": ["教育", "学校", "科技"], "14": ["医疗", "卫生", "医疗机构", "医疗保险"],
    "15": ["社会保险", "就业", "人才"], "16": ["公共安全", "应急"], "17": ["住房", "建设"],
    "18": ["文化", "旅游"], "19": ["救助", "民政", "养老"], "20": ["农业", "农村"],
    "21": ["市场监管", "企业", "食品安全"], "22": ["财政", "税务"], "23": ["信用"],
    "24": ["气象", "天气"], "25": ["社会组织"], "26": ["生活服务", "便民"],
    "27": ["安全生产"],
}
TAGS_COMMON = ["开放数据", "政务服务", "统计", "监测", "名录", "实时", "数字化改革",
               "城市大脑", "基层治理", "民生"]
CONDITIONS = ["仅用于本部门履职需要", "须签署数据使用协议", "仅限政务内网使用，不得转授权",
              "用于城市运行监测，按月申请"]
LEGAL_BASES = ["《中华人民共和国数据安全法》第二十一条",
               "《中华人民共和国个人信息保护法》第二十八条",
               "《中华人民共和国保守国家秘密法》", "《杭州市智慧经济促进条例》第四十八条"]


@dataclass
class Catalogue:
    """What the generator made: where it lives and what the benchmark asks for."""

    url: str
    home: Path
    resources: int = 0
    orgs: dict[str, str] = field(default_factory=dict)  # name -> id
    open_ids: list[str] = field(default_factory=list)  # a sample of public resource ids
    service_count: int = 0
    service_seconds: float = 0.0
    direct_count: int = 0
    direct_seconds: float = 0.0


def _orgs(db: Database) -> dict[str, str]:
    with db.session() as s:
        city = accounts.create_org(s, SYSTEM, name="hangzhou", title="杭州市人民政府",
                                   title_en="Hangzhou Municipal Government", kind="city",
                                   catalog_code="001")
        ids = {"hangzhou": city.id}
        for i, (name, title, title_en, _) in enumerate(DEPARTMENTS):
            ids[name] = accounts.create_org(
                s, SYSTEM, name=name, title=title, title_en=title_en, kind="department",
                catalog_code=f"{100 + i:03d}", parent=city.id).id
        for i, (name, title) in enumerate(DISTRICTS):
            ids[name] = accounts.create_org(
                s, SYSTEM, name=name, title=f"杭州市{title}人民政府", kind="district",
                catalog_code=f"{300 + i:03d}", parent=city.id).id
    return ids


def resource_inputs(rng: random.Random, orgs: dict[str, str], n: int) -> Iterator[dict[str, Any]]:
    """``n`` resource inputs that pass the catalogue's rules (ResourceIn shape)."""
    districts = [d for d, _ in DISTRICTS]
    district_titles = dict(DISTRICTS)
    theme_orgs: dict[str, list[str]] = {}
    for name, _, _, themes in DEPARTMENTS:
        for t in themes:
            theme_orgs.setdefault(t, []).append(name)
    cycles = list(vocab.UPDATE_CYCLES)
    formats = list(vocab.FORMATS)
    licences = list(vocab.LICENSES)
    for _ in range(n):
        roll = rng.random()
        if roll < 0.12:
            classification, theme = "base", rng.choice(list(vocab.BASE_THEMES))
        elif roll < 0.85:
            classification, theme = "topic", rng.choice(list(vocab.TOPIC_THEMES))
        else:
            classification, theme = "department", ""
        if classification == "department" or (theme in theme_orgs and rng.random() < 0.55):
            org = (rng.choice([d[0] for d in DEPARTMENTS]) if classification == "department"
                   else rng.choice(theme_orgs[theme]))
            place = "杭州市"
        else:
            org = rng.choice(districts)
            place = "杭州市" + district_titles[org]
        subject = rng.choice(SUBJECTS[theme] if theme else DEPARTMENT_SUBJECTS)
        year = rng.randint(2016, 2024)
        title = f"{place}{subject}{rng.choice(SUFFIXES)}"
        if rng.random() < 0.5:
            title += f"（{year}年）"
        items = rng.sample(ITEMS_COMMON, rng.randint(3, 6)) + rng.sample(
            ITEMS_THEME.get(theme, []), min(len(ITEMS_THEME.get(theme, [])), rng.randint(0, 3)))
        cycle = rng.choice(cycles)
        sharing = rng.choices(["unconditional", "conditional", "none"], [50, 35, 15])[0]
        opening = "none" if sharing == "none" else rng.choices(
            ["unconditional", "conditional", "none"], [45, 25, 30])[0]
        tags = list(dict.fromkeys(
            rng.sample(TAGS_THEME.get(theme, ["部门"]), min(2, len(TAGS_THEME.get(theme, ["x"]))))
            + rng.sample(TAGS_COMMON, rng.randint(0, 2))))
        item_names = "、".join(i[0] for i in items[:4])
        abstract = (
            f"{place}范围内{subject}的{rng.choice(SUFFIXES)}，包括{item_names}等信息项，"
            f"{vocab.label(vocab.UPDATE_CYCLES, cycle)}更新。数据来源于业务系统，"
            f"时间范围为{year}年至今。"
        )
        dists = []
        for k in range(rng.choice([0, 1, 1, 2, 3])):
            fmt = rng.choice(["CSV", "XLSX", "JSON", "API"])
            dists.append({
                "name": f"{subject}{fmt}", "kind": "api" if fmt == "API" else "file",
                "url": f"https://data.hangzhou.gov.cn/files/{rng.randrange(10**9)}.{fmt.lower()}",
                "format": fmt, "size": rng.randrange(1000, 10**8) if fmt != "API" else None,
                "description": f"第{k + 1}个分发",
            })
        yield {
            "title": title,
            "title_en": "",
            "owner_org": orgs[org],
            "abstract": abstract,
            "classification": classification,
            "theme": theme,
            "format": rng.choice(formats),
            "data_items": [{"name": nm, "type": tp, "length": ln} for nm, tp, ln in items],
            "sharing_type": sharing,
            "sharing_conditions": rng.choice(CONDITIONS) if sharing == "conditional" else "",
            "sharing_legal_basis": rng.choice(LEGAL_BASES) if sharing == "none" else "",
            "sharing_method": rng.choice(list(vocab.SHARING_METHODS)) if sharing != "none" else "",
            "opening_type": opening,
            "opening_conditions": rng.choice(CONDITIONS) if opening == "conditional" else "",
            "opening_legal_basis": rng.choice(LEGAL_BASES) if opening == "none" else "",
            "update_cycle": cycle,
            "published": date(year, rng.randint(1, 12), rng.randint(1, 28)),
            "contact_name": "数据管理科",
            "contact_phone": f"0571-{rng.randrange(10**7, 10**8)}",
            "contact_email": f"data@{org}.hangzhou.gov.cn",
            "license_id": rng.choice(licences) if opening != "none" else "",
            "spatial": place,
            "tags": tags,
            "distributions": dists,
        }


def _service_batch(db: Database, inputs: list[dict[str, Any]]) -> None:
    with db.session() as s:
        for data in inputs:
            catalog.create_resource(s, SYSTEM, ResourceIn(**data))


def _direct_batch(db: Database, inputs: list[dict[str, Any]], rng: random.Random) -> None:
    """Rows for resources, tags and distributions, and the service's search documents."""
    now = datetime.now(UTC)
    with db.session() as s:
        org_objs = {o.id: o for o in s.scalars(select(Organisation))}
        first_pk = (s.scalar(select(func.max(Resource.pk))) or 0) + 1
        seq: dict[str, int] = {}
        rows, tag_rows, dist_rows, facet_rows, docs = [], [], [], [], []
        for i, data in enumerate(inputs):
            pk = first_pk + i
            org = org_objs[data["owner_org"]]
            prefix = catalog.classification_code(data["classification"], data["theme"], org)
            if prefix not in seq:
                last = s.scalar(select(func.max(Resource.resource_code))
                                .where(Resource.resource_code.like(prefix + "/%")))
                seq[prefix] = int(last.rsplit("/", 1)[1]) if last else 0
            seq[prefix] += 1
            code = f"{prefix}/{seq[prefix]:06d}"
            when = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
            row = {k: v for k, v in data.items()
                   if k not in ("owner_org", "tags", "distributions")}
            rid = f"00000000-0000-4000-8000-{pk:012d}"
            row.update(pk=pk, id=rid, name=code.replace("/", "-"), resource_code=code,
                       owner_org_id=org.id, created=when, modified=when, revision=1,
                       deleted=False, views=rng.randrange(0, 5000), creator_id=SYSTEM.user_id,
                       temporal_start=None, temporal_end=None)
            rows.append(row)
            tag_rows += [{"resource_id": rid, "name": t} for t in data["tags"]]
            dist_rows += [{**d, "id": f"00000000-0000-4000-9000-{pk:08d}{n:04d}",
                           "resource_id": rid, "position": n, "url_type": "", "mimetype": "",
                           "hash": "", "datastore_active": False, "created": when,
                           "modified": when} for n, d in enumerate(data["distributions"])]
            facet_rows += [{"resource_pk": pk, "field": "tags", "value": t}
                           for t in dict.fromkeys(data["tags"])]
            facet_rows += [{"resource_pk": pk, "field": "res_format", "value": f}
                           for f in dict.fromkeys(d["format"].upper()
                                                  for d in data["distributions"] if d["format"])]
            # The same document the service indexes, built from a resource not in the session.
            transient = Resource(**{k: v for k, v in row.items() if k != "pk"})
            transient.tags = [ResourceTag(name=t) for t in data["tags"]]
            docs.append((pk, catalog._search_document(s, transient, org)))
        s.execute(insert(Resource.__table__), rows)
        if tag_rows:
            s.execute(insert(ResourceTag.__table__), tag_rows)
        if dist_rows:
            s.execute(insert(Distribution.__table__), dist_rows)
        if facet_rows:  # as catalog.service.facet_values writes them
            s.execute(insert(ResourceFacet.__table__), facet_rows)
        for pk, doc in docs:
            fts.index_resource(s, pk, doc)


def build_catalogue(
    url: str, home: Path, resources: int, *, service_batch: int = 1000, seed: int = 2015,
    log: Callable[[str], None] = print,
) -> Catalogue:
    """A migrated database at ``url`` holding the orgs and ``resources`` resources."""
    upgrade(url)
    db = Database(url)
    cat = Catalogue(url=url, home=home, orgs=_orgs(db))
    rng = random.Random(seed)
    inputs = resource_inputs(rng, cat.orgs, resources)
    first = [next(inputs) for _ in range(min(service_batch, resources))]
    t0 = time.perf_counter()
    _service_batch(db, first)
    cat.service_seconds = time.perf_counter() - t0
    cat.service_count = len(first)
    log(f"  {len(first)} resources through catalog.service.create_resource in one "
        f"transaction: {cat.service_seconds:.1f} s")
    t0 = time.perf_counter()
    done = len(first)
    while done < resources:
        batch = [next(inputs) for _ in range(min(1000, resources - done))]
        _direct_batch(db, batch, rng)
        done += len(batch)
        if done % 20000 == 0 or done == resources:
            log(f"  {done} resources ({time.perf_counter() - t0:.0f} s for the direct rows)")
    cat.direct_seconds = time.perf_counter() - t0
    cat.direct_count = resources - len(first)
    cat.resources = resources
    with db.session() as s:
        ids = list(s.scalars(select(Resource.id).where(Resource.opening_type != "none")
                             .order_by(Resource.pk)))
        cat.open_ids = random.Random(seed).sample(ids, min(1000, len(ids)))
        if not db.is_sqlite:
            from sqlalchemy import text

            # Rows written with their pk leave the sequence behind: the service's next one.
            s.execute(text("SELECT setval(pg_get_serial_sequence('resource', 'pk'), "
                           "(SELECT max(pk) FROM resource))"))
            s.execute(text("ANALYZE"))
    if db.is_sqlite:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    db.engine.dispose()
    return cat


def existing_catalogue(url: str, home: Path) -> Catalogue | None:
    """The catalogue an earlier run built at ``url`` (``--home``), or None."""
    try:
        upgrade(url)
    except Exception:  # noqa: BLE001 - not a zhihui database: build one
        return None
    db = Database(url)
    try:
        with db.session() as s:
            count = s.scalar(select(func.count()).select_from(Resource)) or 0
            if not count:
                return None
            orgs = {o.name: o.id for o in s.scalars(select(Organisation))}
            ids = list(s.scalars(select(Resource.id).where(Resource.opening_type != "none")
                                 .order_by(Resource.pk)))
    except Exception:  # noqa: BLE001 - no schema yet: build it
        return None
    finally:
        db.engine.dispose()
    print(f"  measuring the {count:,} resources already in {home}")
    return Catalogue(url=url, home=home, resources=count, orgs=orgs,
                     open_ids=random.Random(2015).sample(ids, min(1000, len(ids))))


# --- 1. search in process --------------------------------------------------------------------

ALL_FACETS = ["organization", "theme", "sharing_type", "opening_type", "format", "tags",
              "update_cycle"]
QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    # kind, label, CKAN package_search data dict
    ("chinese", "q=交通", {"q": "交通"}),
    ("chinese", "q=空气质量", {"q": "空气质量"}),
    ("chinese", "q=医疗机构", {"q": "医疗机构"}),
    ("synonym", "q=公交 (= 公共交通)", {"q": "公交"}),
    ("pinyin", "q=jiaotong", {"q": "jiaotong"}),
    ("pinyin", "q=kqzl", {"q": "kqzl"}),
    ("faceted", "q=交通 + 7 facets", {"q": "交通", "facet.field": json.dumps(ALL_FACETS)}),
    ("faceted", "q=医疗机构 fq=sharing_type:conditional + 7 facets",
     {"q": "医疗机构", "fq": "sharing_type:conditional", "facet.field": json.dumps(ALL_FACETS)}),
    ("faceted", "q=公交 fq=tags:出行 + 7 facets",
     {"q": "公交", "fq": "tags:出行", "facet.field": json.dumps(ALL_FACETS)}),
    ("faceted", "no q + 7 facets", {"facet.field": json.dumps(ALL_FACETS)}),
    ("faceted", "no q fq=organization:jtj update_cycle:daily + 7 facets",
     {"fq": "organization:jtj update_cycle:daily", "facet.field": json.dumps(ALL_FACETS)}),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _service_query(data: dict[str, Any]) -> SearchQuery:
    """The SearchQuery CKAN's package_search builds from ``data`` (the simple cases above)."""
    filters: dict[str, list[str]] = {}
    for term in data.get("fq", "").split():
        name, value = term.split(":", 1)
        filters.setdefault(name, []).append(value)
    return SearchQuery(q=data.get("q", ""), filters=filters, rows=10, include_private=False,
                       facets=json.loads(data.get("facet.field", "[]")))


def ckan_package_search() -> Callable[[Any, dict[str, Any]], Any] | None:
    """CKAN's package_search action called in process (no HTTP), if the compat layer has it."""
    try:
        from zhihui.compat import ckan
    except ImportError:
        return None

    def run(session: Any, data: dict[str, Any]) -> Any:
        ctx = ckan.Ctx(session=session, actor=ANONYMOUS, lang="zh", request=None)  # type: ignore[arg-type]
        return ckan.package_search(ctx, ckan.Params(dict(data)))

    return run


@dataclass
class Timing:
    label: str
    kind: str
    count: int
    service_ms: list[float]
    action_ms: list[float]
    first_ms: float = 0.0  # the first run of the service call: nothing cached yet


def snapshot_seconds(url: str) -> float:
    """Loading the search snapshot (catalog/facets.py) cold: once per process, which the
    server does at start-up in the background."""
    db = Database(url)
    with db.sessionmaker() as s:
        t0 = time.perf_counter()
        facets.snapshot(s)
        seconds = time.perf_counter() - t0
    db.engine.dispose()
    return seconds


def search_figures(url: str, runs: int) -> list[Timing]:
    """Each query ``runs`` times (after one warm-up), a fresh session per run, as a request."""
    db = Database(url)
    action = ckan_package_search()
    out = []
    with db.sessionmaker() as s:
        facets.snapshot(s)  # as the server has it
    for kind, label, data in QUERIES:
        query = _service_query(data)
        with db.sessionmaker() as s:
            t0 = time.perf_counter()
            count = catalog.search(s, ANONYMOUS, query).count
            first_ms = (time.perf_counter() - t0) * 1000
        service_ms, action_ms = [], []
        for _ in range(runs + 1):
            with db.sessionmaker() as s:
                t0 = time.perf_counter()
                catalog.search(s, ANONYMOUS, query)
                service_ms.append((time.perf_counter() - t0) * 1000)
            if action is not None:
                with db.sessionmaker() as s:
                    t0 = time.perf_counter()
                    action(s, data)
                    action_ms.append((time.perf_counter() - t0) * 1000)
        out.append(Timing(label, kind, count, service_ms[1:], action_ms[1:], first_ms))
    db.engine.dispose()
    return out


# --- 3. create in process --------------------------------------------------------------------


def create_figures(url: str, orgs: dict[str, str], n: int, seed: int = 7) -> list[float]:
    """create_resource and commit, one transaction each (as one API call), on the catalogue."""
    db = Database(url)
    inputs = list(resource_inputs(random.Random(seed), orgs, n + 1))
    times = []
    for data in inputs:
        t0 = time.perf_counter()
        with db.session() as s:
            catalog.create_resource(s, SYSTEM, ResourceIn(**data))
        times.append((time.perf_counter() - t0) * 1000)
    db.engine.dispose()
    return times[1:]


# --- 2. HTTP ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``zhihui serve`` in a subprocess over the generated database."""

    def __init__(self, cat: Catalogue, workers: int = 2) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ZHIHUI_HOME": str(cat.home), "ZHIHUI_DATABASE_URL": cat.url,
               "ZHIHUI_SECRET_KEY": "benchmark"}
        exe = Path(sys.executable).with_name("zhihui")
        self.log = open(cat.home / "serve.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--workers", str(workers), "--port", str(self.port)],
            env=env, cwd=cat.home, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zhihui serve exited ({self.proc.returncode})")
            try:
                if httpx.get(self.base + "/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("zhihui serve did not answer")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def has_ckan(self) -> bool:
        import httpx

        r = httpx.get(self.base + "/api/3/action/status_show", timeout=10)
        return r.status_code == 200 and r.json().get("success") is True


@dataclass
class Load:
    label: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def drive(base: str, paths: list[str], requests: int, threads: int, label: str = "") -> Load:
    """``requests`` GETs spread over ``threads`` keep-alive clients, cycling through ``paths``."""
    import httpx

    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    next_index = [0]

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= requests:
                    return
                t0 = time.perf_counter()
                r = client.get(paths[i % len(paths)])
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(ms)
                    if r.status_code != 200:
                        errors[0] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return Load(label, requests, time.perf_counter() - t0, latencies, errors[0])


def http_paths(cat: Catalogue, ckan_api: bool) -> dict[str, list[str]]:
    if ckan_api:
        return {
            "package_show": [f"/api/3/action/package_show?id={i}" for i in cat.open_ids],
            "package_search": ["/api/3/action/package_search?q=交通"],
        }
    return {
        "package_show": [f"/api/v1/resources/{i}" for i in cat.open_ids],
        "package_search": ["/api/v1/resources?q=交通"],
    }


SNAPSHOT_WARMUP_SECONDS = 8.0


def http_figures(cat: Catalogue, requests: int, threads: int, workers: int = 2
                 ) -> tuple[bool, list[Load]]:
    server = Server(cat, workers)
    try:
        server.wait()
        # Each worker loads the search snapshot in the background at start-up (about 2 s of
        # CPU on 100,000 resources); measured after it, as a server that has been up a while.
        time.sleep(SNAPSHOT_WARMUP_SECONDS)
        ckan_api = server.has_ckan()
        loads = []
        for name, paths in http_paths(cat, ckan_api).items():
            drive(server.base, paths, 40, threads)  # warm both workers
            loads.append(drive(server.base, paths, max(50, requests // 10), 1, f"{name} 1 client"))
            loads.append(drive(server.base, paths, requests, threads,
                               f"{name} {threads} clients"))
        return ckan_api, loads
    finally:
        server.stop()


# --- the report ------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlite3

    return (f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10,000 resources, fewer runs")
    ap.add_argument("--runs", type=int, default=30, help="runs of each search (>= 20)")
    ap.add_argument("--requests", type=int, default=2000, help="HTTP requests per endpoint")
    ap.add_argument("--threads", type=int, default=8, help="HTTP client threads")
    ap.add_argument("--creates", type=int, default=100, help="package_create calls")
    ap.add_argument("--service-batch", type=int, default=1000,
                    help="resources written through create_resource (the rest as rows)")
    ap.add_argument("--database-url", default="",
                    help="an empty migrated-or-empty database instead of SQLite in a temp home")
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument("--home", type=Path,
                    help="keep the SQLite catalogue in this directory, and measure the one "
                         "already there instead of building it again")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if args.quick:
        args.resources = min(args.resources, 10_000)
        args.requests = min(args.requests, 600)
        args.runs = max(20, min(args.runs, 20))
        args.creates = min(args.creates, 30)

    started = time.perf_counter()
    home = args.home or Path(tempfile.mkdtemp(prefix="zhihui-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{home / 'zhihui.db'}"
    backend = url.split(":", 1)[0].split("+")[0]
    print(f"zhihui catalogue benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    where = url if args.database_url else f"temp ZHIHUI_HOME {home}"
    print(f"database: {backend} ({where})")
    print(f"\nbuilding {args.resources:,} resources over {1 + len(DEPARTMENTS) + len(DISTRICTS)} "
          "organisations ...")
    cat = (existing_catalogue(url, home) if args.home else None) or build_catalogue(
        url, home, args.resources, service_batch=args.service_batch)
    per = cat.service_seconds / max(cat.service_count, 1) * 1000
    print(f"  written: {cat.service_count} through the service ({per:.1f} ms each, i.e. "
          f"{per * args.resources / 1000 / 60:.0f} min for all {args.resources:,}); "
          f"{cat.direct_count} as direct rows + search.index_resource "
          f"({cat.direct_seconds:.0f} s)")

    print(f"\n1. package_search in process, {args.runs} runs each (ms; anonymous; rows=10)")
    print(f"  search snapshot loaded cold in {snapshot_seconds(url):.2f} s (once per process; "
          "the server loads it at start-up)")
    timings = search_figures(url, args.runs)
    has_action = bool(timings and timings[0].action_ms)
    head = f"  {'query':<58} {'hits':>7} {'first':>6}  {'service p50':>11} {'p95':>6}"
    if has_action:
        head += f"  {'package_search p50':>18} {'p95':>6}"
    print(head)
    for t in timings:
        line = (f"  {t.label:<58} {t.count:>7} {t.first_ms:>6.1f}  "
                f"{statistics.median(t.service_ms):>11.1f} "
                f"{percentile(t.service_ms, 0.95):>6.1f}")
        if has_action:
            line += (f"  {statistics.median(t.action_ms):>18.1f} "
                     f"{percentile(t.action_ms, 0.95):>6.1f}")
        print(line)
    worst = max(statistics.median(t.action_ms or t.service_ms) for t in timings)
    print(f"  goal p50 <= 20 ms on SQLite: {'met' if worst <= 20 else 'MISSED'} "
          f"(worst p50 {worst:.1f} ms)")

    loads: list[Load] = []
    ckan_api = False
    if not args.no_http:
        print(f"\n2. HTTP, zhihui serve --workers 2, {args.requests} requests per endpoint "
              f"(client threads on the same machine)")
        ckan_api, loads = http_figures(cat, args.requests, args.threads)
        print("  endpoints: " + ("/api/3/action/package_show?id=…, /api/3/action/package_search"
                                 "?q=交通" if ckan_api else "/api/v1/resources/<id>, "
                                 "/api/v1/resources?q=交通 (no CKAN Action API yet)"))
        for ld in loads:
            print(f"  {ld.label:<30} {ld.rps:>7.0f} req/s  median "
                  f"{statistics.median(ld.latencies_ms):>6.1f} ms  p95 "
                  f"{percentile(ld.latencies_ms, 0.95):>6.1f} ms"
                  + (f"  ({ld.errors} errors)" if ld.errors else ""))

    print(f"\n3. package_create: {args.creates} calls of create_resource + commit on the "
          f"catalogue")
    creates = create_figures(url, cat.orgs, args.creates)
    show = next((ld for ld in loads if ld.label.startswith("package_show 1")), None)
    show_n = next((ld for ld in loads if ld.label.startswith("package_show") and ld is not show),
                  None)
    print(f"  {'':<28} {'zhihui':>10} {'CKAN 2.12':>10}")
    print(f"  {'package_create median ms':<28} {statistics.median(creates):>10.1f} "
          f"{CKAN['package_create_ms']:>10.0f}")
    if show and show_n:
        print(f"  {'package_show median ms':<28} {statistics.median(show.latencies_ms):>10.1f} "
              f"{CKAN['package_show_ms']:>10.0f}")
        print(f"  {'package_show req/s':<28} {show_n.rps:>10.0f} {CKAN['package_show_rps']:>10.0f}")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")

    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(), "backend": backend, "resources": args.resources,
            "ckan_api": ckan_api,
            "search": [{"query": t.label, "kind": t.kind, "hits": t.count, "first": t.first_ms,
                        "service_p50": statistics.median(t.service_ms),
                        "service_p95": percentile(t.service_ms, 0.95),
                        "action_p50": statistics.median(t.action_ms) if t.action_ms else None,
                        "action_p95": percentile(t.action_ms, 0.95) if t.action_ms else None}
                       for t in timings],
            "http": [{"label": ld.label, "rps": ld.rps,
                      "median_ms": statistics.median(ld.latencies_ms), "errors": ld.errors}
                     for ld in loads],
            "create_median_ms": statistics.median(creates),
        }, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
