"""The catalogue's rules, as a department's editor meets them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import resource_input
from zhihui.catalog import service as catalog
from zhihui.catalog.models import Activity
from zhihui.catalog.schemas import ResourceIn
from zhihui.core.audit.models import AuditEntry
from zhihui.core.errors import Forbidden, NotFound, ValidationFailed


def create(db, actor, **overrides):  # type: ignore[no-untyped-def]
    with db.session() as s:
        org = overrides.pop("owner_org", None)
        data = ResourceIn(**resource_input(org, **overrides))
        return catalog.resource_dict(r := catalog.create_resource(s, actor, data),
                                     catalog.org_of(s, r))


def field_errors(exc: ValidationFailed, lang: str = "zh") -> dict[str, list[str]]:
    return exc.render_fields(lang)


def test_editor_creates_a_resource_with_a_generated_code(db, city):
    r = create(db, city.actors["editor"], owner_org=city.orgs["jtj"])
    # 2 = topic class, 11 = 道路交通, 002 = the provider's catalogue code.
    assert r["resource_code"].startswith("211002/")
    assert r["name"] == r["resource_code"].replace("/", "-")
    assert r["labels"]["sharing_type"] == {"zh": "无条件共享", "en": "Shared unconditionally"}


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"sharing_type": "conditional", "sharing_conditions": ""}, "sharing_conditions",
         "有条件共享须填写共享条件"),
        ({"sharing_type": "none", "opening_type": "none", "opening_legal_basis": "x"},
         "sharing_legal_basis", "不予共享须填写不予共享的依据"),
        ({"opening_type": "conditional"}, "opening_conditions", "有条件开放须填写开放条件"),
        ({"opening_type": "none"}, "opening_legal_basis", "不予开放须填写不予开放的依据"),
        ({"sharing_type": "none", "sharing_legal_basis": "法", "opening_type": "unconditional"},
         "opening_type", "不予共享的资源不能向社会开放"),
        ({"update_cycle": "hourly"}, "update_cycle", "取值须为以下之一"),
        ({"classification": "base", "theme": "11"}, "theme", "取值须为以下之一"),
        ({"resource_code": "111002/000001"}, "resource_code", "第一位须与资源分类一致"),
        ({"resource_code": "abc"}, "resource_code", "前段码/6 位顺序码"),
        ({"license_id": ""}, "license_id", "开放的资源须选择开放许可协议"),
        ({"data_items": [{"name": "a", "type": "Q"}]}, "data_items.0.type", "取值须为"),
        ({"data_items": [{"name": "a"}, {"name": "a"}]}, "data_items", "不能重复"),
        ({"contact_email": "not-mail"}, "contact_email", "电子邮箱格式不正确"),
        ({"temporal_start": "2024-02-01", "temporal_end": "2024-01-01"}, "temporal_end",
         "结束日期不能早于开始日期"),
        ({"distributions": [{"kind": "link", "url": "javascript:alert(1)"}]},
         "distributions.0.url", "链接须以"),
        ({"title": "   "}, "title", "必填"),
    ],
)
def test_invalid_metadata_gets_a_field_message(db, city, overrides, field, message):
    with pytest.raises(ValidationFailed) as exc:
        create(db, city.actors["editor"], owner_org=city.orgs["jtj"], **overrides)
    assert any(message in m for m in field_errors(exc.value)[field])


def test_field_messages_come_in_english_too(db, city):
    with pytest.raises(ValidationFailed) as exc:
        create(db, city.actors["editor"], owner_org=city.orgs["jtj"],
               sharing_type="conditional")
    assert field_errors(exc.value, "en")["sharing_conditions"] == [
        "Conditional sharing needs its conditions"]


def test_editor_cannot_create_in_another_department(db, city):
    with pytest.raises(Forbidden):
        create(db, city.actors["editor"], owner_org=city.orgs["hbj"])


def test_every_change_is_a_new_revision_with_activity_and_audit(db, city):
    editor = city.actors["editor"]
    rid = city.resources["open"]
    with db.session() as s:
        catalog.patch_resource(s, editor, rid, {"title": "城市道路交通流量"})
    with db.session() as s:
        acts = catalog.activity_list(s, editor, rid)
        assert [a.activity_type for a in acts] == ["changed", "new"]
        assert acts[0].snapshot["title"] == "城市道路交通流量"
        assert acts[1].snapshot["title"] == "城市交通流量监测数据"
        audited = s.scalars(select(AuditEntry.action).where(AuditEntry.target_id == rid)).all()
        assert audited == ["resource.new", "resource.changed"]


def test_a_refused_change_leaves_no_trace(db, city):
    rid = city.resources["open"]
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(ValidationFailed), db.session() as s:
        catalog.patch_resource(s, city.actors["editor"], rid, {"opening_type": "conditional"})
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
        assert s.scalar(select(func.count()).select_from(Activity)
                        .where(Activity.resource_id == rid)) == 1
        assert catalog.show(s, city.actors["editor"], rid)["opening_type"] == "unconditional"


def test_deletion_is_soft_and_only_the_operator_restores(db, city):
    rid = city.resources["open"]
    with db.session() as s:
        catalog.delete_resource(s, city.actors["editor"], rid)
    with db.session() as s, pytest.raises(NotFound):
        catalog.show(s, city.actors["member"], rid)
    with db.session() as s, pytest.raises(Forbidden):
        catalog.restore_resource(s, city.actors["editor"], rid)
    with db.session() as s:
        catalog.restore_resource(s, city.actors["sysadmin"], rid)
    with db.session() as s:
        assert catalog.show(s, city.actors["member"], rid)["deleted"] is False
        kinds = [a.activity_type for a in catalog.activity_list(s, city.actors["member"], rid)]
        assert kinds == ["restored", "deleted", "new"]


def test_distributions_are_added_changed_and_removed(db, city):
    editor, rid = city.actors["editor"], city.resources["open"]
    from zhihui.catalog.schemas import DistributionIn

    with db.session() as s:
        d = catalog.add_distribution(s, editor, rid, DistributionIn(
            name="流量.csv", kind="file", url="https://example.org/flow.csv", format="CSV"))
        did = d.id
    with db.session() as s:
        catalog.update_distribution(s, editor, did, {"format": "XLSX"}, partial=True)
    with db.session() as s:
        r = catalog.show(s, editor, rid)
        assert [(x["name"], x["format"]) for x in r["distributions"]] == [("流量.csv", "XLSX")]
        catalog.delete_distribution(s, editor, did)
    with db.session() as s:
        assert catalog.show(s, editor, rid)["distributions"] == []
        assert catalog.show(s, editor, rid)["revision"] == 4


def test_chinese_names_are_allowed(db, city):
    r = create(db, city.actors["editor"], owner_org=city.orgs["jtj"], name="公交线路")
    with db.session() as s:
        assert catalog.show(s, city.actors["member"], "公交线路")["id"] == r["id"]
