"""``zhihui data pull RESOURCE --to DIR``: new versions land in the folder, the cursor is kept
there, the next run fetches only what is newer; locally and from a site over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.datastore.test_api import upload
from tests.exchange.conftest import Data
from tests.factories import City
from zhihui.cli import app


def _pull(*args: str) -> str:
    result = CliRunner().invoke(app, ["data", "pull", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_pull_fetches_new_versions_incrementally(
        client: TestClient, city: City, data: Data, settings, tmp_path: Path,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    out = tmp_path / "pulled"
    assert "1 new version" in _pull(city.resources["open"], "--to", str(out))
    [first] = sorted(p.name for p in out.glob("*.csv"))
    assert first.endswith("-v1.csv") and "1路" in (out / first).read_text(encoding="utf-8")
    assert "0 new version" in _pull(city.resources["open"], "--to", str(out))
    assert upload(client, city, data.open, "线路,票价\n9路,3\n".encode()).status_code == 201
    assert "1 new version" in _pull(city.resources["open"], "--to", str(out))
    assert len(list(out.glob("*-v2.csv"))) == 1


def test_pull_from_a_site_reads_as_the_tokens_owner(
        site: str, client: TestClient, city: City, data: Data, tmp_path: Path) -> None:
    out = tmp_path / "remote"
    token = city.tokens["other_member"]
    got = _pull(city.resources["open"], "--to", str(out), "--site", site, "--token", token,
                "--format", "json")
    assert "1 new version" in got and len(list(out.glob("*-v1.json"))) == 1
    # another department's conditionally shared data is not in its feed
    assert "0 new version" in _pull(city.resources["closed"], "--to", str(tmp_path / "c"),
                                    "--site", site, "--token", token)
