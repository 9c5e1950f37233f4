"""The demo tables' generators, one per resource template (``@table(key, format)``): each
makes a realistic Hangzhou table from a seeded ``Values`` and what it knows of its resource
(``Ctx``). Listings take one column per data item of the resource, from the row's own fields
or the shared ``COMMON`` ones; statistics and time series are written out in full.
``tables.py`` builds, writes and loads them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from zhihui.demo.city import DEPARTMENTS
from zhihui.demo.values import AS_OF, DISTRICTS, District, Row, Values, words

Cell = str | int | float | bool | date | datetime | None
Field = Callable[[Row], Cell]
Rows = tuple[list[str], list[list[Cell]]]  # column names, rows
Make = Callable[[Values, "Ctx"], Rows]


@dataclass(frozen=True)
class Ctx:
    """What a table generator knows about its resource."""

    name: str
    title: str
    items: list[str]  # data item names in catalogue order
    owner: str
    district: District | None


@dataclass(frozen=True)
class TableSpec:
    key: str  # template key
    scope: str  # "city": the city resource named ``key``; "district": each district's one
    fmt: str  # csv gbk xlsx ndjson
    make: Make


SPECS: list[TableSpec] = []


def table(key: str, fmt: str, scope: str = "city") -> Callable[[Make], Make]:
    """Register a generator for the resource of template ``key``, sent as ``fmt``."""
    def register(fn: Make) -> Make:
        SPECS.append(TableSpec(key, scope, fmt, fn))
        return fn
    return register


# --- fields every listing shares --------------------------------------------------------------

COMMON: dict[str, Field] = {
    "地址": lambda r: r.address,
    "住所": lambda r: r.address,
    "经营场所": lambda r: r.address,
    "经度": lambda r: r.lon,
    "纬度": lambda r: r.lat,
    "所属区县": lambda r: r.district.name,
    "所在区县": lambda r: r.district.name,
    "区县": lambda r: r.district.name,
    "联系电话": lambda r: r.phone,
    "咨询电话": lambda r: r.phone,
    "服务电话": lambda r: r.phone,
    "统一社会信用代码": lambda r: r.firm.uscc,
    "企业名称": lambda r: r.firm.name,
    "单位名称": lambda r: r.firm.name,
    "法定代表人": lambda r: r.firm.legal_rep,
    "成立日期": lambda r: r.firm.founded,
    "姓名": lambda r: r.person.name,
    "性别": lambda r: r.person.sex,
    "出生日期": lambda r: r.person.birth,
    "公民身份号码": lambda r: r.person.id_number,
    "手机号码": lambda r: r.person.mobile,
    "开放时间": lambda r: r.v.pick(("08:30-17:00", "全天开放", "09:00-21:00", "06:00-22:00",
                                  "09:00-17:00（周一闭馆）")),
}


def listing(v: Values, t: Ctx, n: int, fields: dict[str, Field],
            columns: list[str] | None = None) -> Rows:
    """``n`` rows of places or organisations, one column per data item, each value from
    ``fields`` or ``COMMON`` (a column neither names is a mistake, not a blank)."""
    columns = columns or t.items
    getters = [fields.get(c) or COMMON[c] for c in columns]
    rows = []
    for i in range(n):
        row = Row(v, i, t.district)
        rows.append([g(row) for g in getters])
    return columns, rows


def series(start: date, end: date, step: timedelta) -> list[datetime]:
    out, at = [], datetime(start.year, start.month, start.day)
    while at.date() <= end:
        out.append(at)
        at += step
    return out


def months(first: date, last: date) -> list[str]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


QUARTERS = [f"{y}Q{q}" for y in range(2023, 2027) for q in range(1, 5)][:15]  # to 2026Q3
SUFFIX_STOP = ("口", "站", "东", "西", "南", "北", "路口", "地铁站", "公交站")


def stop_name(r: Row) -> str:
    return f"{r.road}{r.v.pick(SUFFIX_STOP)}"


def hours(r: Row, *options: str) -> str:
    return r.v.pick(options)


# --- 交通运输 -------------------------------------------------------------------------------


@table("bike-stations", "csv")
def bike_stations(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 3000, {
        "站点编号": lambda r: v.code(r.i + 1, 6),
        "站点名称": lambda r: r.road + v.pick(words("口 公交站 地铁站B口 小区东门 公园")),
        "锁桩数": lambda r: v.rng.randint(10, 40),
        "服务时间": lambda r: hours(r, "06:00-22:00", "24小时", "06:30-21:30"),
    })


@table("bike-availability", "ndjson")
def bike_availability(v: Values, t: Ctx) -> Rows:
    at = datetime(2026, 10, 31, 8, 0)
    rows: list[list[Cell]] = []
    for i in range(3000):
        docks = v.rng.randint(10, 40)
        bikes = v.rng.randint(0, docks)
        rows.append([v.code(i + 1, 6), bikes, docks - bikes,
                     at + timedelta(seconds=v.rng.randint(0, 59))])
    return t.items, rows


@table("traffic-flow", "csv")
def traffic_flow(v: Values, t: Ctx) -> Rows:
    detectors = []
    for i in range(60):
        d = v.district()
        a, b = v.rng.sample(d.roads, 2)
        detectors.append((f"JC{i + 1:05d}", f"{a}（{b}至{v.pick(d.roads)}段）",
                          v.pick(("东向西", "西向东", "南向北", "北向南"))))
    rows: list[list[Cell]] = []
    for at in series(date(2026, 10, 30), date(2026, 10, 30), timedelta(minutes=5))[84:168]:
        peak = 1.6 if at.hour in (7, 8, 17, 18) else 1.0
        for code, road, direction in detectors:
            flow = int(v.rng.gauss(120, 30) * peak)
            speed = round(max(8.0, v.rng.gauss(42, 8) / peak), 1)
            occupancy = round(min(95.0, flow / 3.2 + v.rng.uniform(0, 6)), 1)
            rows.append([code, road, direction, at, max(flow, 0), speed, occupancy,
                         round(min(10.0, occupancy / 9), 1)])
    return t.items, rows


@table("bus-lines", "xlsx")
def bus_lines(v: Values, t: Ctx) -> Rows:
    numbers = sorted(v.rng.sample(range(1, 999), 600))
    rows: list[list[Cell]] = []
    for n in numbers:
        d = v.district()
        name = f"{n}路" if n < 900 else f"B支{n - 899}路"
        rows.append([v.code(n, 4), name, f"{v.pick(d.roads)}{v.pick(SUFFIX_STOP)}",
                     f"{v.pick(v.district().roads)}{v.pick(SUFFIX_STOP)}",
                     f"0{v.rng.randint(5, 6)}:{v.pick(('00', '15', '30', '45'))}",
                     f"{v.rng.randint(20, 22)}:{v.pick(('00', '30'))}",
                     v.pick((2, 2, 2, 3, 1.5)), round(v.rng.uniform(6, 38), 1)])
    return t.items, rows


@table("bus-stops", "gbk")
def bus_stops(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 4000, {
        "站点编号": lambda r: v.code(r.i + 1, 6),
        "站点名称": stop_name,
        "途经线路": lambda r: ";".join(f"{n}路" for n in sorted(
            v.rng.sample(range(1, 900), v.rng.randint(1, 6)))),
    })


@table("bus-gps", "ndjson")
def bus_gps(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    at = datetime(2026, 10, 31, 8, 0)
    for i in range(4000):
        d = v.district()
        lon, lat = v.point(d)
        rows.append([f"HZBUS{(i % 800) + 1:05d}", v.code(v.rng.randint(1, 899), 4), lon, lat,
                     round(max(0.0, v.rng.gauss(22, 10)), 1), v.rng.randint(0, 359),
                     at + timedelta(seconds=30 * (i // 800))])
    return t.items, rows


@table("parking-lots", "csv")
def parking_lots(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 1200, {
        "停车场编号": lambda r: v.code(r.i + 1, 6, "P330"),
        "停车场名称": lambda r: r.road
        + v.pick(words("公共停车场 地下停车库 立体停车库 临时停车场")),
        "总泊位数": lambda r: v.rng.randint(30, 900),
        "收费标准": lambda r: f"首小时{v.pick((5, 6, 8, 10))}元，之后每小时{v.pick((2, 3, 4))}元，"
                          f"夜间{v.pick((1, 2))}元/小时",
    })


@table("taxi-operators", "xlsx")
def taxi_operators(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 60, {
        "企业名称": lambda r: f"杭州{v.pick(('', '市', r.district.name))}{r.firm.name[2:4]}"
                          f"{v.pick(('出租汽车', '客运出租', '汽车服务'))}有限公司",
        "经营许可证号": lambda r: f"浙交运管许可杭字{r.district.code}{v.digits(6)}号",
        "车辆数": lambda r: v.rng.randint(40, 1200),
    })


@table("ev-chargers", "gbk")
def ev_chargers(v: Values, t: Ctx) -> Rows:
    operators = words("国网浙江电动汽车服务有限公司 杭州特来电新能源有限公司 "
                      "星星充电（杭州）有限公司 杭州小桔充电科技有限公司 "
                      "浙江云快充新能源科技有限公司")
    return listing(v, t, 1500, {
        "充电站名称": lambda r: f"{r.road}{v.pick(('充电站', '公共充电站', '超充站'))}",
        "运营单位": lambda r: v.pick(operators),
        "快充桩数": lambda r: v.rng.randint(0, 20),
        "慢充桩数": lambda r: v.rng.randint(0, 30),
        "电价": lambda r: v.amount(0.8, 1.9, 0.05),
    })


@table("metro-stations", "ndjson")
def metro_stations(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for line in range(1, 20):
        for s in range(v.rng.randint(12, 24)):
            d = v.district()
            name = f"{v.pick(d.roads)}站" if s % 3 else f"{v.pick(d.streets)[:2]}站"
            lon, lat = v.point(d)
            for gate in "ABCD"[:v.rng.randint(2, 4)]:
                rows.append([name, f"{line}号线", gate, v.address(d), round(lon + 0.0004, 6),
                             lat, v.rng.random() < 0.7])
    return t.items, rows


# --- 公安 -------------------------------------------------------------------------------------


@table("population-registered", "csv")
def population(v: Values, t: Ctx) -> Rows:
    nations = (("汉族", 96), ("畲族", 2), ("回族", 1), ("土家族", 1), ("满族", 1))
    relation = ("户主", "配偶", "子", "女", "父亲", "母亲", "孙子")
    return listing(v, t, 3000, {
        "民族": lambda r: v.weighted(nations),
        "户籍地址": lambda r: f"浙江省{r.address}{v.rng.randint(1, 30)}幢{v.rng.randint(1, 3)}单元"
                          f"{v.rng.randint(1, 30)}{v.rng.randint(1, 4):02d}室",
        "户号": lambda r: v.digits(9),
        "与户主关系": lambda r: v.pick(relation),
    })


@table("traffic-accidents", "xlsx")
def traffic_accidents(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for m in months(date(2023, 1, 1), date(2026, 9, 30)):
        for d in DISTRICTS:
            n = max(0, int(v.rng.gauss(d.weight * 6, d.weight)))
            rows.append([m, d.name, n, v.rng.randint(0, max(1, n // 15)),
                         v.rng.randint(n // 2, n + 3), v.amount(n * 800, n * 6000, 100)])
    return t.items, rows


@table("police-stations", "csv")
def police_stations(v: Values, t: Ctx) -> Rows:
    pairs = [(d, s) for d in DISTRICTS for s in d.streets]
    rows: list[list[Cell]] = []
    for d, street in pairs:
        road = v.pick(d.roads)
        lon, lat = v.point(d)
        rows.append([f"杭州市公安局{d.name}分局{street.removesuffix('街道')}派出所",
                     v.address(d, road), lon, lat, "周一至周五 08:30-12:00，13:30-17:00；周六上午",
                     v.fixed_line()])
    return t.items, rows


# --- 生态环境 -----------------------------------------------------------------------------------

STATIONS = (("上城区", "卧龙桥"), ("拱墅区", "和睦小学"), ("西湖区", "西溪"), ("滨江区", "滨江"),
            ("萧山区", "城厢镇"), ("余杭区", "云栖"), ("临平区", "临平镇"), ("钱塘区", "下沙"),
            ("富阳区", "富阳"), ("临安区", "临安"), ("桐庐县", "桐庐"), ("淳安县", "千岛湖"),
            ("建德市", "建德"))
# HJ 633-2012 breakpoints: IAQI 0 50 100 150 200 300 400 500 over concentrations (µg/m³).
IAQI = (0, 50, 100, 150, 200, 300, 400, 500)
BREAKS = {"PM2.5": (0, 35, 75, 115, 150, 250, 350, 500),
          "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
          "臭氧": (0, 160, 200, 300, 400, 800, 1000, 1200),
          "二氧化氮": (0, 100, 200, 700, 1200, 2340, 3090, 3840)}
LEVELS = ((50, "优"), (100, "良"), (150, "轻度污染"), (200, "中度污染"), (300, "重度污染"),
          (500, "严重污染"))


def iaqi(pollutant: str, c: float) -> int:
    bp = BREAKS[pollutant]
    for i in range(1, len(bp)):
        if c <= bp[i]:
            return math.ceil((IAQI[i] - IAQI[i - 1]) / (bp[i] - bp[i - 1]) * (c - bp[i - 1])
                             + IAQI[i - 1])
    return 500


def aqi_of(c: dict[str, float]) -> tuple[int, str]:
    parts = {p: iaqi(p, x) for p, x in c.items()}
    top = max(parts, key=lambda p: parts[p])
    aqi = parts[top]
    return aqi, (top if aqi > 50 else "—")


@table("air-quality-hourly", "csv")
def air_quality_hourly(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    base = {s: v.rng.uniform(0.8, 1.2) for _, s in STATIONS}
    for at in series(date(2026, 8, 28), date(2026, 10, 30), timedelta(hours=1)):
        season = 0.8 + 0.5 * (at.month - 8) / 3
        rush = 1.25 if at.hour in (7, 8, 9, 18, 19, 20) else 1.0
        sun = max(0.0, math.sin((at.hour - 6) / 12 * math.pi))
        for district, station in STATIONS:
            k = base[station] * season
            c = {"PM2.5": max(3.0, v.rng.gauss(28 * k * rush, 8)),
                 "PM10": max(5.0, v.rng.gauss(48 * k * rush, 12)),
                 "臭氧": max(4.0, v.rng.gauss(40 + 120 * sun, 20)),
                 "二氧化氮": max(3.0, v.rng.gauss(30 * k * rush, 9))}
            aqi, top = aqi_of(c)
            rows.append([f"{station}（{district}）", district, at, aqi,
                         *(round(c[p], 1) for p in ("PM2.5", "PM10", "臭氧", "二氧化氮")), top])
    return ["站点名称", "所属区县", *t.items[1:]], rows


@table("air-quality-daily", "gbk")
def air_quality_daily(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for at in series(date(2023, 1, 1), date(2026, 10, 30), timedelta(days=1)):
        winter = 1 + 0.6 * math.cos((at.timetuple().tm_yday - 15) / 365 * 2 * math.pi)
        c = {"PM2.5": max(5.0, v.rng.gauss(30 * winter, 10)),
             "PM10": max(8.0, v.rng.gauss(52 * winter, 15)),
             "二氧化氮": max(5.0, v.rng.gauss(35, 8))}
        aqi, top = aqi_of(c)
        level = next(label for limit, label in LEVELS if aqi <= limit)
        rows.append([at.date(), aqi, level, top, round(c["PM2.5"], 1)])
    return t.items, rows


SECTIONS = (("闸口", "钱塘江"), ("七堡", "钱塘江"), ("富春江大桥", "富春江"),
            ("桐庐城南", "富春江"),
            ("新安江大坝", "新安江"), ("千岛湖小金山", "千岛湖"), ("千岛湖三潭岛", "千岛湖"),
            ("西湖湖心", "西湖"), ("西湖少年宫", "西湖"), ("运河武林门", "京杭大运河"),
            ("运河拱宸桥", "京杭大运河"), ("运河塘栖", "京杭大运河"), ("瓶窑", "东苕溪"),
            ("余杭南渠", "东苕溪"), ("分水江口", "分水江"), ("浦阳江临浦", "浦阳江"),
            ("上塘河半山", "上塘河"), ("西溪湿地", "余杭塘河"), ("昌化溪白牛", "昌化溪"),
            ("湘湖", "湘湖"))
CLASSES = ("Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类")


@table("water-quality", "gbk")
def water_quality(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for at in series(date(2025, 11, 3), date(2026, 10, 26), timedelta(days=7)):
        for section, water in SECTIONS:
            ammonia = round(max(0.02, v.rng.gauss(0.35, 0.2)), 2)
            phosphorus = round(max(0.005, v.rng.gauss(0.07, 0.03)), 3)
            grade = min(4, max(0, int(ammonia / 0.5 + phosphorus / 0.1)))
            rows.append([section, water, at.date(), CLASSES[grade],
                         round(v.rng.gauss(8.2, 1.1), 1), round(v.rng.gauss(2.6, 0.6), 1),
                         ammonia, phosphorus])
    return t.items, rows


@table("pollution-sources", "csv")
def pollution_sources(v: Values, t: Ctx) -> Rows:
    kinds = words("水环境重点排污单位 大气环境重点排污单位 土壤污染重点监管单位 声环境重点排污单位 "
                  "环境风险重点管控单位")
    return listing(v, t, 400, {
        "排污类别": lambda r: v.pick(kinds),
        "排污许可证编号": lambda r: f"{r.firm.uscc}001{v.pick('PVUWQ')}",
    })


# --- 市场监管 -----------------------------------------------------------------------------------

FIRM_KINDS = (("有限责任公司（自然人投资或控股）", 50), ("有限责任公司（自然人独资）", 20),
              ("股份有限公司（非上市、自然人投资或控股）", 6),
              ("有限责任公司（外商投资、非独资）", 3),
              ("个人独资企业", 8), ("有限合伙企业", 8), ("有限责任公司（国有独资）", 2),
              ("其他股份有限公司（上市）", 1))
STATES = (("存续", 85), ("在业", 5), ("注销", 7), ("吊销，未注销", 3))
SCOPES = {
    "科技": "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；"
            "信息系统集成服务",
    "网络": "网络技术服务；互联网销售（除销售需要许可的商品）；数据处理服务；软件开发",
    "信息": "信息技术咨询服务；信息系统运行维护服务；计算机系统服务；数据处理和存储支持服务",
    "电子": "互联网销售（除销售需要许可的商品）；日用百货销售；服装服饰零售；供应链管理服务",
    "贸易": "货物进出口；技术进出口；五金产品批发；建筑材料销售；日用品批发",
    "餐饮": "餐饮管理；食品经营（销售预包装食品）；餐饮服务（须取得许可）",
    "建筑": "建设工程施工（须取得许可）；住宅室内装饰装修；园林绿化工程施工",
}


def scope_of(name: str) -> str:
    for word, text in SCOPES.items():
        if word in name:
            return text + "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。"
    return ("一般项目：企业管理咨询；市场营销策划；会议及展览服务（除依法须经批准的项目外，"
            "凭营业执照依法自主开展经营活动）。")


@table("enterprise-registry", "csv")
def enterprise_registry(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 5000, {
        "企业类型": lambda r: v.weighted(FIRM_KINDS),
        "注册资本": lambda r: v.pick((10, 50, 100, 100, 200, 300, 500, 1000, 1000, 3000, 5000)),
        "登记状态": lambda r: v.weighted(STATES),
        "经营范围": lambda r: scope_of(r.firm.name),
    })


TRADES = words("便利店 小吃店 面馆 水果店 理发店 五金店 服装店 副食品店 汽车修理部 手机维修部 "
               "茶叶店 早餐店 烟酒店 美甲店 快递服务部 干洗店 粮油店")


@table("individual-business", "gbk")
def individual_business(v: Values, t: Ctx) -> Rows:
    def shop(r: Row) -> str:
        return f"杭州市{r.district.name}{r.person.name[:1]}记{v.pick(TRADES)}"

    columns = ["名称", "统一社会信用代码", "经营者", "经营者身份证号码", "联系电话", "组成形式",
               "经营场所", "成立日期"]
    return listing(v, t, 1500, {
        "名称": shop,
        "统一社会信用代码": lambda r: v.uscc(r.district.code, "92"),
        "经营者": lambda r: r.person.name,
        "经营者身份证号码": lambda r: r.person.id_number,
        "联系电话": lambda r: r.person.mobile,
        "组成形式": lambda r: v.weighted((("个人经营", 85), ("家庭经营", 15))),
        "成立日期": lambda r: v.day(date(2012, 1, 1), AS_OF),
    }, columns)


VIOLATIONS = (
    ("销售不符合食品安全标准的食品", "销售的{x}经抽样检验，其{y}项目不符合食品安全国家标准",
     "《中华人民共和国食品安全法》第一百二十四条第一款", (5000, 100000)),
    ("未取得食品经营许可从事食品经营", "未取得食品经营许可证，擅自在经营场所从事餐饮服务",
     "《中华人民共和国食品安全法》第一百二十二条第一款", (5000, 50000)),
    ("虚假宣传", "在网店商品详情页宣传{x}具有“{y}”功效，无事实依据",
     "《中华人民共和国反不正当竞争法》第二十条", (10000, 200000)),
    ("价格违法", "销售{x}未按规定明码标价", "《中华人民共和国价格法》第四十二条", (500, 5000)),
    ("无照经营", "未依法取得营业执照，从事{x}经营活动", "《无证无照经营查处办法》第十三条",
     (1000, 10000)),
    ("计量违法", "使用未经检定的电子计价秤销售{x}", "《中华人民共和国计量法实施细则》第四十三条",
     (500, 2000)),
)
GOODS = words("散装大米 鲜猪肉 青菜 桃酥 瓶装饮用水 保健食品 茶叶 儿童玩具 电动自行车 化妆品")
CLAIMS = ("治疗失眠", "增强免疫力", "降血压", "全网销量第一", "百分百有机")


@table("admin-penalties", "gbk")
def admin_penalties(v: Values, t: Ctx) -> Rows:
    columns = list(words("决定书文号 当事人名称 当事人类别 统一社会信用代码 当事人证件号码 "
                         "违法行为类型 违法事实 处罚依据 处罚内容 罚款金额 决定日期 处罚机关"))
    rows: list[list[Cell]] = []
    for i in range(1200):
        r = Row(v, i)
        kind = v.weighted((("法人及非法人组织", 55), ("个体工商户", 30), ("自然人", 15)))
        if kind == "法人及非法人组织":
            name, code, card = r.firm.name, r.firm.uscc, ""
        elif kind == "个体工商户":
            name = (f"杭州市{r.district.name}{r.person.name[:1]}记{v.pick(TRADES)}"
                    f"（经营者：{r.person.name}）")
            code, card = v.uscc(r.district.code, "92"), r.person.id_number
        else:
            name, code, card = r.person.name, "", r.person.id_number
        act, facts, basis, (low, high) = v.pick(VIOLATIONS)  # type: ignore[misc]
        fine = v.amount(low, high, 100)
        decided = v.day(date(2023, 1, 1), AS_OF)
        authority = v.pick(("杭州市市场监督管理局", f"杭州市{r.district.name}市场监督管理局"))
        short = "杭市监" if authority.startswith("杭州市市场") else f"杭{r.district.name[:2]}市监"
        rows.append([f"{short}罚处〔{decided.year}〕", name, kind, code,
                     card, act, facts.format(x=v.pick(GOODS), y=v.pick(CLAIMS)), basis,
                     f"1.警告；2.罚款人民币{fine:,.0f}元", fine, decided, authority])
    # published in date order; each authority numbers its decisions through the year
    rows.sort(key=lambda row: (row[10], row[0]))  # type: ignore[arg-type,return-value]
    numbers: Counter[Cell] = Counter()
    for row in rows:
        numbers[row[0]] += 1
        row[0] = f"{row[0]}{numbers[row[0]]}号"
    return columns, rows


@table("abnormal-operation", "csv")
def abnormal_operation(v: Values, t: Ctx) -> Rows:
    reasons = ("未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告",
               "通过登记的住所或者经营场所无法联系", "公示企业信息隐瞒真实情况、弄虚作假",
               "未在责令的期限内公示有关企业信息")
    return listing(v, t, 800, {
        "列入原因": lambda r: v.pick(reasons),
        "列入日期": lambda r: v.day(),
        "作出决定机关": lambda r: f"杭州市{r.district.name}市场监督管理局",
    })


@table("food-licences", "csv")
def food_licences(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 1500, {
        "许可证编号": lambda r: f"JY{v.pick('23')}{r.district.code}{v.digits(7)}",
        "经营者名称": lambda r: r.firm.name,
        "主体业态": lambda r: v.weighted((("食品销售经营者", 45), ("餐饮服务经营者", 45),
                                         ("单位食堂", 10))),
        "有效期至": lambda r: v.day(date(2027, 1, 1), date(2031, 10, 31)),
    })


# --- 卫生健康 -----------------------------------------------------------------------------------


@table("medical-institutions", "csv")
def medical_institutions(v: Values, t: Ctx) -> Rows:
    kinds = (("综合医院", 12), ("中医医院", 5), ("专科医院", 8), ("社区卫生服务中心", 20),
             ("门诊部", 25), ("诊所", 30))

    def kind_of(r: Row) -> str:
        return r.once("kind", lambda: v.weighted(kinds))

    def name(r: Row) -> str:
        kind = kind_of(r)
        word = r.firm.name[2:4]
        return {"综合医院": f"杭州{word}医院", "中医医院": f"杭州市{r.district.name}中医院"
                if r.i % 7 == 0 else f"杭州{word}中医医院",
                "专科医院": f"杭州{word}{v.pick(('口腔医院', '眼科医院', '妇产医院', '康复医院'))}",
                "社区卫生服务中心": f"杭州市{r.district.name}{r.street}社区卫生服务中心",
                "门诊部": f"杭州{word}{v.pick(('综合门诊部', '口腔门诊部', '中医门诊部'))}",
                }.get(kind, f"杭州{r.district.name[:2]}{word}"
                            f"{v.pick(words('中医诊所 口腔诊所 诊所'))}")

    def grade(r: Row) -> str:
        kind = kind_of(r)
        if kind in ("综合医院", "中医医院", "专科医院"):
            return v.pick(("三级甲等", "三级乙等", "二级甲等", "二级乙等"))
        return "一级" if kind == "社区卫生服务中心" else "未定级"

    return listing(v, t, 600, {
        "机构名称": name,
        "机构类别": kind_of,
        "等级": grade,
        "诊疗科目": lambda r: ";".join(v.rng.sample(
            words("内科 外科 儿科 妇产科 口腔科 眼科 中医科 预防保健科 康复医学科 医学检验科 "
                  "医学影像科 急诊医学科"), v.rng.randint(2, 8))),
    })


@table("hospital-beds", "xlsx")
def hospital_beds(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for year in (2022, 2023, 2024, 2025):
        for d in DISTRICTS:
            people = d.weight * 9.3  # 10,000s
            hospital = int(people * v.rng.uniform(55, 75))
            basic = int(people * v.rng.uniform(6, 12))
            rows.append([str(year), d.name, hospital, basic,
                         round((hospital + basic) / (people * 10), 2)])
    return t.items, rows


@table("vaccination-clinics", "csv")
def vaccination_clinics(v: Values, t: Ctx) -> Rows:
    vaccines = words("乙肝疫苗 卡介苗 脊灰疫苗 百白破疫苗 麻腮风疫苗 乙脑疫苗 流感疫苗 HPV疫苗 "
                     "带状疱疹疫苗 狂犬病疫苗 肺炎球菌疫苗")
    return listing(v, t, 250, {
        "门诊名称": lambda r: f"{r.district.name}{r.street}社区卫生服务中心预防接种门诊",
        "接种时间": lambda r: v.pick(("周一至周五 08:00-11:30，13:30-16:30",
                                   "周二、周四、周六 08:00-11:30", "周一至周六 08:00-11:30")),
        "可接种疫苗": lambda r: "、".join(v.rng.sample(vaccines, v.rng.randint(4, 9))),
    })


# --- 教育 -------------------------------------------------------------------------------------

SCHOOL_KINDS = (("小学", 45), ("初级中学", 20), ("九年一贯制学校", 8), ("普通高中", 10),
                ("完全中学", 4), ("中等职业学校", 6), ("十二年一贯制学校", 2))
SCHOOL_SUFFIX = {"小学": "小学", "初级中学": "中学", "九年一贯制学校": "学校",
                 "普通高中": "高级中学", "完全中学": "中学", "中等职业学校": "职业高级中学",
                 "十二年一贯制学校": "外国语学校"}


def school_name(r: Row, kind: str) -> str:
    place = r.v.pick((r.road, r.street.removesuffix("街道").removesuffix("镇"), r.firm.name[2:4]))
    return f"杭州市{r.district.name}{place}{SCHOOL_SUFFIX[kind]}"


@table("schools", "gbk")
def schools(v: Values, t: Ctx) -> Rows:
    def kind_of(r: Row) -> str:
        return r.once("kind", lambda: v.weighted(SCHOOL_KINDS))

    return listing(v, t, 900, {
        "学校名称": lambda r: school_name(r, kind_of(r)),
        "办学类型": kind_of,
        "办学性质": lambda r: v.weighted((("公办", 85), ("民办", 15))),
        "学校网址": lambda r: f"https://school{r.i + 1:04d}.hzedu.net.cn",
    })


@table("kindergartens", "csv")
def kindergartens(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 1000, {
        "幼儿园名称": lambda r: f"杭州市{r.district.name}{v.pick((r.road, r.street[:2]))}"
                            f"{v.pick(('幼儿园', '第二幼儿园', '实验幼儿园', '艺术幼儿园'))}",
        "等级": lambda r: v.weighted((("一级", 25), ("二级", 45), ("三级", 25), ("准办园", 5))),
        "办园性质": lambda r: v.weighted((("公办", 75), ("民办", 25))),
        "班级数": lambda r: v.rng.randint(3, 18),
    })


@table("school-districts", "ndjson")
def school_districts(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for i in range(400):
        r = Row(v, i)
        stage = v.weighted((("小学", 70), ("初中", 30)))
        north, south, west, east = v.rng.sample(r.district.roads, 4)
        w, h = v.rng.uniform(0.006, 0.02), v.rng.uniform(0.006, 0.02)
        ring = [(r.lon - w, r.lat - h), (r.lon + w, r.lat - h), (r.lon + w, r.lat + h),
                (r.lon - w, r.lat + h), (r.lon - w, r.lat - h)]
        polygon = "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))"
        rows.append([school_name(r, "小学" if stage == "小学" else "初级中学"), stage,
                     f"{south}以北、{north}以南、{west}以东、{east}以西（含{r.street}相关社区）",
                     polygon, "2026"])
    return t.items, rows


@table("training-whitelist", "xlsx")
def training_whitelist(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 300, {
        "机构名称": lambda r: f"杭州{r.district.name[:2]}{r.firm.name[2:4]}"
                          f"{v.pick(('培训学校有限公司', '艺术培训学校', '体育培训中心'))}",
        "办学许可证号": lambda r: f"教民{r.district.code}{v.digits(9)}号",
        "培训类别": lambda r: v.pick(("艺术类", "体育类", "科技类", "非学科类综合")),
        "办学地址": lambda r: r.address,
    })


# --- 民政 -------------------------------------------------------------------------------------


@table("social-organisations", "csv")
def social_organisations(v: Values, t: Ctx) -> Rows:
    kinds = (("社会团体", "51", "协会"), ("民办非企业单位", "52", "服务中心"),
             ("基金会", "53", "基金会"))

    def kind_of(r: Row) -> tuple[str, str, str]:
        return r.once("kind", lambda: v.pick(kinds))

    def name(r: Row) -> str:
        field_ = v.pick(("软件行业", "电子商务", "社区养老", "青少年科技", "茶文化", "志愿服务",
                         "物流行业", "智慧城市", "家庭教育", "公益慈善"))
        return f"杭州市{field_}{kind_of(r)[2]}"

    return listing(v, t, 600, {
        "组织名称": name,
        "统一社会信用代码": lambda r: v.uscc("330100", kind_of(r)[1]),
        "组织类型": lambda r: kind_of(r)[0],
        "业务主管单位": lambda r: v.pick([d[1] for d in DEPARTMENTS[:12]]),
        "成立日期": lambda r: v.day(date(1995, 1, 1), AS_OF),
    })


@table("job-vacancies", "ndjson")
def job_vacancies(v: Values, t: Ctx) -> Rows:
    jobs = (("Java开发工程师", "本科", (15, 30)), ("前端开发工程师", "本科", (12, 25)),
            ("数据分析师", "本科", (12, 22)), ("电商运营", "大专", (7, 12)),
            ("直播主播", "不限", (6, 15)), ("客服专员", "大专", (5, 8)),
            ("仓储管理员", "高中", (6, 9)), ("快递员", "不限", (7, 12)),
            ("会计", "大专", (6, 10)), ("销售代表", "大专", (6, 15)), ("护士", "大专", (7, 11)),
            ("机械维修工", "中专", (7, 11)), ("算法工程师", "硕士", (25, 50)))
    rows: list[list[Cell]] = []
    for i in range(3000):
        r = Row(v, i)
        title, edu, (low, high) = v.pick(jobs)  # type: ignore[misc]
        pay = v.rng.randint(low, high)
        rows.append([title, r.firm.name, f"杭州市{r.district.name}", v.rng.randint(1, 20), edu,
                     f"{pay}k-{pay + v.rng.randint(2, 10)}k", v.day(date(2026, 8, 1), AS_OF)])
    return t.items, rows


# --- 文广旅游 -----------------------------------------------------------------------------------


@table("scenic-spots", "xlsx")
def scenic_spots(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 90, {
        "景区名称": lambda r: f"{r.district.name}{r.street[:2]}"
                          f"{v.pick(words('山 湖 峡谷 古镇 湿地公园 森林公园 古村'))}景区",
        "等级": lambda r: v.weighted((("5A", 2), ("4A", 30), ("3A", 68))),
        "门票价格": lambda r: v.pick((0, 0, 30, 45, 60, 80, 120)),
    })


@table("hotels", "csv")
def hotels(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 200, {
        "饭店名称": lambda r: f"杭州{r.firm.name[2:4]}"
                          f"{v.pick(words('大酒店 国际大酒店 宾馆 度假酒店'))}",
        "星级": lambda r: v.weighted((("五星", 15), ("四星", 35), ("三星", 40), ("二星", 10))),
        "客房数": lambda r: v.rng.randint(60, 650),
    })


@table("tourist-flow", "ndjson")
def tourist_flow(v: Values, t: Ctx) -> Rows:
    spots = [("西湖风景名胜区", 120000), ("西溪国家湿地公园", 25000), ("千岛湖风景区", 60000),
             ("灵隐飞来峰景区", 30000), ("京杭大运河杭州景区", 40000), ("良渚古城遗址公园", 20000),
             ("宋城景区", 35000), ("湘湖旅游度假区", 30000), ("富春江小三峡", 10000),
             ("天目山景区", 12000), ("瑶琳仙境", 8000), ("新安江景区", 9000)]
    rows: list[list[Cell]] = []
    for at in series(date(2026, 10, 1), date(2026, 10, 7), timedelta(minutes=15)):
        if not 7 <= at.hour <= 21:
            continue
        for name, cap in spots:
            hour = at.hour + at.minute / 60
            load = max(0.03, math.sin((hour - 7) / 15 * math.pi)) * v.rng.uniform(0.4, 0.9)
            now = int(cap * load)
            comfort = "舒适" if now < cap * 0.5 else "较舒适" if now < cap * 0.75 else "拥挤"
            rows.append([name, now, cap, comfort, at])
    return t.items, rows


# --- 农业农村、统计 -------------------------------------------------------------------------------


@table("farm-prices", "csv")
def farm_prices(v: Values, t: Ctx) -> Rows:
    goods = (("青菜", "普通", 3.0), ("大白菜", "普通", 1.8), ("西红柿", "普通", 5.0),
             ("黄瓜", "普通", 4.0), ("土豆", "普通", 3.2), ("猪肉", "白条", 22.0),
             ("鸡蛋", "散装", 9.0), ("带鱼", "冰鲜", 30.0),
             ("苹果", "富士", 7.5), ("香蕉", "普通", 5.5))
    markets = ("杭州农副产品物流中心", "勾庄农副产品市场", "萧山农副产品物流中心")
    rows: list[list[Cell]] = []
    for at in series(date(2026, 7, 1), date(2026, 10, 30), timedelta(days=1)):
        for market in markets:
            for name, spec, mean in goods:
                avg = round(mean * v.rng.uniform(0.85, 1.15), 2)
                rows.append([at.date(), market, name, spec, round(avg * 0.85, 2),
                             round(avg * 1.15, 2), avg])
    return t.items, rows


@table("gdp-quarterly", "xlsx")
def gdp_quarterly(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for i, q in enumerate(QUARTERS):
        total = round(4600 * (1.055 ** (i / 4)) * (0.9 + 0.07 * (int(q[-1]))), 2)
        first, second = round(total * 0.018, 2), round(total * 0.29, 2)
        rows.append([q, total, first, second, round(total - first - second, 2),
                     round(v.rng.uniform(4.5, 6.8), 1)])
    return t.items, rows


@table("resident-population", "gbk")
def resident_population(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for year in (2022, 2023, 2024, 2025):
        for d in DISTRICTS:
            people = round(d.weight * 9.3 * (1 + 0.012 * (year - 2022)), 2)
            rate = min(100.0, round(v.rng.uniform(55, 99) if d.weight < 8 else 100.0, 1))
            rows.append([str(year), d.name, people, round(people * rate / 100, 2), rate,
                         round(v.rng.uniform(5.0, 7.5), 2)])
    return t.items, rows


@table("cpi", "csv")
def cpi(v: Values, t: Ctx) -> Rows:
    kinds = words("居民消费价格总指数 食品烟酒 衣着 居住 生活用品及服务 交通通信 教育文化娱乐 "
                  "医疗保健 其他用品及服务")
    rows: list[list[Cell]] = [
        [m, k, round(v.rng.gauss(100.4, 0.9), 1), round(v.rng.gauss(100.0, 0.4), 1)]
        for m in months(date(2023, 1, 1), date(2026, 10, 1)) for k in kinds]
    return t.items, rows


# --- 林业水利、气象 -----------------------------------------------------------------------------


@table("river-levels", "ndjson")
def river_levels(v: Values, t: Ctx) -> Rows:
    stations = []
    for i in range(40):
        d = v.district()
        stations.append((f"6340{i + 1:04d}", f"{v.pick(d.streets)[:2]}{v.pick(('闸', '站', '桥'))}",
                         round(v.rng.uniform(2.5, 9.0), 2)))
    rows: list[list[Cell]] = []
    for at in series(date(2026, 10, 28), date(2026, 10, 30), timedelta(hours=1)):
        for code, name, warn in stations:
            rows.append([code, name, round(warn - v.rng.uniform(0.3, 2.2), 2), warn, at])
    return t.items, rows


@table("reservoirs", "xlsx")
def reservoirs(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = [["新安江水库（千岛湖）", "淳安县", "大（1）型", 2162000.0, 108.0,
                               "国网新安江水力发电厂"]]
    for i in range(119):
        r = Row(v, i)
        size = v.weighted((("中型", 10), ("小（1）型", 35), ("小（2）型", 55)))
        volume = {"中型": (1000, 9000), "小（1）型": (100, 1000), "小（2）型": (10, 100)}[size]
        rows.append([f"{r.street[:2]}{v.pick(words('水库 山塘水库 坞水库'))}", r.district.name,
                     size,
                     round(v.rng.uniform(*volume), 1), round(v.rng.uniform(20, 260), 2),
                     f"{r.district.name}林业水利局"])
    return t.items, rows


@table("weather-observations", "csv")
def weather_observations(v: Values, t: Ctx) -> Rows:
    stations = [(f"K{1000 + i * 7:04d}", f"{d.streets[i % len(d.streets)][:2]}", d)
                for i, d in enumerate(DISTRICTS * 5)][:60]
    rows: list[list[Cell]] = []
    for at in series(date(2026, 10, 28), date(2026, 10, 30), timedelta(hours=1)):
        warm = 20 + 6 * math.sin((at.hour - 8) / 24 * 2 * math.pi)
        for code, name, d in stations:
            cold = 0.0 if d.spread < 0.06 else 1.5
            rows.append([code, name, at, round(v.rng.gauss(warm - cold, 0.8), 1),
                         round(min(100.0, v.rng.gauss(72, 10)), 0),
                         round(abs(v.rng.gauss(2.2, 1.1)), 1),
                         round(max(0.0, v.rng.gauss(-0.5, 1.0)), 1)])
    return t.items, rows


@table("weather-forecast", "ndjson")
def weather_forecast(v: Values, t: Ctx) -> Rows:
    skies = ("晴", "多云", "阴", "小雨", "阵雨", "晴转多云", "多云转阴")
    rows: list[list[Cell]] = []
    for day in range(7):
        for d in DISTRICTS:
            high = round(v.rng.gauss(21, 2), 0)
            rows.append([AS_OF + timedelta(days=day + 1), d.name, v.pick(skies), high,
                         high - v.rng.randint(6, 11), v.pick(("东北风", "北风", "东风", "西北风")),
                         v.pick(("1-2级", "2-3级", "3-4级")),
                         float(v.rng.choice((0, 10, 20, 40, 70)))])
    return t.items, rows


# --- 医保、商务、应急、经信 ---------------------------------------------------------------------


@table("designated-pharmacies", "gbk")
def designated_pharmacies(v: Values, t: Ctx) -> Rows:
    chains = words("老百姓大药房 九洲大药房 华东大药房 张同泰大药房 海王星辰药房 民生大药房")

    def kind_of(r: Row) -> str:
        return r.once("kind", lambda: v.weighted((("定点零售药店", 70), ("定点医疗机构", 30))))

    def name(r: Row) -> str:
        if kind_of(r) == "定点零售药店":
            return f"杭州{v.pick(chains)}{r.road}店"
        return f"杭州市{r.district.name}{r.street}社区卫生服务站"

    return listing(v, t, 2000, {
        "机构名称": name,
        "机构类型": kind_of,
        "定点编码": lambda r: f"{'P' if kind_of(r) == '定点零售药店' else 'H'}"
                          f"{r.district.code}{r.i + 1:05d}",
    })


@table("online-retail", "xlsx")
def online_retail(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for q in QUARTERS:
        for d in DISTRICTS:
            sales = round(d.weight ** 1.6 * v.rng.uniform(3, 5), 2)
            rows.append([q, d.name, sales, round(v.rng.gauss(8, 4), 1), round(sales * 0.08, 2)])
    return t.items, rows


@table("shelters", "csv")
def shelters(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 300, {
        "场所名称": lambda r: r.street.removesuffix("街道")
        + v.pick(words("公园 中学操场 体育中心 文化广场")) + "应急避难场所",
        "场所类型": lambda r: v.pick(("Ⅰ类", "Ⅱ类", "Ⅲ类")),
        "可容纳人数": lambda r: v.rng.randint(5, 300) * 100,
        "面积": lambda r: float(v.rng.randint(20, 900) * 100),
    })


@table("hazardous-chemicals", "ndjson")
def hazardous_chemicals(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 350, {
        "许可证编号": lambda r: f"（浙）WH安许证字〔{v.rng.randint(2023, 2026)}〕"
                            f"-A-{v.rng.randint(1, 9999):04d}",
        "许可范围": lambda r: "、".join(v.rng.sample(
            words("甲醇 乙醇 丙酮 盐酸 硫酸 液氨 氢氧化钠 乙酸乙酯 天然气"), 3))
        + "（不带储存设施经营）",
        "重大危险源": lambda r: v.rng.random() < 0.15,
    })


@table("wifi-hotspots", "csv")
def wifi_hotspots(v: Values, t: Ctx) -> Rows:
    places = words("公交站 地铁站 公园 图书馆 政务服务中心 医院门诊大厅 景区游客中心 广场")
    return listing(v, t, 2500, {
        "热点名称": lambda r: f"{r.road}{r.once('place', lambda: v.pick(places))}",
        "SSID": lambda r: v.pick(("i-Hangzhou", "i-Hangzhou", "i-Hangzhou-5G")),
        "场所类型": lambda r: r.once("place", lambda: v.pick(places)),
        "接入方式": lambda r: v.pick(("短信验证", "支付宝扫码", "微信扫码")),
    })


@table("smart-economy-firms", "xlsx")
def smart_economy_firms(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 500, {
        "所属领域": lambda r: v.pick(words("电子商务 云计算与大数据 物联网 人工智能 数字安防 "
                                         "集成电路 软件与信息服务 智能制造")),
        "认定年度": lambda r: v.pick(("2023", "2024", "2025", "2026")),
    })


@table("5g-stations", "gbk")
def five_g(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for d in DISTRICTS:
        total = int(d.weight * 320)
        for q in QUARTERS:
            new = v.rng.randint(d.weight * 20, d.weight * 60)
            total += new
            rows.append([q, d.name, total, new, v.rng.randint(d.weight * 10, d.weight * 40)])
    return t.items, rows


# --- 税务、数据资源、城管 ---------------------------------------------------------------------


@table("tax-payments", "csv")
def tax_payments(v: Values, t: Ctx) -> Rows:
    firms = [v.firm() for _ in range(400)]
    rows: list[list[Cell]] = []
    for m in months(date(2026, 1, 1), date(2026, 9, 1)):
        for f in firms:
            rows.append([f.uscc, f.name, m, v.weighted((("增值税", 5), ("企业所得税", 2),
                                                        ("个人所得税", 2), ("城市维护建设税", 1))),
                         v.amount(800, 900000, 0.01)])
    return t.items, rows[:3000]


@table("invoice-summary", "ndjson")
def invoice_summary(v: Values, t: Ctx) -> Rows:
    firms = [v.firm() for _ in range(300)]
    rows: list[list[Cell]] = []
    for m in months(date(2026, 1, 1), date(2026, 9, 1)):
        for f in firms:
            amount = v.amount(5000, 8000000, 0.01)
            rows.append([f.uscc, m, v.rng.randint(3, 2000), amount, round(amount * 0.13, 2)])
    return t.items, rows


@table("credit-evaluation", "csv")
def credit_evaluation(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 3000, {
        "主体名称": lambda r: r.firm.name,
        "评价等级": lambda r: v.weighted((("A", 30), ("B", 55), ("C", 12), ("D", 3))),
        "评价日期": lambda r: v.day(date(2026, 1, 1), AS_OF),
    })


@table("catalogue-statistics", "xlsx")
def catalogue_statistics(v: Values, t: Ctx) -> Rows:
    rows: list[list[Cell]] = []
    for i, q in enumerate(QUARTERS):
        for _slug, title, _en, _short in DEPARTMENTS:
            total = 20 + 2 * i + v.rng.randint(0, 40)
            rows.append([q, title, total, total * v.rng.randint(8, 14), int(total * 0.55),
                         int(total * 0.85)])
    return t.items, rows


@table("public-toilets", "gbk")
def public_toilets(v: Values, t: Ctx) -> Rows:
    return listing(v, t, 1500, {
        "公厕名称": lambda r: f"{r.road}{v.pick(('公厕', '公共厕所', '环卫公厕'))}",
        "开放时间": lambda r: v.pick(("24小时", "05:00-23:00", "06:00-22:00")),
        "无障碍厕位": lambda r: v.rng.random() < 0.6,
    })


# --- districts ---------------------------------------------------------------------------------


@table("elderly-care", "xlsx", scope="district")
def district_elderly_care(v: Values, t: Ctx) -> Rows:
    def kind_of(r: Row) -> str:
        return r.once("kind", lambda: v.weighted((("养老院", 25), ("居家养老服务照料中心", 60),
                                                  ("护理院", 15))))

    def name(r: Row) -> str:
        return f"{r.district.name}{r.street.removesuffix('街道')}{kind_of(r)}"

    return listing(v, t, v.rng.randint(50, 150), {
        "机构名称": name,
        "机构类型": kind_of,
        "床位数": lambda r: v.rng.randint(10, 60) if "照料" in kind_of(r)
        else v.rng.randint(60, 500),
        "收费标准": lambda r: f"{v.rng.randint(20, 80) * 100}-{v.rng.randint(81, 150) * 100}元/月",
    })


# --- the resource added for the personal tables (issue 5) ------------------------------------

ELDERLY_WORKERS = {
    "name": "elderly-care-workers",
    "title": "养老服务人员信息",
    "title_en": "Elderly care workers",
    "owner_org": "mzj",
    "abstract": "全市养老机构和居家养老服务照料中心从业人员的姓名、证件号码、联系方式和职业资格，"
                "用于养老服务质量监管和护理员补贴发放。",
    "classification": "topic",
    "theme": "19",
    "format": "spreadsheet",
    "update_cycle": "quarterly",
    "published": "2025-03-18",
    "temporal_start": "2023-01-01",
    "spatial": "杭州市",
    "license_id": "hz-open-data",
    "tags": ["养老", "养老服务", "护理员", "社会福利"],
    "items": "姓名:C:50|公民身份号码:C:18|性别:C:2|手机号码:C:11|所在机构:C:200|"
             "所属区县:C:50|岗位:C:20|职业资格:C:50|从业日期:D::",
}


@table("elderly-care-workers", "xlsx")
def elderly_care_workers(v: Values, t: Ctx) -> Rows:
    roles = (("养老护理员", 70), ("医生", 5), ("护士", 10), ("社会工作者", 8), ("康复治疗师", 4),
             ("院长", 3))
    levels = {"养老护理员": ("养老护理员（初级）", "养老护理员（中级）", "养老护理员（高级）",
                             "养老护理员（技师）"),
              "医生": ("执业医师",), "护士": ("护士执业资格",),
              "社会工作者": ("助理社会工作师", "社会工作师"),
              "康复治疗师": ("康复医学治疗技术（初级）",), "院长": ("养老院院长培训合格",)}

    def person(r: Row) -> Any:
        return r.once("worker", lambda: v.person(r.district, born=(1962, 2002)))

    return listing(v, t, 1200, {
        "姓名": lambda r: person(r).name,
        "公民身份号码": lambda r: person(r).id_number,
        "性别": lambda r: person(r).sex,
        "手机号码": lambda r: person(r).mobile,
        "所在机构": lambda r: f"{r.district.name}{r.street.removesuffix('街道')}"
                          f"{v.pick(('养老院', '居家养老服务照料中心', '护理院'))}",
        "岗位": lambda r: r.once("role", lambda: v.weighted(roles)),
        "职业资格": lambda r: v.pick(levels[r.once("role", lambda: v.weighted(roles))]),
        "从业日期": lambda r: v.day(date(2010, 1, 1), AS_OF),
    })


