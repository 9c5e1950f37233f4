"""The operator's shell: zhihui init, user/org/token, catalogue export and import."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.factories import resource_input
from zhihui.cli import app
from zhihui.core.accounts import service as accounts

runner = CliRunner()


@pytest.fixture
def env(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    return settings


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]  # noqa: A002
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def test_help_on_every_command():
    for cmd in ([], ["db"], ["user"], ["org"], ["token"], ["catalog"], ["serve"], ["demo"],
                ["catalog", "import"], ["token", "create"]):
        result = run(*cmd, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_init_is_repeatable(env):
    assert run("init").exit_code == 0
    assert run("init").exit_code == 0
    assert (env.home / "secret_key").exists()


def test_operator_adds_org_user_and_token(env, db, client):
    assert run("org", "add", "hangzhou", "--title", "杭州市人民政府", "--kind", "city",
               "--catalog-code", "001").exit_code == 0
    assert run("org", "add", "jtj", "--title", "杭州市交通运输局", "--parent", "hangzhou",
               "--catalog-code", "002").exit_code == 0
    result = run("user", "add", "wang", "--org", "jtj", "--capacity", "editor",
                 input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    result = run("token", "create", "wang")
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    me = client.get("/api/v1/users/me", headers={"Authorization": token}).json()
    assert me["name"] == "wang" and list(me["memberships"].values()) == ["editor"]


def test_bad_input_gets_a_clear_message_in_chinese(env):
    result = run("org", "add", "x", "--title", "", "--catalog-code", "!!")
    assert result.exit_code == 1
    assert "必填" in result.output and "目录编码" in result.output
    result = run("token", "create", "nobody")
    assert result.exit_code == 1 and "用户不存在" in result.output


def test_export_then_import_round_trip(env, db, city, tmp_path):
    out = tmp_path / "catalog.jsonl"
    assert run("catalog", "export", str(out)).exit_code == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3 and {x["owner_org"] for x in lines} == {"jtj", "hbj"}
    # Change one title, add a new resource and a broken one: the good ones go in.
    lines[0]["title"] = "改过的标题"
    lines.append(resource_input("jtj", name="新资源", title="新资源"))
    lines.append(resource_input("jtj", name="坏资源", sharing_type="conditional"))
    out.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="gb18030")
    result = run("catalog", "import", str(out))
    assert result.exit_code == 1
    assert "created 1, updated 3, failed 1" in result.output
    assert "record 5" in result.output and "共享条件" in result.output
    with db.session() as s:
        from zhihui.catalog import service as catalog

        assert catalog.show(s, city.actors["sysadmin"], lines[0]["name"])["title"] == "改过的标题"
        assert catalog.show(s, city.actors["sysadmin"], "新资源")["revision"] == 1


def test_list_and_show(env, city):
    result = run("catalog", "list", "--q", "交通")
    # 交通 is in one open title and (as 公共交通) in one unopened one; the operator sees both.
    assert result.exit_code == 0 and "2 resources" in result.output
    result = run("catalog", "show", city.resources["air"])
    assert json.loads(result.output)["title"] == "空气质量监测站点小时数据"


def test_user_passwords_are_argon2(env, db, city):
    with db.session() as s:
        assert accounts.get_user(s, "editor").password_hash.startswith("$argon2")
