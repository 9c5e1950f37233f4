"""A worker process killed (SIGKILL: no clean-up runs) while it ingests a large file: the
previous version stays current and readable, nothing of the half-made version is visible, and
the job, once its heartbeat has been silent for ``jobs.STALE_SECONDS``, is queued again and
made by a new worker, or failed when its second run dies too (jobs.MAX_ATTEMPTS)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select, update

from tests.datastore.helpers import new_distribution
from tests.factories import City
from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import SYSTEM
from zhihui.datastore import jobs
from zhihui.datastore import service as ds
from zhihui.datastore.models import DatastoreJob, DatastoreVersion
from zhihui.datastore.query import Search
from zhihui.db import Database, utcnow
from zhihui.settings import Settings

ROWS = 1_000_000  # a few seconds of ingest on this kind of machine, so a kill lands mid-scan
FIRST = "编号,名称,数量,日期\n001,甲,1,2024-05-01\n002,乙,2,2024-05-02\n".encode()
POLL = 0.05
WAIT = 180.0  # a loaded machine; every wait ends as soon as its condition holds


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"job_workers": 0})


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "企业.csv"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT i AS 序号, '杭州' || (i % 977) || '科技有限公司' AS 企业名称, "
        "DATE '2000-01-01' + CAST(i % 9000 AS INTEGER) AS 成立日期, "
        "round((i % 100000) / 10.0, 1) AS 注册资本, "
        "CASE WHEN i % 2 = 0 THEN '是' ELSE '否' END AS 高新, "
        "'浙江省杭州市西湖区' || (i % 999) || '号' AS 住所 FROM range(1, "
        f"{ROWS + 1}) t(i)) TO '{path}' (HEADER, DELIMITER ',')")
    con.close()
    return path


def _worker(settings: Settings) -> subprocess.Popen[str]:
    """``zhihui data worker --once`` as its own process, on the test's database and data."""
    env = {**os.environ, "ZHIHUI_HOME": str(settings.home),
           "ZHIHUI_DATABASE_URL": settings.sqlalchemy_url, "ZHIHUI_SECRET_KEY": "test-secret"}
    return subprocess.Popen([str(Path(sys.executable).parent / "zhihui"), "data", "worker",
                             "--once"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _job(db: Database, job_id: str) -> DatastoreJob:
    with db.session() as s:
        job = s.get(DatastoreJob, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _kill_mid_scan(db: Database, settings: Settings, job_id: str,
                   dead: DatastoreJob | None = None) -> DatastoreJob:
    """Start a worker, wait until the job is inside its checked write (DuckDB's COPY has
    reported progress), SIGKILL the process, and return the job as the dead worker left it.
    ``dead``: the job as an earlier dead worker left it; the new worker must take it over."""
    proc = _worker(settings)
    try:
        deadline = time.monotonic() + WAIT
        while True:
            job = _job(db, job_id)
            if (job.state == "running" and job.stage == "infer" and job.done > 0
                    and (dead is None or job.worker != dead.worker)):
                break
            assert job.state in ("queued", "running"), (job.state, job.error_key)
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the worker never reached the write"
            time.sleep(POLL)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    left = _job(db, job_id)
    assert left.state == "running" and left.worker == job.worker  # nobody said it ended
    return left


def _silence(db: Database, job_id: str) -> None:
    """What STALE_SECONDS without a heartbeat look like, without waiting a minute."""
    with db.session() as s:
        s.execute(update(DatastoreJob).where(DatastoreJob.id == job_id).values(
            heartbeat=utcnow() - timedelta(seconds=jobs.STALE_SECONDS + 1)))


def _assert_first_version_is_current(city: City, settings: Settings, dist: str) -> None:
    with city.db.session() as s:
        numbers = s.scalars(select(DatastoreVersion.number).where(
            DatastoreVersion.distribution_id == dist)).all()
        [version] = s.scalars(select(DatastoreVersion).where(
            DatastoreVersion.distribution_id == dist)).all()
        found = ds.search(s, SYSTEM, dist, Search(sort="_id", include_total=True),
                          data_root=settings.data_root)
    assert numbers == [1]
    assert found["total"] == 2 and [r["编号"] for r in found["records"]] == ["001", "002"]
    # no other folder under the distribution: the dead worker's output never left _tmp
    folders = [p.name for p in (settings.data_root / dist).iterdir()]
    assert folders == [Path(version.path).name]


def _setup(city: City, settings: Settings, big_csv: Path) -> tuple[str, str]:
    dist = new_distribution(city.db, city.resources["open"])
    with city.db.session() as s:
        ds.ingest(s, city.actors["editor"], dist, io.BytesIO(FIRST), "first.csv",
                  data_root=settings.data_root)
    with city.db.session() as s:
        job = jobs.submit(s, city.actors["editor"], dist, big_csv, data_root=settings.data_root)
        job_id = job.id
    return dist, job_id


def test_a_killed_worker_leaves_the_last_version_and_a_new_worker_finishes_the_job(
        city: City, settings: Settings, big_csv: Path) -> None:
    dist, job_id = _setup(city, settings, big_csv)

    dead = _kill_mid_scan(city.db, settings, job_id)
    assert dead.attempts == 1
    _assert_first_version_is_current(city, settings, dist)

    _silence(city.db, job_id)
    second = _worker(settings)
    out, _ = second.communicate(timeout=WAIT * 2)
    assert second.returncode == 0, out
    assert f"job {job_id}: succeeded" in out

    done = _job(city.db, job_id)
    assert done.state == "succeeded" and done.attempts == 2 and done.version_number == 2
    with city.db.session() as s:
        found = ds.search(s, SYSTEM, dist, Search(sort="_id", limit=1, include_total=True),
                          data_root=settings.data_root)
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert found["total"] == ROWS and found["records"][0]["企业名称"] == "杭州1科技有限公司"
    assert actions.count("datastore.job_requeue") == 1 and actions.count("datastore.ingest") == 2
    assert actions.index("datastore.job_requeue") < actions.index("datastore.job_succeed")
    assert not (settings.data_root / "_tmp" / f"job-{job_id}").exists()


def test_a_job_whose_second_worker_is_killed_too_fails_and_the_last_version_stays(
        city: City, settings: Settings, big_csv: Path) -> None:
    dist, job_id = _setup(city, settings, big_csv)

    first = _kill_mid_scan(city.db, settings, job_id)
    _silence(city.db, job_id)
    assert _kill_mid_scan(city.db, settings, job_id, first).attempts == jobs.MAX_ATTEMPTS
    _silence(city.db, job_id)

    third = _worker(settings)
    out, _ = third.communicate(timeout=WAIT)
    assert third.returncode == 0, out
    failed = _job(city.db, job_id)
    assert failed.state == "failed" and failed.error_key == "datastore_job.stale"
    assert failed.version_number is None
    _assert_first_version_is_current(city, settings, dist)
    assert not (settings.data_root / "_tmp" / f"job-{job_id}").exists()
