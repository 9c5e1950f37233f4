"""Validators for personal identifiers and a scanner for free text.

Each validator checks what can be checked (check digits, region codes, birth dates, number
plans), so a random string of the right length is rejected. `scan_text` finds candidates with
cheap patterns, keeps those a validator accepts and returns them masked: the scanner never
hands back the value it found (Art. 50: what was collected must not leak, not even in a report).
"""

from __future__ import annotations

import bisect
import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Types, in the order scan_text prefers them when two candidates overlap.
EMAIL = "email"
RESIDENT_ID = "resident_id"
USCC = "uscc"
BANK_CARD = "bank_card"
MOBILE = "mobile"
FIXED_LINE = "fixed_line"
PASSPORT = "passport"
TRAVEL_PERMIT = "travel_permit"
VEHICLE_PLATE = "vehicle_plate"
IP_ADDRESS = "ip_address"
COORDINATES = "coordinates"
ADDRESS = "address"
PERSON_NAME = "person_name"

TYPES: tuple[str, ...] = (
    EMAIL, RESIDENT_ID, USCC, BANK_CARD, MOBILE, FIXED_LINE, PASSPORT, TRAVEL_PERMIT,
    VEHICLE_PLATE, IP_ADDRESS, COORDINATES, ADDRESS, PERSON_NAME,
)


@dataclass(frozen=True)
class Finding:
    """One identifier found in a text: its type, where it is, and a masked copy."""

    type: str
    start: int
    end: int
    value_masked: str


# Full-width digits, letters, ＋－．＠ and the ideographic space, mapped one character to one
# character so that offsets found in the normalised text are offsets in the original. Full-width
# punctuation such as ：and ，stays: it is how Chinese text separates a label from a value.
_FULLWIDTH = {ord(c) + 0xFEE0: ord(c) for c in "0123456789+-.@"} | {0x3000: 0x20}
_FULLWIDTH |= {c + 0xFEE0: c for c in range(ord("A"), ord("Z") + 1)}
_FULLWIDTH |= {c + 0xFEE0: c for c in range(ord("a"), ord("z") + 1)}


def _normalise(text: str) -> str:
    return text.translate(_FULLWIDTH)


# ---------------------------------------------------------------- region codes (GB/T 2260)

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


PROVINCE_CODES = _words(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82"
)
# Residence permits for Hong Kong, Macao and Taiwan residents (2018) use these region codes.
_PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})
# Codes assigned after the table python-stdnum ships: Hangzhou's 2021 reorganisation (国函
# 〔2021〕25号) made 临平区 and 钱塘区; people registered there carry these codes.
_NEWER_REGIONS = frozenset({"330113", "330114"})


@cache
def region_codes() -> frozenset[str]:
    """Six-digit county-level codes ever assigned (GB/T 2260, with abolished ones).

    Read from the table python-stdnum ships (stdnum/cn/loc.dat, compiled from Wikipedia's
    lists of administrative division codes); no network. Empty if stdnum is not installed,
    in which case only the province (first two digits) is checked.
    """
    try:
        import stdnum
    except ImportError:  # pragma: no cover - stdnum is a dependency
        return frozenset()
    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    if not path.exists():  # pragma: no cover
        return frozenset()
    codes: set[str] = set(_PERMIT_REGIONS | _NEWER_REGIONS)
    province = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        head = line.split(" ", 1)[0] if not line.startswith(" ") else ""
        if head:
            province = head
            codes.add(province + "0000")
        else:
            codes.add(province + line.split()[0])
    return frozenset(codes)


def is_region_code(code: str) -> bool:
    """A known six-digit region code (or, without the table, a known province)."""
    if len(code) != 6 or not code.isdigit() or code[:2] not in PROVINCE_CODES:
        return False
    table = region_codes()
    return not table or code in table


# ------------------------------------------------------------- resident ID (GB 11643-1999)

_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def resident_id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _birth_date(text: str, today: dt.date | None) -> dt.date | None:
    try:
        born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    if born < dt.date(1900, 1, 1) or born > (today or dt.date.today()):
        return None
    return born


def is_resident_id(value: str, today: dt.date | None = None) -> bool:
    """A resident identity card number: 18 characters with a valid check digit, region code
    and birth date not in the future, or the old 15-digit form (region, YYMMDD, sequence)."""
    value = _normalise(value).strip().upper()
    if len(value) == 18:
        if not value[:17].isdigit() or value[17] != resident_id_check_digit(value[:17]):
            return False
        return is_region_code(value[:6]) and _birth_date(value[6:14], today) is not None
    if len(value) == 15 and value.isdigit():
        return is_region_code(value[:6]) and _birth_date("19" + value[6:12], today) is not None
    return False


# ----------------------------------------------------- unified social credit code (GB 32100)

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
# Registering authorities: 1-9 and, since the 2016 additions, A (military reform office),
# N (agriculture) and Y (others). python-stdnum's cn.uscc accepts digits only here.
USCC_AUTHORITIES = frozenset("123456789ANY")
_USCC_REGION_PREFIXES = PROVINCE_CODES | {"10"}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character (MOD 31 over the code's 31-character alphabet)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The GB 11714 check character of an organisation code (positions 9-17 of a USCC)."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def is_uscc(value: str) -> bool:
    """A unified social credit code: authority, category, region, organisation code with its
    own GB 11714 check character, and the GB 32100 check character."""
    value = _normalise(value).strip().upper()
    if len(value) != 18 or any(c not in USCC_ALPHABET for c in value):
        return False
    if value[0] not in USCC_AUTHORITIES or value[1] not in "123456789":
        return False
    # Region: a province, or 100000 for organisations registered at the central level.
    if not value[2:8].isdigit() or value[2:4] not in _USCC_REGION_PREFIXES:
        return False
    if org_code_check_char(value[8:16]) != value[16]:
        return False
    return uscc_check_char(value[:17]) == value[17]


def is_individual_business(value: str) -> bool:
    """A USCC of an individual business (个体工商户, authority 9, category 2): it names a
    person, so it is personal information although most USCCs are not."""
    return is_uscc(value) and _normalise(value).strip().upper().startswith("92")


# ------------------------------------------------------------------------- telephones

# Mainland mobile prefixes (MIIT number plan): 13x; 145-149 (140, 141 and 144 are 13-digit
# IoT numbers); 15x except 154; 162, 165-167; 170-178; 18x; 19x (190-199, all opened by 2019).
MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "146", "147", "148", "149"]
    + [f"15{d}" for d in range(10) if d != 4]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in range(9)]
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in range(10)]
)
# Not inside a longer code or a decimal number (15155565038.50 is an amount).
_NUM_BEFORE = r"(?<![0-9A-Za-z])(?<![0-9]\.)"
_NUM_AFTER = r"(?![0-9A-Za-z])(?!\.[0-9])"
_MOBILE_RE = re.compile(
    _NUM_BEFORE + r"(?:(?:\+|00)?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})" + _NUM_AFTER
)


def is_mobile(value: str) -> bool:
    """A mainland mobile number, with optional +86/0086/86 and spaces or hyphens."""
    m = _MOBILE_RE.fullmatch(_normalise(value).strip())
    return bool(m) and m.group(1) in MOBILE_PREFIXES


# Area codes: 010, 02x, and 0 + three digits from 03xx to 09xx; local numbers of 7 or 8
# digits not starting with 0 or 1. The separator is required in text: without it a
# 11-12 digit string is as likely an order number.
_FIXED_RE = re.compile(
    r"(?<![0-9])(?:\(?(?:\+86[ -]?)?(0(?:10|2[0-9]|[3-9][0-9]{2}))\)?[ -]|"
    r"\((0(?:10|2[0-9]|[3-9][0-9]{2}))\))([2-9][0-9]{6,7})(?:-[0-9]{1,5})?(?![0-9])"
)

_FIXED_COMPACT_RE = re.compile(r"0(?:10|2[0-9]|[3-9][0-9]{2})[2-9][0-9]{6,7}")


def is_fixed_line(value: str) -> bool:
    """A mainland fixed-line number with its area code: 0571-87654321, (010) 6512 3456."""
    text = _normalise(value).strip()
    text = re.sub(r"(?<=[0-9]) (?=[0-9]{4}$)", "", text)  # 6512 3456 -> 65123456
    # In a column the separator may be missing: 057187654321.
    return bool(_FIXED_RE.fullmatch(text) or _FIXED_COMPACT_RE.fullmatch(text))


# ----------------------------------------------------------------------- bank cards


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# Issuer prefixes and lengths of cards used in China: UnionPay 62 (16-19 digits), Visa 4 (16
# or 19), Mastercard 51-55 (16), JCB 35 and Discover 60/65 (16-19). All start with 3-6.
_CARD_PREFIX_RE = re.compile(r"(62|60|65|35)[0-9]{14,17}|4[0-9]{15}(?:[0-9]{3})?|5[1-5][0-9]{14}")


def is_bank_card(value: str) -> bool:
    """A payment card number: a known issuer prefix and length, and a valid Luhn digit.

    18 digits that start with a region code and a birth date are a mistyped ID number more
    likely than a card (18-digit cards are rare): not reported as a card."""
    digits = re.sub(r"[ -]", "", _normalise(value).strip())
    if not _CARD_PREFIX_RE.fullmatch(digits) or not luhn_ok(digits):
        return False
    return not (
        len(digits) == 18 and is_region_code(digits[:6]) and _birth_date(digits[6:14], None)
    )


# ------------------------------------------------------------- e-mail, documents, plates

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)


def is_email(value: str) -> bool:
    return bool(_EMAIL_RE.fullmatch(_normalise(value).strip()))


# Chinese ordinary passports: E + 8 digits, then E + letter + 7 digits once the digits ran
# out; older G + 8 digits; diplomatic, service and public-affairs passports DE/SE/PE + 7.
_PASSPORT_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:E[0-9A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|[DSP]E[0-9]{7})(?![0-9A-Za-z])"
)
# Exit-entry permits: to Hong Kong and Macao (card, 2014) C + 8 characters; to Taiwan (card,
# 2016) L + 8 digits; Hong Kong and Macao residents' home-return permits H/M + 8 digits
# (older booklets H/M + 10 digits).
_PERMIT_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:C[0-9A-HJ-NP-Z][0-9]{7}|L[0-9]{8}|[HM][0-9]{8}(?:[0-9]{2})?)"
    r"(?![0-9A-Za-z])"
)


def is_passport(value: str) -> bool:
    return bool(_PASSPORT_RE.fullmatch(_normalise(value).strip().upper()))


def is_travel_permit(value: str) -> bool:
    """A permit for travel to or from Hong Kong, Macao or Taiwan (see _PERMIT_RE)."""
    return bool(_PERMIT_RE.fullmatch(_normalise(value).strip().upper()))


PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_CHAR = "[A-HJ-NP-Z0-9]"
# Province + issuing-office letter + 5 characters (the last may be 挂/学/警/港/澳), or the
# 8-character new-energy plates: D/F + 5 (small cars) or 5 digits + D/F (large vehicles).
_PLATE_RE = re.compile(
    rf"[{PLATE_PROVINCES}][A-HJ-NP-Z][·• ]?"
    rf"(?:[DF]{_PLATE_CHAR}[0-9]{{4}}|[0-9]{{5}}[DF]|{_PLATE_CHAR}{{4}}[A-HJ-NP-Z0-9挂学警港澳])"
    r"(?![0-9A-Za-z])"
)


def is_vehicle_plate(value: str) -> bool:
    return bool(_PLATE_RE.fullmatch(_normalise(value).strip().upper()))


# ------------------------------------------------------------------ IP, coordinates

_IPV4_RE = re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z.])")
_IPV6_RE = re.compile(
    r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])"
)


def is_ip_address(value: str) -> bool:
    value = _normalise(value).strip()
    if ":" in value and len(value) < 3:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# Mainland China, Hainan and the South China Sea islands, loosely.
LAT_RANGE = (3.8, 53.6)
LON_RANGE = (73.4, 135.1)
_COORD_RE = re.compile(
    r"(?<![0-9.])(-?[0-9]{1,3}\.[0-9]{4,})\s*[,，]\s*(-?[0-9]{1,3}\.[0-9]{4,})(?![0-9.])"
)
_DEGREE_RE = re.compile(r"-?[0-9]{1,3}\.[0-9]{4,}")


def _in(x: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= x <= bounds[1]


def is_coordinate_pair(value: str) -> bool:
    """"lon, lat" or "lat, lon", both with at least 4 decimals (about 11 m), inside China."""
    m = _COORD_RE.fullmatch(_normalise(value).strip())
    if not m:
        return False
    a, b = float(m.group(1)), float(m.group(2))
    return (_in(a, LON_RANGE) and _in(b, LAT_RANGE)) or (_in(a, LAT_RANGE) and _in(b, LON_RANGE))


def is_precise_degree(value: str, axis: str) -> bool:
    """One latitude ("lat") or longitude ("lon") with at least 4 decimals, inside China."""
    value = _normalise(value).strip()
    if not _DEGREE_RE.fullmatch(value):
        return False
    return _in(float(value), LAT_RANGE if axis == "lat" else LON_RANGE)


# ------------------------------------------------------------------------- addresses

_PROVINCE_NAMES = (
    "黑龙江|内蒙古|北京|天津|上海|重庆|河北|山西|辽宁|吉林|江苏|浙江|安徽|福建|江西|山东|"
    "河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|广西|西藏|宁夏|新疆|香港|澳门"
)
_HAN = "\u4e00-\u9fff"
_NUM = "[0-9一二三四五六七八九十百零〇]+"
_ADDRESS_RE = re.compile(
    rf"(?:(?:{_PROVINCE_NAMES})(?:省|市|(?:[{_HAN}]{{0,4}}?)自治区|特别行政区)?)?"
    rf"(?:[{_HAN}]{{2,6}}?(?:市|自治州|地区|盟))?"
    rf"(?:[{_HAN}]{{1,6}}?(?:区|县|旗))?"
    rf"(?:[{_HAN}]{{1,8}}?(?:街道|镇|乡))?"
    rf"(?:[{_HAN}0-9]{{1,10}}?(?:大道|路|街|巷|弄|胡同|里))"
    rf"{_NUM}号"
)
_ROAD_NUMBER_RE = re.compile(rf"(?:大道|路|街|巷|弄|胡同|里){_NUM}号$")
_ADDRESS_TAIL_RE = re.compile(r"(?:[0-9]+(?:号楼|幢|栋|单元|楼|层|室)|-[0-9]+)*")
_ADMIN_RE = re.compile(rf"(?:{_PROVINCE_NAMES})|[{_HAN}](?:省|市|区|县|旗|州|镇|乡|街道)")


_PROVINCE_START_RE = re.compile(_PROVINCE_NAMES)
_NOT_ADDRESS_START = frozenset("址所于在住为是家现居系：:，, 的")
# Where an address without a province name starts: after a label, or after a non-Han character.
_ADDRESS_LABEL_RE = re.compile(
    rf"(?:住在|位于|居住于|居住在|住址|地址|家住|现住|住所|坐落于|地处|在|于|址)(?=[{_HAN}])"
)
_AFTER_NON_HAN_RE = re.compile(rf"[^{_HAN}](?=[{_HAN}])")


def is_address(value: str) -> bool:
    """A postal address down to the house number, with at least one administrative level
    (province, city, district or county, town or street office): 杭州市西湖区文三路90号."""
    value = _normalise(value).strip()
    m = _ADDRESS_RE.match(value)
    if not m or not _ADMIN_RE.search(m.group(0)):
        return False
    tail = _ADDRESS_TAIL_RE.match(value, m.end())
    return tail is not None and tail.end() == len(value)


def _scan_addresses(text: str) -> list[tuple[int, int]]:
    # Every address ends its street part with 号: look back from each 号 instead of trying
    # the pattern at every character of a long Chinese text.
    spans = []
    pos = text.find("号")
    while pos != -1:
        lo = max(0, pos - 48)
        window = text[lo : pos + 1]
        if not _ROAD_NUMBER_RE.search(window):
            pos = text.find("号", pos + 1)
            continue
        # An address starts at a province name if it has one; otherwise at the leftmost
        # character that is not part of a label such as 住址 or 位于.
        starts = [p.start() for p in _PROVINCE_START_RE.finditer(window)]
        starts += [p.end() for p in _ADDRESS_LABEL_RE.finditer(window)]
        starts += [p.end() for p in _AFTER_NON_HAN_RE.finditer(window)]
        starts += [i for i in range(len(window)) if window[i] not in _NOT_ADDRESS_START]
        for start in starts:
            m = _ADDRESS_RE.fullmatch(window, start)
            if m:
                if _ADMIN_RE.search(m.group(0)):
                    tail = _ADDRESS_TAIL_RE.match(text, pos + 1)
                    spans.append((lo + start, tail.end() if tail else pos + 1))
                break
        pos = text.find("号", pos + 1)
    return spans


# ------------------------------------------------------------------------ person names

# The most common Chinese surnames (the ~200 heading the household-register lists), and the
# compound surnames that still occur.
COMMON_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎"
    "贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧"
    "耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍"
    "华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏"
    "宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝洪谈"
)
COMPOUND_SURNAMES = _words(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 端木 西门 独孤"
)
# Words that are not names although they start with a surname character.
_NOT_NAMES = _words(
    "高新区 高新 万元 金额 王府井 江干区 方式 方法 安全 和平 时间 成功 文化 明细 司法 宁波 关于 "
    "全部 全市 全省 江苏 江西 黄山 石家庄 温州 常州 余杭 余杭区 上海 海南 湖南 湖北 无 暂无 "
    "不详 未知 男 女"
)
_NAME_RE = re.compile(rf"[{_HAN}·]{{2,6}}")


def is_person_name(value: str) -> bool:
    """2-4 Han characters starting with a common surname (or 2-6 with a compound surname).

    A value check only: it tells a column of names from a column of place or product names;
    which columns hold names is decided with their header (see classify)."""
    value = _normalise(value).strip()
    if not _NAME_RE.fullmatch(value) or value in _NOT_NAMES:
        return False
    if value[:2] in COMPOUND_SURNAMES:
        return 3 <= len(value) <= 6
    if "·" in value:  # transliterated names of ethnic minorities: 阿依古丽·买买提
        return False
    return 2 <= len(value) <= 4 and value[0] in COMMON_SURNAMES


NAME_LABELS = (
    "姓名", "联系人", "法定代表人", "法人代表", "申请人", "负责人", "经营者", "当事人", "户主",
    "被处罚人", "持卡人", "收件人", "患者", "举报人", "投诉人", "监护人", "业主",
)
_NAME_LABEL_RE = re.compile(
    "(?:" + "|".join(sorted(NAME_LABELS, key=len, reverse=True)) + rf")(?:姓名)?\s*[:：为是]?\s*"
    rf"([{_HAN}]{{2,4}})"
)
# Words that often follow a name directly in text; the name ends before them.
_AFTER_NAME = re.compile(
    "电话|手机|联系|身份|证件|性别|年龄|住址|地址|先生|女士|同志|因|于|在|的|已|系|等|为|向|于|男|女|负责"
)


def _scan_names(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _NAME_LABEL_RE.finditer(text):
        start, candidate = m.start(1), m.group(1)
        cut = _AFTER_NAME.search(candidate, 1)
        if cut:
            candidate = candidate[: cut.start()]
        if is_person_name(candidate):
            spans.append((start, start + len(candidate)))
    return spans


# ----------------------------------------------------------------------------- masking


def mask(type_: str, value: str) -> str:
    """A masked copy: enough to recognise the kind of value, not enough to use it."""
    v = value
    if type_ == RESIDENT_ID:
        return v[:6] + "*" * (len(v) - 10) + v[-4:]
    if type_ == BANK_CARD:
        digits = re.sub(r"[ -]", "", v)
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
    if type_ == MOBILE:
        digits = re.sub(r"[^0-9]", "", v)[-11:]
        return digits[:3] + "****" + digits[-4:]
    if type_ == EMAIL:
        local, _, domain = v.partition("@")
        return local[:1] + "***@" + domain
    if type_ == PERSON_NAME:
        return v[:1] + "*" * (len(v) - 1)
    if type_ == ADDRESS:
        m = re.match(r".*?(?:区|县|旗)", v)
        return (m.group(0) if m and m.end() < len(v) else v[:4]) + "***"
    if type_ == COORDINATES:
        return re.sub(r"([0-9]+\.[0-9]{2})[0-9]+", r"\1**", v)
    if type_ == IP_ADDRESS:
        if "." in v:
            return ".".join(v.split(".")[:2]) + ".*.*"
        return v.split(":")[0] + ":****"
    if type_ == VEHICLE_PLATE:
        return v[:2] + "*" * (len(v) - 4) + v[-2:]
    if type_ == USCC:
        return v[:8] + "*" * 8 + v[-2:]
    keep = 2 if len(v) > 6 else 1
    return v[:keep] + "*" * (len(v) - 2 * keep) + v[-keep:]


# ------------------------------------------------------------------------------- scan

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_USCC_RE = re.compile(
    r"(?<![0-9A-Za-z])[0-9ANY][0-9][0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Za-z])"
)
_CARD_RE = re.compile(
    _NUM_BEFORE + r"(?:[3-6][0-9]{15,18}|[3-6][0-9]{3}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)"
    + _NUM_AFTER
)


def _regex_scanner(pattern: re.Pattern[str], valid: Callable[[str], bool]):
    def scan(text: str) -> list[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text) if valid(m.group(0))]

    return scan


def _scan_coordinates(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _COORD_RE.finditer(text) if is_coordinate_pair(m.group(0))]


def _scan_ipv6(text: str) -> list[tuple[int, int]]:
    return [
        m.span()
        for m in _IPV6_RE.finditer(text)
        if sum(c.isalnum() for c in m.group(0)) >= 2 and is_ip_address(m.group(0))
    ]


_SCANNERS: tuple[tuple[str, Callable[[str], list[tuple[int, int]]]], ...] = (
    (EMAIL, _regex_scanner(_EMAIL_RE, lambda v: True)),
    (RESIDENT_ID, _regex_scanner(_ID_RE, is_resident_id)),
    (USCC, _regex_scanner(_USCC_RE, is_uscc)),
    (BANK_CARD, _regex_scanner(_CARD_RE, is_bank_card)),
    (MOBILE, _regex_scanner(_MOBILE_RE, is_mobile)),
    (FIXED_LINE, _regex_scanner(_FIXED_RE, lambda v: True)),
    (PASSPORT, _regex_scanner(_PASSPORT_RE, lambda v: True)),
    (TRAVEL_PERMIT, _regex_scanner(_PERMIT_RE, lambda v: True)),
    (VEHICLE_PLATE, _regex_scanner(_PLATE_RE, lambda v: True)),
    (IP_ADDRESS, _regex_scanner(_IPV4_RE, is_ip_address)),
    (IP_ADDRESS, _scan_ipv6),
    (COORDINATES, _scan_coordinates),
    (ADDRESS, _scan_addresses),
    (PERSON_NAME, _scan_names),
)

# Cheap tests that let a scanner be skipped on text that cannot hold its type.
_NEEDS: dict[str, Callable[[str], bool]] = {
    EMAIL: lambda t: "@" in t,
    IP_ADDRESS: lambda t: "." in t or ":" in t,
    COORDINATES: lambda t: "." in t,
    ADDRESS: lambda t: "号" in t,
}


def scan_text(text: str, types: frozenset[str] | None = None) -> list[Finding]:
    """Personal identifiers in a free text, masked, in order of position.

    Where candidates overlap the more specific type wins (an e-mail address holding a mobile
    number is an e-mail address; 18 digits that are a valid ID number are not a bank card).
    """
    norm = _normalise(text)
    # Spans taken so far, disjoint and sorted: starts and ends in two parallel lists.
    starts: list[int] = []
    ends: list[int] = []
    found: list[Finding] = []
    for type_, scan in _SCANNERS:
        if types is not None and type_ not in types:
            continue
        need = _NEEDS.get(type_)
        if need is not None and not need(norm):
            continue
        for start, end in scan(norm):
            i = bisect.bisect_left(starts, end)  # spans at i.. start at or after our end
            if i and ends[i - 1] > start:
                continue  # the span before overlaps
            starts.insert(i, start)
            ends.insert(i, end)
            found.append(Finding(type_, start, end, mask(type_, text[start:end])))
    found.sort(key=lambda f: f.start)
    return found


VALIDATORS: dict[str, Callable[[str], bool]] = {
    RESIDENT_ID: is_resident_id,
    USCC: is_uscc,
    BANK_CARD: is_bank_card,
    MOBILE: is_mobile,
    FIXED_LINE: is_fixed_line,
    EMAIL: is_email,
    PASSPORT: is_passport,
    TRAVEL_PERMIT: is_travel_permit,
    VEHICLE_PLATE: is_vehicle_plate,
    IP_ADDRESS: is_ip_address,
    COORDINATES: is_coordinate_pair,
    ADDRESS: is_address,
    PERSON_NAME: is_person_name,
}
