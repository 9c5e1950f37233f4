"""Scanning free text: identifiers in Chinese sentences are found and masked; dates, amounts
and order numbers are not mistaken for them."""

from tests.privacy.test_validators import make_id, make_uscc
from zhihui.privacy.detect import scan_text


def kinds(text):
    return [(f.type, text[f.start : f.end]) for f in scan_text(text)]


def test_a_contact_line_in_a_complaint_record():
    text = "联系电话：13812345678，联系人：张伟。"
    found = scan_text(text)
    assert [(f.type, f.value_masked) for f in found] == [
        ("mobile", "138****5678"),
        ("person_name", "张*"),
    ]
    assert text[found[0].start : found[0].end] == "13812345678"


def test_a_penalty_decision_names_the_party_and_their_identifiers():
    id_number = make_id("33010619850315201")
    code = make_uscc("92330106", "MA2H0K1P")
    text = (
        f"当事人王秀英，公民身份号码{id_number}，统一社会信用代码{code}，住址浙江省杭州市"
        "西湖区文三路90号3幢501室，车辆号牌浙AD12345，电子邮箱wxy_1985@163.com。"
    )
    assert kinds(text) == [
        ("person_name", "王秀英"),
        ("resident_id", id_number),
        ("uscc", code),
        ("address", "浙江省杭州市西湖区文三路90号3幢501室"),
        ("vehicle_plate", "浙AD12345"),
        ("email", "wxy_1985@163.com"),
    ]
    masked = " ".join(f.value_masked for f in scan_text(text))
    assert id_number not in masked and "文三路" not in masked


def test_formatted_numbers_and_full_width_digits():
    text = (
        "手机 +86 139-0571-2345；座机(0571)87654321；卡号 4111 1111 1111 1111；"
        "手机１３８１２３４５６７８"
    )
    assert [t for t, _ in kinds(text)] == ["mobile", "fixed_line", "bank_card", "mobile"]


def test_locations_and_network_addresses():
    text = "上报位置120.15512,30.27411，来源IP 10.12.3.4 与 2001:db8::8a2e:370:7334。"
    assert [t for t, _ in kinds(text)] == ["coordinates", "ip_address", "ip_address"]


def test_no_false_positive_on_dates_amounts_and_order_numbers():
    text = (
        "2023年11月5日 12:30:45 受理，日期20231105，金额￥1,234,567.89元，合计12345678.90，"
        "订单号202311051234567890，流水号DD20231105000123，工单2023110500012，"
        "文号杭西政〔2023〕12号，第3号，版本1.2.3、v1.2.3.4，比例0.12345，编号1234567812345678。"
    )
    assert scan_text(text) == []


def test_an_email_holding_a_mobile_is_one_email():
    assert kinds("邮箱13812345678@139.com") == [("email", "13812345678@139.com")]


def test_an_invalid_id_number_is_not_reported_as_anything_else():
    bad = make_id("33010619900101123")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    assert scan_text(f"身份证号{bad}") == []
