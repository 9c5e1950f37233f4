"""Validators check, not just match: check digits, region codes, birth dates, number plans."""

import datetime as dt

import pytest
from stdnum.cn import uscc as stdnum_uscc

from zhihui.privacy import detect

# Independent implementations of the check characters, written from the standards' tables.
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"  # GB 11643: remainder of the weighted sum mod 11 -> check character
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def make_id(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK[total % 11]


def make_uscc(prefix8: str, org8: str) -> str:
    org_sum = sum(int(c, 36) * w for c, w in zip(org8, ORG_WEIGHTS, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - org_sum % 11, str(11 - org_sum % 11))
    first17 = prefix8 + org8 + org_check
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]


def wrong_last(value: str, alphabet: str) -> str:
    return value[:-1] + next(c for c in alphabet if c != value[-1])


# -------------------------------------------------------------------------- resident IDs

def test_a_resident_id_with_its_check_digit_region_and_birth_date_is_valid():
    for first17 in ("33010619900101123", "11010519491231002", "44030420001229456"):
        assert detect.is_resident_id(make_id(first17))
    x_id = next(make_id(f"33010619900101{n:03d}") for n in range(200)
                if make_id(f"33010619900101{n:03d}").endswith("X"))
    assert detect.is_resident_id(x_id) and detect.is_resident_id(x_id.lower())
    assert detect.is_resident_id(make_id("33010619900101123").translate(
        {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}))  # full-width digits


def test_near_miss_resident_ids_are_rejected():
    good = make_id("33010619900101123")
    assert not detect.is_resident_id(wrong_last(good, "0123456789X"))  # check digit
    assert not detect.is_resident_id(make_id("99010619900101123"))  # no province 99
    assert not detect.is_resident_id(make_id("33999919900101123"))  # no county 339999
    assert not detect.is_resident_id(make_id("33010619900230123"))  # 30 February
    assert not detect.is_resident_id(make_id("33010618890101123"))  # before 1900
    future = make_id("33010620990101123")
    assert not detect.is_resident_id(future)
    assert detect.is_resident_id(future, today=dt.date(2100, 1, 1))
    assert not detect.is_resident_id("202311051234567890")  # an order number
    assert not detect.is_resident_id(good[:17])


def test_the_old_fifteen_digit_form_is_checked_for_region_and_date():
    assert detect.is_resident_id("330106900101123")
    assert not detect.is_resident_id("330106901301123")  # month 13
    assert not detect.is_resident_id("990106900101123")


def test_districts_newer_than_stdnums_table_validate():
    """临平区 (330113) and 钱塘区 (330114), made in 2021, are in no older table."""
    for region in ("330113", "330114"):
        assert detect.is_resident_id(make_id(region + "19900101123"))
    assert not detect.is_resident_id(make_id("330119" + "19900101123"))


def test_abolished_counties_still_validate_old_numbers():
    # 110103 was Beijing's 崇文区 until 2010; people born there keep their number.
    assert detect.is_resident_id(make_id("11010319800101123"))


# ------------------------------------------------------------------------------- USCC

def test_the_published_gb32100_example_is_valid():
    assert detect.is_uscc("91350100M000100Y43")
    assert detect.uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize("authority", ["N", "Y", "A"])
def test_codes_of_the_authorities_added_in_2016_are_valid(authority):
    code = make_uscc(f"{authority}1330106", "MA2B3C4D")
    assert detect.is_uscc(code)
    # python-stdnum rejects these: the reason we check USCCs ourselves.
    assert not stdnum_uscc.is_valid(code)


def test_near_miss_usccs_are_rejected():
    good = make_uscc("91330106", "MA27XY8K")
    assert detect.is_uscc(good)
    assert not detect.is_uscc(wrong_last(good, USCC_CHARS))
    assert not detect.is_uscc(good[:16] + wrong_last(good[:17], "0123456789X")[-1] + good[17])
    assert not detect.is_uscc(make_uscc("B1330106", "MA27XY8K"))  # no authority B
    assert not detect.is_uscc(make_uscc("91990106", "MA27XY8K"))  # no province 99
    assert not detect.is_uscc("91330106MA27XY8KI0")  # I is not in the alphabet
    assert not detect.is_uscc("913301061234567890")


def test_an_individual_business_code_is_told_apart():
    assert detect.is_individual_business(make_uscc("92330106", "MA2H0K1P"))
    assert not detect.is_individual_business("91350100M000100Y43")


# ------------------------------------------------------------------------- telephones

@pytest.mark.parametrize(
    "number",
    ["13812345678", "19912345678", "19012345678", "16612345678", "+86 138 1234 5678",
     "+8613812345678", "86-138-1234-5678", "0086 13812345678", "１３８１２３４５６７８"],
)
def test_mainland_mobiles_are_valid(number):
    assert detect.is_mobile(number)


@pytest.mark.parametrize(
    "number", ["12812345678", "10012345678", "15412345678", "1381234567", "138123456789"]
)
def test_numbers_outside_the_mobile_plan_are_rejected(number):
    assert not detect.is_mobile(number)


def test_fixed_lines_need_a_real_area_code():
    for number in ("0571-87654321", "010-65123456", "(010) 6512 3456", "0571 8765432",
                   "0571-87654321-808", "057187654321"):
        assert detect.is_fixed_line(number), number
    for number in ("1571-87654321", "0571-07654321", "0571-876", "87654321"):
        assert not detect.is_fixed_line(number), number


# ------------------------------------------------------------------------- bank cards

def luhn_complete(body: str) -> str:
    return next(body + str(d) for d in range(10) if detect.luhn_ok(body + str(d)))


def test_bank_cards_pass_luhn_with_a_known_issuer():
    unionpay = luhn_complete("622202123456789012")
    assert detect.is_bank_card(unionpay) and len(unionpay) == 19
    assert detect.is_bank_card("4111111111111111")
    assert detect.is_bank_card("4111 1111 1111 1111")
    assert not detect.is_bank_card(wrong_last(unionpay, "0123456789"))
    assert not detect.is_bank_card(luhn_complete("922202123456789012"))  # issuer 9
    assert not detect.is_bank_card(luhn_complete("62220212345"))  # too short


# --------------------------------------------------------- e-mail, documents, plates, IP

def test_email_passport_and_permits():
    assert detect.is_email("zhang.wei@hangzhou.gov.cn")
    assert not detect.is_email("zhang.wei@localhost") and not detect.is_email("@qq.com")
    assert detect.is_passport("E12345678") and detect.is_passport("EA1234567")
    assert detect.is_passport("G12345678") and detect.is_passport("DE1234567")
    assert not detect.is_passport("E1234567") and not detect.is_passport("X12345678")
    assert detect.is_travel_permit("C12345678") and detect.is_travel_permit("CA1234567")
    assert detect.is_travel_permit("L12345678")  # to Taiwan
    assert detect.is_travel_permit("H12345678") and detect.is_travel_permit("M1234567890")
    assert not detect.is_travel_permit("C1234567")


@pytest.mark.parametrize("plate", ["浙A12345", "浙A·12345", "京N2B3C4", "粤BD12345",
                                   "沪ADA1234", "浙A12345D", "苏E1234学", "浙a12345"])
def test_vehicle_plates_including_new_energy(plate):
    assert detect.is_vehicle_plate(plate)


@pytest.mark.parametrize("plate", ["浙AI2345", "浙A1234", "A12345", "浙A123456", "美A12345"])
def test_things_that_are_not_plates(plate):
    assert not detect.is_vehicle_plate(plate)


def test_ip_addresses_and_coordinates():
    assert detect.is_ip_address("192.168.1.20") and detect.is_ip_address("2001:db8::1")
    assert not detect.is_ip_address("256.1.1.1") and not detect.is_ip_address("1.2.3")
    assert detect.is_coordinate_pair("120.15512, 30.27411")
    assert detect.is_coordinate_pair("30.27411,120.15512")
    assert not detect.is_coordinate_pair("120.155, 30.274")  # 3 decimals: not precise
    assert not detect.is_coordinate_pair("-0.12780, 51.50740")  # London
    assert detect.is_precise_degree("30.2741", "lat")
    assert not detect.is_precise_degree("120.1551", "lat")


# ---------------------------------------------------------------- addresses and names

def test_postal_addresses_down_to_the_house_number():
    for value in ("浙江省杭州市西湖区文三路90号", "杭州市上城区解放路18号3幢2单元501室",
                  "西湖区留下街道屏基山路一百号", "新疆维吾尔自治区乌鲁木齐市天山区解放南路8号"):
        assert detect.is_address(value), value
    for value in ("文三路90号", "杭州市西湖区", "第3号", "2023年第12号"):
        assert not detect.is_address(value), value


def test_person_names_start_with_a_common_surname():
    for value in ("张伟", "王秀英", "欧阳娜娜", "司马相如", "诸葛亮"):
        assert detect.is_person_name(value), value
    for value in ("高新区", "王府井", "杭州", "西湖", "张", "张伟伟伟伟", "Zhang Wei", "有限公司"):
        assert not detect.is_person_name(value), value


def test_masks_keep_the_shape_not_the_value():
    assert detect.mask(detect.RESIDENT_ID, "330106199001011234") == "330106********1234"
    assert detect.mask(detect.MOBILE, "13812345678") == "138****5678"
    assert detect.mask(detect.PERSON_NAME, "张三") == "张*"
    assert detect.mask(detect.BANK_CARD, "6222021234567890123") == "622202*********0123"
