"""Realistic values for the demo city's tables: Hangzhou's districts with their sub-districts,
roads and coordinates, fictional people (names, resident ID numbers, mobiles), fictional
enterprises (names, unified social credit codes) and codes with leading zeros.

Every value is drawn from a ``random.Random`` the caller seeds, so the same seed gives the same
values. The people and enterprises are fictional: names are random combinations of common
characters and numbers are random draws that only respect the format rules (GB 11643 check
digit, GB 32100 check character, the mobile number plan); they come from no register."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import accumulate
from typing import Any

from zhihui.demo.city import USCC_ALPHABET, org_code_check_char, uscc_check_char
from zhihui.privacy.detect import resident_id_check_digit


def words(text: str) -> tuple[str, ...]:
    """A tuple from whitespace-separated words: long lists of Chinese words stay readable."""
    return tuple(text.split())


@dataclass(frozen=True)
class District:
    """A district or county of Hangzhou: its GB/T 2260 code, a centre and spread in degrees
    (WGS-84) for plausible points, its postal code, sub-districts (街道/镇) and main roads."""

    name: str
    code: str
    lon: float
    lat: float
    spread: float
    postcode: str
    weight: int  # roughly its share of the city's population and firms
    streets: tuple[str, ...]
    roads: tuple[str, ...]
    # the division code people born here before the 2021 redistricting carry in their ID
    birth_code: str = ""

    @property
    def short(self) -> str:
        return self.name


def _d(name: str, code: str, lon: float, lat: float, spread: float, postcode: str, weight: int,
       streets: str, roads: str, birth_code: str = "") -> District:
    return District(name, code, lon, lat, spread, postcode, weight, tuple(streets.split()),
                    tuple(roads.split()), birth_code or code)


DISTRICTS: tuple[District, ...] = (
    _d("上城区", "330102", 120.185, 30.262, 0.035, "310002", 14,
       "湖滨街道 小营街道 清波街道 望江街道 南星街道 紫阳街道 凯旋街道 采荷街道 闸弄口街道 "
       "四季青街道 笕桥街道 彭埠街道 九堡街道 丁兰街道",
       "解放路 延安路 庆春路 中山中路 清泰街 秋涛路 凤起东路 钱江路 新塘路 景昙路 艮山西路"),
    _d("拱墅区", "330105", 120.145, 30.318, 0.03, "310011", 12,
       "米市巷街道 湖墅街道 小河街道 和睦街道 拱宸桥街道 大关街道 上塘街道 祥符街道 康桥街道 "
       "半山街道 天水街道 武林街道 长庆街道 朝晖街道 石桥街道",
       "莫干山路 湖墅南路 上塘路 香积寺路 大关路 丽水路 绍兴路 石祥路 体育场路 登云路"),
    _d("西湖区", "330106", 120.105, 30.265, 0.045, "310012", 14,
       "北山街道 西溪街道 灵隐街道 翠苑街道 文新街道 古荡街道 西湖街道 转塘街道 留下街道 "
       "蒋村街道 三墩镇 双浦镇",
       "文三路 文二路 天目山路 古墩路 学院路 教工路 文一西路 留和路 之江路 西溪路 紫金港路"),
    _d("滨江区", "330108", 120.2, 30.195, 0.025, "310051", 8,
       "西兴街道 长河街道 浦沿街道",
       "江南大道 滨盛路 江陵路 网商路 长河路 六和路 滨安路 闻涛路 物联网街 聚才路"),
    _d("萧山区", "330109", 120.27, 30.17, 0.08, "311200", 14,
       "城厢街道 北干街道 蜀山街道 新塘街道 宁围街道 新街街道 闻堰街道 瓜沥镇 义桥镇 临浦镇",
       "金城路 人民路 市心路 山阴路 通惠路 鸿宁路 风情大道 萧绍路 建设一路 博奥路"),
    _d("余杭区", "330110", 119.99, 30.33, 0.07, "311121", 11,
       "五常街道 仓前街道 余杭街道 闲林街道 中泰街道 良渚街道 仁和街道 瓶窑镇 径山镇 黄湖镇",
       "文一西路 五常大道 良睦路 余杭塘路 高教路 良渚大道 荆长大道 海曙路 向往街"),
    _d("临平区", "330113", 120.3, 30.42, 0.05, "311100", 8,
       "临平街道 南苑街道 东湖街道 星桥街道 乔司街道 运河街道 崇贤街道 塘栖镇",
       "人民大道 迎宾路 世纪大道 藕花洲大街 星桥路 望梅路 东湖中路 超山路", "330110"),
    _d("钱塘区", "330114", 120.4, 30.3, 0.06, "310018", 7,
       "白杨街道 下沙街道 河庄街道 义蓬街道 新湾街道 临江街道 前进街道",
       "学林街 文泽路 学源街 下沙路 金沙大道 青六中路 江东大道 福城路", "330104"),
    _d("富阳区", "330111", 119.96, 30.05, 0.09, "311400", 6,
       "富春街道 东洲街道 银湖街道 鹿山街道 春江街道 场口镇 新登镇 万市镇",
       "富春街 江滨西大道 金桥北路 桂花西路 新登路 恩波大道 孙权路", "330183"),
    _d("临安区", "330112", 119.72, 30.23, 0.12, "311300", 5,
       "锦城街道 锦北街道 玲珑街道 青山湖街道 於潜镇 昌化镇 太湖源镇 天目山镇",
       "钱王街 衣锦街 锦城路 万马路 科技大道 苕溪北路 石镜街", "330185"),
    _d("桐庐县", "330122", 119.69, 29.8, 0.1, "311500", 3,
       "桐君街道 旧县街道 城南街道 凤川街道 分水镇 富春江镇 横村镇",
       "迎春南路 白云源路 学圣路 富春路 春江路 梅林路 瑶琳路"),
    _d("淳安县", "330127", 119.04, 29.61, 0.15, "311700", 2,
       "千岛湖镇 文昌镇 石林镇 威坪镇 汾口镇 临岐镇",
       "新安大街 环湖北路 阳光路 开化路 梦姑路 青溪大道 排岭路"),
    _d("建德市", "330182", 119.28, 29.47, 0.12, "311600", 3,
       "新安江街道 洋溪街道 更楼街道 梅城镇 寿昌镇 乾潭镇 大同镇",
       "新安东路 严州大道 白沙路 江滨中路 府前路 洋安大道 新安路"),
)
DISTRICT_BY_NAME = {d.name: d for d in DISTRICTS}
AS_OF = date(2026, 10, 31)  # the day the demo's data is "as of"
# Hangzhou's bounding box (WGS-84): every generated point lies inside it.
LON_RANGE = (118.35, 120.72)
LAT_RANGE = (29.19, 30.56)

# Where people not born in Hangzhou come from (GB/T 2260 codes of real counties).
BIRTHPLACES_ELSEWHERE = ("330302", "330381", "330621", "330681", "330782", "331002", "340102",
                         "340822", "360102", "362330", "410102", "411503", "510104", "511381",
                         "320102", "321282", "430102", "500101", "522601", "130102")

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜"
            "叶程苏魏吕丁任沈姚卢姜钟陆汪范金石廖贾夏方邹孟熊秦邱江薛雷侯史陶黎顾毛邵钱严俞楼")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅林斌宇浩凯晨欣怡"
         "佳琪雨涵子轩梓博文彬晓东海燕雪慧颖倩婷瑶琳昊天宏志俊峰嘉诚思远一鸣")

FIRM_WORDS = words("恒达 华信 博远 天成 鑫源 创新 中和 瑞丰 汇通 启明 云帆 星辰 锦程 东方 "
                   "远景 德胜 "
              "永安 宏业 新元 智联 数澜 青禾 之江 钱潮 西溪 湖畔 运河 良渚 富春 新安 千岛 钱塘 "
              "杭翔 越达 正泰 鼎盛 佳和 明德 金诚 嘉禾 融创 晟邦 易途 聚能 科锐 优品")
FIRM_TRADES = (("科技有限公司", 14), ("网络科技有限公司", 10), ("信息技术有限公司", 8),
               ("电子商务有限公司", 8), ("贸易有限公司", 8), ("餐饮管理有限公司", 6),
               ("建筑工程有限公司", 5), ("生物医药有限公司", 3), ("智能装备有限公司", 4),
               ("文化传媒有限公司", 5), ("物流有限公司", 4), ("实业有限公司", 5),
               ("服饰有限公司", 3), ("新材料股份有限公司", 2), ("环保科技有限公司", 3),
               ("医疗器械有限公司", 2), ("食品有限公司", 3), ("汽车服务有限公司", 3))
# Mobile prefixes in common use (a subset of detect.MOBILE_PREFIXES).
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "166", "173", "177", "180",
                   "181", "182", "183", "186", "187", "188", "189", "191", "198", "199")


@dataclass(frozen=True)
class Person:
    name: str
    sex: str  # 男 / 女
    birth: date
    id_number: str
    mobile: str


@dataclass(frozen=True)
class Firm:
    name: str
    uscc: str
    legal_rep: str
    founded: date
    district: District


_CUMULATIVE: dict[tuple[tuple[str, int], ...], list[int]] = {}
_DISTRICT_CUMULATIVE = list(accumulate(d.weight for d in DISTRICTS))


class Values:
    """A seeded source of realistic values (one per table, so tables do not shift each
    other's values when one changes)."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)
        self._usccs: set[str] = set()

    # --- generic -------------------------------------------------------------------------
    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return self.rng.choice(options)

    def weighted(self, options: tuple[tuple[str, int], ...]) -> str:
        cum = _CUMULATIVE.get(options)
        if cum is None:
            cum = _CUMULATIVE[options] = list(accumulate(o[1] for o in options))
        return options[bisect(cum, self.rng.random() * cum[-1])][0]

    def digits(self, n: int) -> str:
        return f"{self.rng.randrange(10 ** n):0{n}d}"

    def code(self, number: int, width: int, prefix: str = "") -> str:
        """A code with leading zeros, as departments number things: 000123."""
        return f"{prefix}{number:0{width}d}"

    def day(self, start: date = date(2023, 1, 1), end: date = date(2026, 10, 31)) -> date:
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def moment(self, start: date = date(2023, 1, 1), end: date = date(2026, 10, 31)
               ) -> datetime:
        d = self.day(start, end)
        return datetime(d.year, d.month, d.day, self.rng.randint(7, 20), self.rng.randint(0, 59),
                        self.rng.randint(0, 59))

    def amount(self, low: float, high: float, step: float = 1.0) -> float:
        return round(round(self.rng.uniform(low, high) / step) * step, 2)

    # --- places --------------------------------------------------------------------------
    def district(self) -> District:
        return DISTRICTS[bisect(_DISTRICT_CUMULATIVE, self.rng.random() * _DISTRICT_CUMULATIVE[-1])]

    def point(self, d: District) -> tuple[float, float]:
        lon = min(max(self.rng.gauss(d.lon, d.spread / 2), LON_RANGE[0]), LON_RANGE[1])
        lat = min(max(self.rng.gauss(d.lat, d.spread / 2), LAT_RANGE[0]), LAT_RANGE[1])
        return round(lon, 6), round(lat, 6)

    def address(self, d: District, road: str | None = None) -> str:
        return f"杭州市{d.name}{road or self.pick(d.roads)}{self.rng.randint(1, 999)}号"

    def fixed_line(self) -> str:
        """A Hangzhou fixed-line number (area code 0571, eight-digit local numbers)."""
        return f"0571-{self.rng.choice('5678')}{self.digits(7)}"

    def mobile(self) -> str:
        return self.pick(MOBILE_PREFIXES) + self.digits(8)

    # --- people --------------------------------------------------------------------------
    def name(self) -> str:
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2, 2))))
        return self.rng.choice(SURNAMES) + given

    def person(self, d: District | None = None, born: tuple[int, int] = (1955, 2003)) -> Person:
        """A fictional resident: the ID number carries the birthplace's division code (a
        Hangzhou district most of the time), the birth date, a sequence whose parity is the
        sex, and the GB 11643 check digit."""
        if d is not None and self.rng.random() < 0.7:
            region = d.birth_code
        elif self.rng.random() < 0.5:
            region = self.district().birth_code
        else:
            region = self.pick(BIRTHPLACES_ELSEWHERE)
        birth = self.day(date(born[0], 1, 1), date(born[1], 12, 31))
        sex = self.rng.choice("男女")
        seq = self.rng.randrange(0, 500) * 2 + (1 if sex == "男" else 0)
        first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
        return Person(self.name(), sex, birth, first17 + resident_id_check_digit(first17),
                      self.mobile())

    # --- organisations -------------------------------------------------------------------
    def uscc(self, division: str, authority_category: str = "91",
             since_2015: bool | None = None) -> str:
        """A unified social credit code (GB 32100-2015): registering authority and category
        (91 enterprise, 92 individual business, 52 private non-enterprise unit …), the
        division, an organisation code with its GB 11714 check character, the check
        character; unique within this source. Codes first issued since 2015 start MA; older
        ones keep the holder's 8-digit organisation code (``since_2015`` None: 70% new)."""
        while True:
            new = self.rng.random() < 0.7 if since_2015 is None else since_2015
            body = ("MA" + "".join(self.rng.choice(USCC_ALPHABET[:30]) for _ in range(6))
                    if new else self.digits(8))
            first17 = authority_category + division + body + org_code_check_char(body)
            code = first17 + uscc_check_char(first17)
            if code not in self._usccs:
                self._usccs.add(code)
                return code

    def firm_name(self, d: District | None = None) -> str:
        roll = self.rng.random()
        place = "杭州" if roll < 0.6 or d is None else "浙江" if roll < 0.8 else f"杭州{d.name[:2]}"
        return f"{place}{self.pick(FIRM_WORDS)}{self.weighted(FIRM_TRADES)}"

    def firm(self, d: District | None = None, founded: tuple[int, int] = (2003, 2026)) -> Firm:
        d = d or self.district()
        day = self.day(date(founded[0], 1, 1), date(founded[1], 10, 31))
        return Firm(self.firm_name(d), self.uscc(d.code, since_2015=day.year >= 2015),
                    self.name(), day, d)


class Row:
    """One generated row: a district and a point in it, and, drawn when a column first asks,
    an address, a firm and a person, so that the columns of a row agree with each other."""

    def __init__(self, v: Values, i: int, d: District | None = None) -> None:
        self.v = v
        self.i = i
        self.district = d or v.district()
        self._memo: dict[str, Any] = {}

    @cached_property
    def street(self) -> str:
        return self.v.pick(self.district.streets)

    @cached_property
    def road(self) -> str:
        return self.v.pick(self.district.roads)

    @cached_property
    def location(self) -> tuple[float, float]:
        return self.v.point(self.district)

    @property
    def lon(self) -> float:
        return self.location[0]

    @property
    def lat(self) -> float:
        return self.location[1]

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """A value several columns of the row share (the kind of school that names it and
        fills its 办学类型 column), drawn by whichever column asks first."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    @cached_property
    def address(self) -> str:
        return self.v.address(self.district, self.road)

    @cached_property
    def firm(self) -> Firm:
        return self.v.firm(self.district)

    @cached_property
    def person(self) -> Person:
        return self.v.person(self.district)

    @cached_property
    def phone(self) -> str:
        return self.v.fixed_line()
