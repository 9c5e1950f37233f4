"""The portal as people use it: search, read, sign in, edit."""

from __future__ import annotations

import re

from tests.factories import PASSWORD


def csrf(client, url: str) -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert m, url
    return m.group(1)


def sign_in(client, role: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/user/login", data={"username": role, "password": PASSWORD,
                                         "csrf_token": csrf(client, "/user/login")},
                    follow_redirects=False)
    assert r.status_code == 303


def test_home_shows_counts_and_newest(client, city):
    page = client.get("/").text
    assert "个数据资源" in page and "城市交通流量监测数据" in page
    assert "公交车辆实时定位数据" not in page  # not opened


def test_search_finds_a_chinese_word_with_facets(client, city):
    page = client.get("/dataset", params={"q": "交通"}).text
    assert "共找到 1 个数据资源" in page and "城市交通流量监测数据" in page
    assert "提供部门" in page and "杭州市交通运输局" in page
    page = client.get("/dataset", params={"opening_type": "conditional"}).text
    assert "空气质量监测站点小时数据" in page and "城市交通流量监测数据" not in page


def test_resource_page_shows_labels_and_english_on_request(client, city):
    page = client.get(f"/dataset/{city.resources['open']}").text
    for text in ("无条件开放", "无条件共享", "每日", "杭州市公共数据开放协议", "路段名称",
                 "创建了资源"):
        assert text in page
    page = client.get(f"/dataset/{city.resources['open']}", params={"lang": "en"}).text
    assert "Open" in page and "Urban traffic flow" in page
    # The choice sticks in a cookie.
    assert "Daily" in client.get(f"/dataset/{city.resources['open']}").text


def test_conditions_are_shown(client, city):
    page = client.get(f"/dataset/{city.resources['air']}").text
    assert "有条件开放" in page and "须签署数据使用协议" in page


def test_anonymous_cannot_see_unopened_resources(client, city):
    assert client.get(f"/dataset/{city.resources['closed']}").status_code == 404
    sign_in(client, "other_member")
    page = client.get(f"/dataset/{city.resources['closed']}").text
    assert "不予开放" in page and "数据安全法" in page


def test_editor_creates_a_resource_through_the_form(client, city):
    sign_in(client, "editor")
    token = csrf(client, "/dataset/new")
    form = {
        "csrf_token": token, "title": "公共自行车站点", "owner_org": city.orgs["jtj"],
        "classification": "topic", "theme": "11", "format": "spreadsheet",
        "sharing_type": "unconditional", "sharing_method": "api",
        "opening_type": "unconditional", "license_id": "hz-open-data",
        "update_cycle": "daily", "tags": "自行车，交通",
        "item_name": ["站点名称", ""], "item_type": ["C", "C"], "item_length": ["50", ""],
        "item_description": ["", ""],
    }
    r = client.post("/dataset/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "公共自行车站点" in page and "站点名称" in page and "自行车" in page


def test_a_bad_form_gets_field_messages_and_keeps_the_values(client, city):
    sign_in(client, "editor")
    form = {"csrf_token": csrf(client, "/dataset/new"), "title": "我的草稿",
            "owner_org": city.orgs["jtj"], "classification": "topic", "theme": "11",
            "format": "spreadsheet", "sharing_type": "conditional", "sharing_method": "api",
            "opening_type": "none", "update_cycle": "daily"}
    r = client.post("/dataset/new", data=form)
    assert r.status_code == 409
    assert "有条件共享须填写共享条件" in r.text and "不予开放须填写不予开放的依据" in r.text
    assert 'value="我的草稿"' in r.text


def test_editor_edits_and_member_cannot(client, city):
    rid = city.resources["open"]
    sign_in(client, "member")
    assert "/dataset/edit/" not in client.get(f"/dataset/{rid}").text
    token = csrf(client, f"/dataset/{rid}")
    assert client.post(f"/dataset/edit/{rid}", data={"csrf_token": token}).status_code == 403
    sign_in(client, "editor")
    page = client.get(f"/dataset/edit/{rid}").text
    assert 'value="城市交通流量监测数据"' in page and 'value="路段名称"' in page


def test_forms_without_csrf_token_are_refused(client, city):
    sign_in(client, "editor")
    r = client.post("/dataset/new", data={"title": "x"})
    assert r.status_code == 403 and "表单已过期" in r.text


def test_new_resource_page_asks_anonymous_to_sign_in(client, city):
    r = client.get("/dataset/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/user/login?next=")


def test_wrong_password_says_so(client, city):
    r = client.post("/user/login", data={"username": "editor", "password": "nope-nope",
                                         "csrf_token": csrf(client, "/user/login")})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_script_in_a_title_is_shown_as_text(client, city):
    from zhihui.catalog import service as catalog

    with city.db.session() as s:
        catalog.patch_resource(s, city.actors["editor"], city.resources["open"],
                               {"title": "<script>alert(1)</script>"})
    page = client.get(f"/dataset/{city.resources['open']}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_organisation_tree_and_page(client, city):
    page = client.get("/organization").text
    assert page.index("杭州市人民政府") < page.index("杭州市交通运输局")
    assert "杭州市交通运输局" in client.get("/organization/jtj").text


def test_editor_deletes_and_the_operator_restores(client, city):
    rid = city.resources["open"]
    sign_in(client, "editor")
    r = client.post(f"/dataset/delete/{rid}", data={"csrf_token": csrf(client, f"/dataset/{rid}")},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "已删除" in client.get(f"/dataset/{rid}").text
    assert client.post(f"/dataset/restore/{rid}", data={
        "csrf_token": csrf(client, f"/dataset/{rid}")}).status_code == 403
    sign_in(client, "sysadmin")
    page = client.get(f"/dataset/{rid}").text
    assert "恢复" in page
    client.post(f"/dataset/restore/{rid}", data={"csrf_token": csrf(client, f"/dataset/{rid}")})
    assert "已删除" not in client.get(f"/dataset/{rid}").text


def test_a_developer_makes_and_revokes_a_token_on_the_account_page(client, city):
    sign_in(client, "public")
    page = client.post("/user/me/tokens", data={"name": "同步脚本", "days": "30",
                                               "csrf_token": csrf(client, "/user/me")}).text
    token = re.search(r"<code>(zh_[^<]+)</code>", page).group(1)
    api = {"Authorization": token}
    assert client.get("/api/v1/users/me", headers=api).json()["name"] == "public"
    token_id = re.search(r'同步脚本</td>.*?/user/me/tokens/([^/]+)/revoke', page, re.S).group(1)
    client.post(f"/user/me/tokens/{token_id}/revoke", data={"csrf_token": csrf(client, "/user/me")})
    assert client.get("/api/v1/users/me", headers=api).status_code == 401
    assert "已吊销" in client.get("/user/me").text and token not in client.get("/user/me").text


def test_english_cards_and_a_language_switch_that_keeps_the_search(client, city):
    page = client.get("/dataset", params={"q": "交通", "lang": "en"}).text
    assert "Update cycle" in page and "Open" in page and "更新周期" not in page
    # The switch back to Chinese keeps the query and drops the old lang.
    m = re.search(r'class="lang"[^>]*href="\?([^"]+)"', page)
    assert m and "q=%E4%BA%A4%E9%80%9A" in m.group(1) and m.group(1).endswith("lang=zh")
    assert "共找到 1 个数据资源" in client.get("/dataset?" + m.group(1).replace("&amp;", "&")).text


def test_search_cards_show_licence_and_opening_conditions(client, city):
    page = client.get("/dataset", params={"q": "空气"}).text
    assert "开放许可" in page and "开放条件" in page and "须签署数据使用协议" in page


def test_active_filters_can_be_removed_one_by_one(client, city):
    page = client.get("/dataset", params={"opening_type": "conditional"}).text
    assert 'class="chip"' in page and "有条件开放" in page and "清除全部筛选" in page
    assert "城市交通流量监测数据" not in page


def test_suggestions_while_typing_respect_visibility(client, city):
    assert "城市交通流量监测数据" in client.get("/search/suggest", params={"q": "交通"}).text
    # not opened: the public gets no hint that it exists
    assert "公交车辆实时定位数据" not in client.get("/search/suggest", params={"q": "公交"}).text
    assert client.get("/search/suggest", params={"q": ""}).text.strip() == ""


def test_organisation_tree_groups_departments_and_counts(client, city):
    page = client.get("/organization").text
    assert "市级部门" in page and "含下级共" in page


def test_text_in_a_hidden_conditions_field_is_not_saved(client, city):
    sign_in(client, "editor")
    form = {"csrf_token": csrf(client, "/dataset/new"), "title": "停车场泊位",
            "owner_org": city.orgs["jtj"], "classification": "topic", "theme": "11",
            "format": "spreadsheet", "sharing_type": "unconditional", "sharing_method": "api",
            "opening_type": "unconditional", "license_id": "hz-open-data",
            "update_cycle": "daily", "opening_conditions": "旧的开放条件",
            "sharing_legal_basis": "旧的依据"}
    r = client.post("/dataset/new", data=form)
    assert r.status_code == 200 and "停车场泊位" in r.text
    assert "旧的开放条件" not in r.text and "旧的依据" not in r.text


def test_a_data_item_length_that_is_not_a_number_is_named(client, city):
    sign_in(client, "editor")
    form = {"csrf_token": csrf(client, "/dataset/new"), "title": "停车场泊位",
            "owner_org": city.orgs["jtj"], "classification": "topic", "format": "spreadsheet",
            "sharing_type": "unconditional", "opening_type": "unconditional",
            "update_cycle": "daily", "item_name": ["泊位数"], "item_type": ["N"],
            "item_length": ["十"], "item_description": [""]}
    r = client.post("/dataset/new", data=form)
    assert r.status_code == 409 and 'value="十"' in r.text
    assert 'id="err-data_items.0.length"' in r.text


def test_unknown_pages_say_so_in_the_users_language(client, city):
    r = client.get("/dataset/no-such-resource")
    assert r.status_code == 404 and "页面不存在" in r.text and "返回首页" in r.text
    assert "Page not found" in client.get("/dataset/no-such-resource?lang=en").text


def test_showcases_are_listed_and_linked_from_the_resources_they_use(client, city):
    from zhihui.catalog import service as catalog

    with city.db.session() as s:
        catalog.create_showcase(s, city.actors["public"], name="traffic-map", title="路况地图",
                                url="https://example.com/map", owner_title="某科技公司",
                                resources=[city.resources["open"]])
        s.commit()
    assert "路况地图" in client.get("/").text
    assert "路况地图" in client.get("/showcase").text
    page = client.get("/showcase/traffic-map").text
    assert "某科技公司" in page and "城市交通流量监测数据" in page
    assert "/showcase/traffic-map" in client.get(f"/dataset/{city.resources['open']}").text


def test_more_data_item_rows_without_saving(client, city):
    sign_in(client, "editor")
    form = {"csrf_token": csrf(client, "/dataset/new"), "title": "草稿", "more_rows": "1",
            "item_name": ["站点", "", "", ""], "item_type": ["C"] * 4,
            "item_length": [""] * 4, "item_description": [""] * 4}
    r = client.post("/dataset/new", data=form)
    assert r.status_code == 200 and 'value="草稿"' in r.text and 'value="站点"' in r.text
    assert r.text.count('name="item_name"') == 7  # one filled, three empty, three more
    assert "共找到 0 个数据资源" in client.get("/dataset", params={"q": "草稿"}).text
