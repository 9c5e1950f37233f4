"""``zhihui data clean``: what interrupted ingests left goes (audited), what anything still
reads or waits for stays."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import SYSTEM
from zhihui.core.errors import Forbidden
from zhihui.datastore import cleanup, jobs
from zhihui.datastore import service as ds
from zhihui.datastore.query import Search
from zhihui.datastore.storage import Storage
from zhihui.settings import Settings

DATA = "编号,名称\n001,甲\n002,乙\n".encode()
DAY = 24 * 3600


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` (and what is in it) look ``seconds`` old."""
    when = time.time() - seconds
    for root, dirs, files in os.walk(path) if path.is_dir() else [(str(path.parent), [], [])]:
        for name in [*dirs, *files]:
            os.utime(os.path.join(root, name), (when, when))
    os.utime(path, (when, when))


@pytest.fixture
def leftovers(city: City, settings: Settings) -> dict[str, Path]:
    """A published version, and beside it what killed processes leave behind."""
    dist = new_distribution(city.db, city.resources["open"])
    with city.db.session() as s:
        v = ds.ingest(s, SYSTEM, dist, io.BytesIO(DATA), "a.csv", data_root=settings.data_root)
        published = settings.data_root / v.path
    root = Storage(settings.data_root).root
    orphan = published.parent / ("0" * 32)  # renamed into place, never committed
    shutil.copytree(published, orphan)
    work = root / "_tmp" / ("f" * 32)  # an ingest killed mid-scan
    (work / "version").mkdir(parents=True)
    (work / "version" / "data.parquet").write_bytes(b"x" * 1000)
    index_work = published / ".data.rows.sqlite.123.456.tmp"  # an index build killed
    index_work.write_bytes(b"y" * 100)
    original = root / "_originals" / "ab" / ("ab" + "0" * 62)  # kept, then the ingest died
    original.parent.mkdir(parents=True)
    original.write_bytes(b"z" * 10)
    with city.db.session() as s:  # a background job queued long ago: its upload must stay
        job = jobs.submit(s, SYSTEM, dist, io.BytesIO(DATA), "b.csv",
                          data_root=settings.data_root)
        queued = root / Path(job.upload_path).parent
    recent = root / "_tmp" / ("e" * 32)  # an ingest running now
    recent.mkdir()
    for path in (orphan, work, index_work, original, queued):
        _age(path, DAY)
    return {"dist": Path(dist), "published": published, "orphan": orphan, "work": work,
            "index_work": index_work, "original": original, "queued": queued,
            "recent": recent}


def test_leftovers_go_and_what_is_read_or_waited_for_stays(
        city: City, settings: Settings, leftovers: dict[str, Path]) -> None:
    dry = cleanup.clean(city.db, settings.data_root, dry_run=True)
    assert leftovers["orphan"].exists() and len(dry.paths()) == 4
    found = cleanup.clean(city.db, settings.data_root)
    root = Storage(settings.data_root).root
    assert found.versions == [str(leftovers["orphan"].relative_to(root))]
    assert sorted(found.work) == sorted(str(leftovers[k].relative_to(root))
                                        for k in ("work", "index_work"))
    assert found.originals == [str(leftovers["original"].relative_to(root))]
    assert found.waiting >= 1 and found.bytes > 1110
    for gone in ("orphan", "work", "index_work", "original"):
        assert not leftovers[gone].exists(), gone
    for kept in ("published", "queued", "recent"):
        assert leftovers[kept].exists(), kept
    with city.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "datastore.cleaned")).one()
        assert entry.detail["versions"] == 1 and entry.detail["originals"] == 1
        assert str(leftovers["orphan"].relative_to(root)) in entry.detail["paths"]
        # the published version is still read as before
        out = ds.search(s, SYSTEM, str(leftovers["dist"]), Search(),
                        data_root=settings.data_root)
        assert [r["名称"] for r in out["records"]] == ["甲", "乙"]
    assert cleanup.clean(city.db, settings.data_root).paths() == []  # nothing left: no entry
    with city.db.session() as s:
        assert len(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "datastore.cleaned")).all()) == 1


def test_only_the_operator_cleans(city: City, settings: Settings) -> None:
    with pytest.raises(Forbidden):
        cleanup.clean(city.db, settings.data_root, actor=city.actors["editor"])


def test_the_cli_lists_then_cleans(settings: Settings, leftovers: dict[str, Path],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from zhihui.cli import app

    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    result = CliRunner().invoke(app, ["data", "clean", "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0 and "将清理" in result.output
    assert leftovers["orphan"].exists()
    result = CliRunner().invoke(app, ["data", "clean"], catch_exceptions=False)
    assert result.exit_code == 0 and "已清理" in result.output
    assert "1 version folder" in result.output
    assert not leftovers["orphan"].exists() and leftovers["published"].exists()
