"""Settings come from ZHIHUI_* variables over an optional zhihui.toml."""

from zhihui.settings import Settings


def test_toml_file_then_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("ZHIHUI_HOME", "ZHIHUI_DATABASE_URL", "ZHIHUI_SITE_TITLE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "zhihui.toml").write_text(
        'home = "/srv/zhihui"\nsite_title = "某市公共数据开放平台"\n', encoding="utf-8")
    s = Settings()
    assert str(s.home) == "/srv/zhihui" and s.site_title == "某市公共数据开放平台"
    assert s.sqlalchemy_url == "sqlite:////srv/zhihui/zhihui.db"
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().sqlalchemy_url == "postgresql+psycopg://u@h/db"


def test_defaults_to_var_and_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZHIHUI_HOME", raising=False)
    monkeypatch.delenv("ZHIHUI_DATABASE_URL", raising=False)
    s = Settings()
    assert str(s.home) == "var" and s.sqlalchemy_url.endswith("/var/zhihui.db")
