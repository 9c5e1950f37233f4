"""Column classification: which columns of a table hold personal information, how sure we are.

A column is judged from its header and a sample of its values. Values that pass a validator
weigh most (a check digit is hard to pass by chance); the header decides between types a value
cannot tell apart (a name from a place name) and keeps a column flagged when its values are
unreadable: safe by default, the editor confirms or corrects.

Sensitive personal information (PIPL Art. 28: specific identity, financial accounts, whereabouts
and tracks, among others) here means: resident ID numbers, passports and travel permits (identity
documents), bank card numbers (financial accounts) and precise coordinates of a person
(whereabouts). Mobile and fixed-line numbers, e-mail, vehicle plates, IP addresses, postal
addresses and names are personal, not sensitive. A USCC identifies an organisation and is not
personal, except that of an individual business (个体工商户, code 92...), which names its owner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from zhihui.privacy import detect as d

SENSITIVE_TYPES = frozenset(
    {d.RESIDENT_ID, d.PASSPORT, d.TRAVEL_PERMIT, d.BANK_CARD, d.COORDINATES}
)
PERSONAL_TYPES = frozenset(
    {
        d.RESIDENT_ID, d.PASSPORT, d.TRAVEL_PERMIT, d.BANK_CARD, d.COORDINATES, d.MOBILE,
        d.FIXED_LINE, d.EMAIL, d.VEHICLE_PLATE, d.IP_ADDRESS, d.ADDRESS, d.PERSON_NAME,
    }
)
# Types that are about a person only when the table is about persons: the coordinates and
# address of a hospital, the switchboard of a department are not personal information.
CONTEXTUAL_TYPES = frozenset({d.COORDINATES, d.ADDRESS, d.FIXED_LINE})
# Types that single out a person by themselves.
IDENTIFYING_TYPES = frozenset(
    {d.RESIDENT_ID, d.PASSPORT, d.TRAVEL_PERMIT, d.BANK_CARD, d.MOBILE, d.PERSON_NAME, d.EMAIL}
)

# Header words, matched case-insensitively anywhere in the header. Order matters: the first
# type whose words match wins (法定代表人身份证号 is an ID number, not a name).
HEADER_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (d.USCC, ("统一社会信用代码", "信用代码", "uscc", "credit_code", "creditcode")),
    (d.RESIDENT_ID, ("身份证", "公民身份号码", "身份号码", "证件号", "id_card", "idcard", "sfzh")),
    (d.PASSPORT, ("护照", "passport")),
    (d.TRAVEL_PERMIT, ("通行证", "回乡证", "台胞证")),
    (d.BANK_CARD, ("银行卡", "银行账号", "银行帐号", "卡号", "账号", "bank_card", "card_no")),
    (d.EMAIL, ("邮箱", "电子邮件", "e-mail", "email", "mail")),
    (d.FIXED_LINE, ("固定电话", "座机", "办公电话", "传真", "fax")),
    (d.MOBILE, ("手机", "电话", "联系方式", "mobile", "phone", "tel")),
    (d.VEHICLE_PLATE, ("车牌", "号牌", "plate")),
    (d.IP_ADDRESS, ("ip地址", "ip_address", "ip")),
    (d.COORDINATES, ("坐标", "经纬度", "经度", "纬度", "longitude", "latitude", "lng", "lon")),
    (d.COORDINATES, ("lat",)),
    (d.ADDRESS, ("地址", "住址", "住所", "居住地", "户籍地", "address", "addr")),
    (d.PERSON_NAME, (*d.NAME_LABELS, "名字", "name", "full_name", "real_name", "contact_name")),
    (d.PERSON_NAME, ("xm",)),
)
_LAT_WORDS = ("纬度", "latitude", "lat")
_LON_WORDS = ("经度", "longitude", "lng", "lon")
# Words that mean the column is a count or a flag about the type, not the value itself.
_NOT_VALUE_WORDS = (
    "数量", "个数", "人数", "是否", "类型", "名称", "count", "number_of", "type", "company", "org",
)

# How much a value that passes its validator says (a check digit is strong evidence; a
# name-shaped value is weak without its header).
_STRENGTH = {
    d.RESIDENT_ID: 0.95, d.USCC: 0.95, d.BANK_CARD: 0.9, d.MOBILE: 0.9, d.EMAIL: 0.95,
    d.IP_ADDRESS: 0.85, d.VEHICLE_PLATE: 0.9, d.FIXED_LINE: 0.8, d.PASSPORT: 0.8,
    d.TRAVEL_PERMIT: 0.75, d.COORDINATES: 0.85, d.ADDRESS: 0.8, d.PERSON_NAME: 0.6,
}
_MIN_SHARE = 0.5  # share of non-empty sampled values that must validate
SAMPLE_SIZE = 200


@dataclass(frozen=True)
class ColumnClass:
    """What a column holds. `type` is None when nothing personal was found."""

    type: str | None
    personal: bool
    sensitive: bool
    confidence: float
    matched: int = 0  # sampled values that passed the validator of `type`
    sampled: int = 0  # non-empty sampled values


NOT_PERSONAL = ColumnClass(None, False, False, 0.0)


def _ascii_word_in(word: str, header: str) -> bool:
    if not word.isascii():
        return word in header
    # Short Latin words (ip, tel, lat, xm) must be whole tokens: "zip", "title", "relation".
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", header) is not None


def header_type(header: str) -> str | None:
    """The type a header names, if any."""
    h = (header or "").strip().lower()
    if not h or any(_ascii_word_in(w, h) for w in _NOT_VALUE_WORDS):
        return None
    for type_, words in HEADER_WORDS:
        if any(_ascii_word_in(w, h) for w in words):
            return type_
    return None


def _axis(header: str) -> str | None:
    h = (header or "").lower()
    if any(_ascii_word_in(w, h) for w in _LAT_WORDS):
        return "lat"
    if any(_ascii_word_in(w, h) for w in _LON_WORDS):
        return "lon"
    return None


def _result(type_: str, confidence: float, values: Sequence[str], matched: int) -> ColumnClass:
    personal = type_ in PERSONAL_TYPES
    if type_ == d.USCC:
        # An individual business's code names its owner.
        personal = matched > 0 and sum(d.is_individual_business(v) for v in values) * 2 > matched
    return ColumnClass(
        type_,
        personal,
        type_ in SENSITIVE_TYPES,
        round(min(1.0, confidence), 3),
        matched,
        len(values),
    )


def classify_column(header: str, sample_values: Sequence[object]) -> ColumnClass:
    """Classify a column from its header and a sample of its values (the first
    SAMPLE_SIZE non-empty values are read)."""
    values = [str(v).strip() for v in sample_values if v is not None and str(v).strip()]
    values = values[:SAMPLE_SIZE]
    hinted = header_type(header)
    if not values:
        return _result(hinted, 0.5, values, 0) if hinted else NOT_PERSONAL

    axis = _axis(header) if hinted == d.COORDINATES else None
    best, best_count = None, 0
    for type_, valid in d.VALIDATORS.items():
        if type_ == d.PERSON_NAME and hinted not in (None, d.PERSON_NAME):
            continue  # a column headed 地址 whose values happen to be short is not names
        if type_ == d.COORDINATES and axis:
            count = sum(d.is_precise_degree(v, axis) for v in values)
        else:
            count = sum(valid(v) for v in values)
        # Ties go to the hinted type, then to the earlier (more specific) validator.
        if count > best_count or (count == best_count and count and type_ == hinted):
            best, best_count = type_, count
    if best in (d.MOBILE, d.FIXED_LINE):
        # A telephone column often mixes mobiles and landlines.
        best_count = sum(d.is_mobile(v) or d.is_fixed_line(v) for v in values)
    share = best_count / len(values)

    if best is not None and share >= _MIN_SHARE:
        agrees = best == hinted
        if best == d.PERSON_NAME and not agrees:
            # Name-shaped values without a name header: place names, products, stall names.
            return _result(best, 0.45 * share, values, best_count) if share >= 0.8 else (
                NOT_PERSONAL
            )
        bonus = 0.05 if agrees else 0.0
        if best in (d.PERSON_NAME, d.ADDRESS) and agrees:
            bonus = 0.3
        return _result(best, _STRENGTH[best] * share + bonus, values, best_count)
    if hinted:
        # The header names a personal type but the values do not show it (masked, malformed,
        # free text): keep the column flagged, with low confidence, for the editor to decide.
        hinted_count = sum(d.VALIDATORS[hinted](v) for v in values)
        return _result(hinted, 0.3 + 0.3 * hinted_count / len(values), values, hinted_count)
    return NOT_PERSONAL


def classify_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]]
) -> list[ColumnClass]:
    """Classify every column of a table, then judge contextual types in context.

    Coordinates, addresses and fixed-line numbers are personal only in a table that also
    identifies persons (a name, an ID number, a mobile...); in a table of facilities they are
    not. The confidence is kept; the editor sees both and decides.
    """
    sample = rows[:SAMPLE_SIZE] if len(rows) > SAMPLE_SIZE else rows
    columns = [
        classify_column(h, [row[i] if i < len(row) else None for row in sample])
        for i, h in enumerate(headers)
    ]
    about_persons = any(c.type in IDENTIFYING_TYPES and c.personal for c in columns) or any(
        c.type == d.USCC and c.personal for c in columns
    )
    if about_persons:
        return columns
    return [
        ColumnClass(c.type, False, False, c.confidence, c.matched, c.sampled)
        if c.type in CONTEXTUAL_TYPES
        else c
        for c in columns
    ]
