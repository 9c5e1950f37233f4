"""Tables full of personal information, made with detect.py's own check digits so every ID
number, mobile and bank card in them is valid (a scan that finds none in an output means it
was protected, not that the data was fake)."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from zhihui.privacy import detect

REGIONS = ("330106", "330102", "330108", "330110", "330182", "110101", "310104")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
STREETS = ("文三路", "天目山路", "延安路", "庆春路", "学院路", "莫干山路")
DISTRICTS = ("杭州市西湖区", "杭州市上城区", "杭州市拱墅区", "杭州市滨江区")


def resident_id(rng: random.Random, born: date) -> str:
    first17 = rng.choice(REGIONS) + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first17 + detect.resident_id_check_digit(first17)


def mobile(rng: random.Random) -> str:
    return rng.choice(("138", "139", "158", "186", "199")) + f"{rng.randrange(10**8):08d}"


def bank_card(rng: random.Random) -> str:
    body = "622202" + "".join(str(rng.randrange(10)) for _ in range(9))
    for check in "0123456789":
        if detect.luhn_ok(body + check):
            return body + check
    raise AssertionError("no Luhn digit")


HEADERS = ["姓名", "公民身份号码", "手机号码", "银行卡号", "出生日期", "年龄", "性别",
           "居住地址", "服务项目"]


def people(n: int, seed: int = 50) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        rows.append([
            rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", rng.choice(GIVEN)]),
            resident_id(rng, born), mobile(rng), bank_card(rng), born.isoformat(),
            str(2024 - born.year), rng.choice(["男", "女"]),
            f"{rng.choice(DISTRICTS)}{rng.choice(STREETS)}{rng.randint(1, 300)}号",
            rng.choice(["助餐", "助浴", "助洁", "助医"]),
        ])
    return rows


def csv_bytes(rows: list[list[str]], headers: list[str] = HEADERS) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue().encode()


def leaks(text: str) -> list[str]:
    """Valid ID numbers, mobiles and bank cards in an output (types, never the values)."""
    wanted = frozenset({detect.RESIDENT_ID, detect.MOBILE, detect.BANK_CARD})
    return [f.type + ":" + f.value_masked for f in detect.scan_text(text, wanted)]
