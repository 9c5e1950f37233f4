"""Precision and recall of personal-information detection (issue 5), and MB/s scanned.

    .venv/bin/python benchmarks/privacy_detect.py            # 2,000 valid values per type
    .venv/bin/python benchmarks/privacy_detect.py --per-type 200 --seed 7 --json out.json

A labelled synthetic corpus is generated deterministically (same seed, same corpus): for each
type, valid values in Chinese sentences ("联系电话：…", "公民身份号码…") and, as many, near
misses that must not be reported: wrong check digits, random strings of the same length and
alphabet, numbers outside the number plan, dates, times, amounts, order and document numbers.
A finding counts as a true positive when it overlaps a labelled value of the same type; every
other finding of that type is a false positive.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from zhihui.privacy import detect as d  # noqa: E402

# Authority + category: government bodies, institutions, associations, companies (most),
# individual businesses, cooperatives, and the 2016 authorities N (agriculture), Y, A.
USCC_HEADS = ("11", "12", "51", "52", "91", "91", "91", "92", "93", "N1", "N2", "Y1", "A1")
USCC_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国志红玉梅飞鹏辉"
CITIES = [("浙江省", "杭州市", ["西湖区", "上城区", "拱墅区", "滨江区", "余杭区", "萧山区"]),
          ("江苏省", "南京市", ["玄武区", "鼓楼区", "建邺区"]),
          ("广东省", "深圳市", ["南山区", "福田区", "宝安区"]),
          ("四川省", "成都市", ["武侯区", "锦江区", "青羊区"])]
ROADS = ["文三路", "解放路", "延安路", "天目山路", "庆春路", "中山北路", "人民大道", "学院街"]
AREA_CODES = ["010", "021", "022", "020", "0571", "0574", "0755", "028", "0431", "0898"]


class Corpus:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.labels: list[tuple[str, int, int]] = []  # (type, start, end) of valid values

    def add(self, before: str, value: str, after: str, type_: str | None) -> None:
        start = self.size + len(before)
        if type_:
            self.labels.append((type_, start, start + len(value)))
        line = before + value + after + "\n"
        self.parts.append(line)
        self.size += len(line)

    @property
    def text(self) -> str:
        return "".join(self.parts)


# ----------------------------------------------------------------------- valid values


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def resident_id(rng: random.Random, regions: list[str]) -> str:
    born = 1930 * 365 + rng.randrange(90 * 365)
    y, rest = divmod(born, 365)
    m, dd = rest // 31 + 1, rest % 28 + 1
    if rng.random() < 0.05:  # the old 15-digit form
        return f"{rng.choice(regions)}{y % 100:02d}{min(m, 12):02d}{dd:02d}{_digits(rng, 3)}"
    first17 = f"{rng.choice(regions)}{y}{min(m, 12):02d}{dd:02d}{_digits(rng, 3)}"
    return first17 + d.resident_id_check_digit(first17)


def uscc(rng: random.Random, regions: list[str]) -> str:
    head = rng.choice(USCC_HEADS)
    org8 = "".join(rng.choice(USCC_ORG_CHARS[:10] if i < 2 else USCC_ORG_CHARS) for i in range(8))
    first17 = head + rng.choice(regions) + org8 + d.org_code_check_char(org8)
    return first17 + d.uscc_check_char(first17)


def mobile(rng: random.Random) -> str:
    number = rng.choice(sorted(d.MOBILE_PREFIXES)) + _digits(rng, 8)
    style = rng.randrange(5)
    if style == 1:
        return "+86 " + number
    if style == 2:
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 3:
        return f"86{number}"
    return number


def fixed_line(rng: random.Random) -> str:
    area = rng.choice(AREA_CODES)
    local = rng.choice("2345678") + _digits(rng, 7 if len(area) == 3 else rng.choice((6, 7)))
    return f"({area}){local}" if rng.random() < 0.3 else f"{area}-{local}"


def _luhn_complete(body: str) -> str:
    return next(body + str(c) for c in range(10) if d.luhn_ok(body + str(c)))


def bank_card(rng: random.Random) -> str:
    prefix, length = rng.choice([("622202", 19), ("621700", 19), ("622848", 19),
                                 ("625", 16), ("4", 16), ("5", 16)])
    if prefix == "5":
        prefix = "5" + rng.choice("12345")
    number = _luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    if rng.random() < 0.25:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def email(rng: random.Random) -> str:
    local = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789._") for _ in range(8))
    local = "z" + local.strip("._")
    return local + "@" + rng.choice(["qq.com", "163.com", "hangzhou.gov.cn", "zju.edu.cn"])


def passport(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return "E" + _digits(rng, 8)
    if kind == 1:
        return "E" + rng.choice("ABCDEFGH") + _digits(rng, 7)
    return "G" + _digits(rng, 8)


def travel_permit(rng: random.Random) -> str:
    return rng.choice("CLH") + _digits(rng, 8)


def vehicle_plate(rng: random.Random) -> str:
    head = rng.choice(d.PLATE_PROVINCES) + rng.choice("ABCDEFGHJK")
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    kind = rng.randrange(3)
    if kind == 0:
        return head + "".join(rng.choice(letters) for _ in range(5))
    if kind == 1:
        return head + rng.choice("DF") + rng.choice(letters) + _digits(rng, 4)
    return head + _digits(rng, 5) + rng.choice("DF")


def ip_address(rng: random.Random) -> str:
    if rng.random() < 0.8:
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    return "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(3)) + "::1"


def coordinates(rng: random.Random) -> str:
    lon, lat = rng.uniform(118, 122), rng.uniform(28, 31.5)
    places = rng.choice((4, 5, 6))
    if rng.random() < 0.5:
        return f"{lon:.{places}f},{lat:.{places}f}"
    return f"{lat:.{places}f}, {lon:.{places}f}"


def address(rng: random.Random) -> str:
    province, city, districts = rng.choice(CITIES)
    text = rng.choice([province + city, city, ""]) + rng.choice(districts)
    text += rng.choice(ROADS) + str(rng.randrange(1, 999)) + "号"
    if rng.random() < 0.4:
        text += f"{rng.randrange(1, 30)}幢{rng.randrange(101, 2500)}室"
    return text


def person_name(rng: random.Random, surnames: list[str]) -> str:
    return rng.choice(surnames) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


# ------------------------------------------------------------------------ near misses


def near_misses(rng: random.Random, type_: str, value: str) -> list[str]:
    """Values that look like `value` but are not valid; one or two per valid value."""
    compact = value.replace(" ", "").replace("-", "").replace("+86", "")
    if type_ == d.RESIDENT_ID and len(value) == 18:
        wrong = value[:17] + rng.choice([c for c in "0123456789X" if c != value[17]])
        return [wrong, _digits(rng, 18)]
    if type_ == d.USCC:
        wrong = value[:17] + rng.choice([c for c in d.USCC_ALPHABET if c != value[17]])
        rand = "".join(rng.choice(d.USCC_ALPHABET) for _ in range(18))
        return [wrong, rand]
    if type_ == d.MOBILE:
        bad_prefix = rng.choice(["100", "110", "120", "125", "154", "140"]) + _digits(rng, 8)
        return [bad_prefix, rng.choice("23456789") + _digits(rng, 10)]
    if type_ == d.BANK_CARD:
        digits = compact
        wrong = digits[:-1] + str((int(digits[-1]) + rng.randrange(1, 10)) % 10)
        return [wrong, rng.choice("1278") + _digits(rng, len(digits) - 1)]
    if type_ == d.PASSPORT:
        return ["E" + _digits(rng, 7), "X" + _digits(rng, 8)]
    if type_ == d.IP_ADDRESS:
        return [".".join(str(rng.randrange(256, 999)) for _ in range(4))]
    if type_ == d.COORDINATES:
        return [f"{rng.uniform(118, 122):.3f},{rng.uniform(28, 31):.3f}",
                f"{rng.uniform(-10, 10):.5f},{rng.uniform(140, 170):.5f}"]
    return []


def everyday_numbers(rng: random.Random) -> list[str]:
    """Dates, times, amounts, order and document numbers found in government records."""
    y, m, dd = rng.randrange(1990, 2027), rng.randrange(1, 13), rng.randrange(1, 29)
    return [
        f"{y}{m:02d}{dd:02d}",
        f"{y}-{m:02d}-{dd:02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:00",
        f"{y}{m:02d}{dd:02d}{_digits(rng, 10)}",  # 18-digit order number
        f"{y}{m:02d}{dd:02d}{_digits(rng, 11)}",  # 19-digit serial number
        f"DD{y}{m:02d}{dd:02d}{_digits(rng, 6)}",
        f"￥{rng.randrange(1, 10**7):,}.{rng.randrange(100):02d}元",
        f"{rng.randrange(10**9, 10**11)}.{rng.randrange(100):02d}",
        f"杭西政〔{y}〕{rng.randrange(1, 300)}号",
    ]


CONTEXTS = {
    d.RESIDENT_ID: ("公民身份号码", "身份证号：", "证件号码 "),
    d.USCC: ("统一社会信用代码：", "信用代码", "主体代码 "),
    d.MOBILE: ("联系电话：", "手机", "电话 "),
    d.FIXED_LINE: ("办公电话：", "座机"),
    d.BANK_CARD: ("银行卡号：", "收款账号"),
    d.EMAIL: ("电子邮箱：", "邮箱 "),
    d.PASSPORT: ("护照号码：",),
    d.TRAVEL_PERMIT: ("通行证号码：",),
    d.VEHICLE_PLATE: ("车辆号牌", "车牌："),
    d.IP_ADDRESS: ("来源IP ", "登录地址："),
    d.COORDINATES: ("上报位置：", "坐标("),
    d.ADDRESS: ("住址：", "家住", "经营场所"),
    d.PERSON_NAME: ("联系人：", "当事人", "法定代表人："),
}
AFTER = ("，已核实。", "。", "；备注：无", "）申请办理")


def build_corpus(per_type: int, seed: int) -> Corpus:
    rng = random.Random(seed)
    regions = sorted(c for c in d.region_codes() if c[:2] in d.PROVINCE_CODES)
    surnames = sorted(d.COMMON_SURNAMES)
    makers = {
        d.RESIDENT_ID: lambda: resident_id(rng, regions),
        d.USCC: lambda: uscc(rng, regions),
        d.MOBILE: lambda: mobile(rng),
        d.FIXED_LINE: lambda: fixed_line(rng),
        d.BANK_CARD: lambda: bank_card(rng),
        d.EMAIL: lambda: email(rng),
        d.PASSPORT: lambda: passport(rng),
        d.TRAVEL_PERMIT: lambda: travel_permit(rng),
        d.VEHICLE_PLATE: lambda: vehicle_plate(rng),
        d.IP_ADDRESS: lambda: ip_address(rng),
        d.COORDINATES: lambda: coordinates(rng),
        d.ADDRESS: lambda: address(rng),
        d.PERSON_NAME: lambda: person_name(rng, surnames),
    }
    items: list[tuple[str, str, str | None]] = []
    for type_, make in makers.items():
        for _ in range(per_type):
            value = make()
            context = rng.choice(CONTEXTS[type_])
            items.append((context, value, type_))
            for miss in near_misses(rng, type_, value):
                items.append((context, miss, None))
    for _ in range(per_type):
        for value in everyday_numbers(rng):
            label = rng.choice(("编号", "日期", "金额", "订单号：", "文号 ", ""))
            items.append((label, value, None))
    rng.shuffle(items)
    corpus = Corpus()
    for before, value, type_ in items:
        corpus.add(before, value, rng.choice(AFTER), type_)
    return corpus


def evaluate(corpus: Corpus, findings: list[d.Finding]) -> dict[str, dict[str, float]]:
    by_type: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for type_, start, end in corpus.labels:
        by_type[type_].append((start, end))
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for f in findings:
        found[f.type].append((f.start, f.end))
    results = {}
    for type_ in d.TYPES:
        labels, spans = sorted(by_type[type_]), sorted(found[type_])
        hit_labels = _overlapping(labels, spans)
        true_spans = _overlapping(spans, labels)
        tp, fn, fp = hit_labels, len(labels) - hit_labels, len(spans) - true_spans
        results[type_] = {
            "labelled": len(labels),
            "found": len(spans),
            "precision": true_spans / len(spans) if spans else 1.0,
            "recall": tp / len(labels) if labels else 1.0,
            "false_positives": fp,
            "false_negatives": fn,
        }
    return results


def _overlapping(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """How many spans of sorted list a overlap some span of sorted list b."""
    count, j = 0, 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        if j < len(b) and b[j][0] < end:
            count += 1
    return count


def run(per_type: int, seed: int, repeat: int = 3) -> dict:
    corpus = build_corpus(per_type, seed)
    text = corpus.text
    d.region_codes()  # load the table outside the timing
    timings, findings = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        findings = d.scan_text(text)
        timings.append(time.perf_counter() - t0)
    megabytes = len(text.encode("utf-8")) / 1e6
    prose = ("根据《杭州市智慧经济促进条例》，市数据资源管理局负责公共数据的归集、共享和开放工作，"
             "各部门应当按照目录编制要求及时更新数据资源。") * max(1, int(megabytes * 1e6 / 150))
    prose_timings = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        d.scan_text(prose)
        prose_timings.append(time.perf_counter() - t0)
    prose_seconds = min(prose_timings)
    return {
        "per_type": per_type,
        "seed": seed,
        "characters": len(text),
        "megabytes": round(megabytes, 3),
        "seconds": round(min(timings), 3),
        "mb_per_s": round(megabytes / min(timings), 2),
        "prose_mb_per_s": round(len(prose.encode("utf-8")) / 1e6 / prose_seconds, 2),
        "types": evaluate(corpus, findings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=2000, help="valid values per type")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--json", type=Path, help="write the figures as JSON too")
    args = parser.parse_args()
    result = run(args.per_type, args.seed)
    print(f"corpus: {result['characters']:,} characters, {result['megabytes']} MB (UTF-8), "
          f"seed {result['seed']}, {result['per_type']} valid values per type")
    print(f"{'type':<15}{'labelled':>9}{'found':>8}{'precision':>11}{'recall':>9}{'FP':>6}{'FN':>6}")
    for type_, r in result["types"].items():
        print(f"{type_:<15}{r['labelled']:>9}{r['found']:>8}{r['precision']:>11.4f}"
              f"{r['recall']:>9.4f}{r['false_positives']:>6}{r['false_negatives']:>6}")
    print(f"scan_text: {result['mb_per_s']} MB/s on the corpus ({result['seconds']} s, best of 3); "
          f"{result['prose_mb_per_s']} MB/s on prose without identifiers (best of 3)")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
