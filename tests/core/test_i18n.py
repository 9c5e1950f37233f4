"""Every message exists in Chinese and in English."""

from zhihui.core.i18n import catalogue, pick_language, translate


def test_languages_have_the_same_keys():
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) - set(en) == set()
    assert set(en) - set(zh) == set()


def test_chinese_is_the_default_and_english_the_second():
    assert translate("error.not_found") == "未找到"
    assert translate("error.not_found", "en") == "Not found"
    assert pick_language("en-GB,en;q=0.9") == "en"
    assert pick_language("fr-FR") == "zh"
    assert pick_language(None) == "zh"


def test_a_missing_parameter_never_breaks_a_message():
    assert "{choices}" in translate("field.choice")
