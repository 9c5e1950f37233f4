"""``zhihui privacy``: the same service as the API, from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.datastore.helpers import new_distribution
from tests.factories import City
from tests.privacy.people import csv_bytes, people
from tests.privacy.test_protection import POLICY, upload
from zhihui.cli import app
from zhihui.settings import Settings


def test_status_policy_and_kanon_from_the_shell(client: TestClient, city: City,
                                                settings: Settings, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    rid = city.resources["open"]
    dist = new_distribution(city.db, rid)
    assert upload(client, city, dist, csv_bytes(people(30))).status_code == 201
    runner = CliRunner()
    out = runner.invoke(app, ["privacy", "status", rid])
    assert out.exit_code == 0, out.output
    assert "sensitive_personal" in out.output and "withheld" in out.output
    file = tmp_path / "policy.json"
    file.write_text(json.dumps(POLICY, ensure_ascii=False), encoding="utf-8")
    out = runner.invoke(app, ["privacy", "policy", rid, str(file)])
    assert out.exit_code == 0 and "revision 1" in out.output, out.output
    out = runner.invoke(app, ["privacy", "kanon", rid, "--k", "3"])
    assert out.exit_code == 0 and '"k_wanted": 3' in out.output
    file.write_text('{"rules": [{"column": "没有", "method": "mask"}]}', encoding="utf-8")
    out = runner.invoke(app, ["privacy", "policy", rid, str(file)])
    assert out.exit_code != 0 and "没有" in out.output
    assert runner.invoke(app, ["privacy", "detect", rid]).exit_code == 0
    # a second policy leaves the first one's copy behind: prune removes it (no grace here)
    assert client.get(f"/api/v1/datastore/{dist}/search").status_code == 200
    file.write_text(json.dumps({**POLICY, "k": 3}, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["privacy", "policy", rid, str(file)]).exit_code == 0
    out = runner.invoke(app, ["privacy", "prune", rid, "--grace-minutes", "0"])
    assert out.exit_code == 0 and "1 copie(s) removed" in out.output, out.output
