"""Background ingest jobs: a large upload answers 202 with a job, a worker (a thread of the
app, or `zhihui data worker`) takes it from the queue, the API shows its progress, a failure or
a dead worker leaves the previous version current, and only the uploader and the resource's
editors see the job."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tests.datastore.helpers import BUS_LINES, csv_text, new_distribution
from tests.factories import City
from zhihui.core.audit.models import AuditEntry
from zhihui.datastore import jobs
from zhihui.datastore.models import DatastoreJob
from zhihui.db import Database, utcnow
from zhihui.settings import Settings

V1 = "/api/v1/datastore"
GBK_LINES = csv_text(BUS_LINES).encode("gbk")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No worker thread in the app: each test runs the queue itself, when it wants to."""
    return settings.model_copy(update={"job_workers": 0})


def send(client: TestClient, city: City, dist: str, data: bytes, role: str = "editor",
         filename: str = "公交线路.csv", **form: str):  # type: ignore[no-untyped-def]
    return client.post(f"{V1}/{dist}/versions", headers=city.headers(role),
                       files={"upload": (filename, data)}, data=form)


def queue(client: TestClient, city: City, dist: str, data: bytes = GBK_LINES,
          role: str = "editor") -> dict[str, Any]:
    r = send(client, city, dist, data, role=role, background="true")
    assert r.status_code == 202, r.text
    return r.json()


def worker(db: Database, settings: Settings, **kw: Any) -> jobs.Worker:
    return jobs.Worker(db, settings.data_root, **kw)


def actions(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def dist(city: City) -> str:
    return new_distribution(city.db, city.resources["open"])


def test_a_background_upload_is_queued_then_a_worker_makes_the_version(
        client: TestClient, city: City, db: Database, settings: Settings, dist: str) -> None:
    job = queue(client, city, dist)
    assert job["state"] == "queued" and job["percent"] == 0 and job["size"] == len(GBK_LINES)
    assert job["filename"] == "公交线路.csv" and job["resource_id"] == dist
    # the upload waits in the data root's work folder, not yet a version
    assert (settings.data_root / "_tmp" / f"job-{job['id']}" / "upload").exists()
    assert client.get(f"{V1}/{dist}/versions").json() == []

    ran = worker(db, settings).drain()
    done = client.get(f"{V1}/jobs/{job['id']}", headers=city.headers("editor")).json()
    assert ran == [(job["id"], "succeeded")]
    assert done["state"] == "succeeded" and done["percent"] == 100 and done["version"] == 1
    assert done["error"] is None and done["finished"]
    assert client.get(f"{V1}/{dist}/search").json()["total"] == 5
    assert not (settings.data_root / "_tmp" / f"job-{job['id']}").exists()
    show = client.get("/api/3/action/resource_show", params={"id": dist}).json()["result"]
    assert show["datastore_active"] is True
    log = actions(db)
    assert log.index("datastore.job_queue") < log.index("datastore.ingest") < log.index(
        "datastore.job_succeed")


def test_uploads_over_the_threshold_become_jobs_and_small_ones_do_not(
        settings: Settings, db: Database, city: City, dist: str) -> None:
    from zhihui.app import create_app

    small = settings.model_copy(update={"ingest_background_bytes": len(GBK_LINES) - 1,
                                        "job_workers": 0})
    with TestClient(create_app(small, db)) as c:
        assert send(c, city, dist, GBK_LINES).status_code == 202
        assert send(c, city, dist, b"a,b\n1,2\n").status_code == 201


def test_progress_is_visible_over_the_api_while_the_job_runs(
        client: TestClient, city: City, db: Database, settings: Settings, dist: str) -> None:
    job = queue(client, city, dist)
    seen: list[dict[str, Any]] = []

    def look(_progress: dict[str, Any]) -> None:
        # another request, while the ingest's own transaction is still open
        r = client.get(f"{V1}/jobs/{job['id']}", headers=city.headers("editor"))
        seen.append(r.json())

    assert worker(db, settings, observe=look).drain() == [(job["id"], "succeeded")]
    assert seen and all(s["state"] == "running" for s in seen)
    stages = [s["stage"] for s in seen]
    assert stages[0] == "receive" and "transcode" in stages  # a GBK file is transcoded
    transcoded = [s for s in seen if s["stage"] == "transcode"][-1]
    assert transcoded["done"] == transcoded["total"] == len(GBK_LINES)
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents) and 0 < percents[-1] < 100


def test_a_failed_job_leaves_the_previous_version_and_says_why_in_chinese(
        client: TestClient, city: City, db: Database, settings: Settings, dist: str) -> None:
    assert send(client, city, dist, GBK_LINES).status_code == 201
    job = queue(client, city, dist, "线路名称,票价\n1路,2\n2路,2,3\n".encode())
    assert worker(db, settings).drain() == [(job["id"], "failed")]
    failed = client.get(f"{V1}/jobs/{job['id']}", headers=city.headers("editor")).json()
    assert failed["state"] == "failed" and failed["version"] is None
    assert "第 3 行" in failed["error"]["message"]
    english = client.get(f"{V1}/jobs/{job['id']}?lang=en", headers=city.headers("editor"))
    assert "Row 3" in english.json()["error"]["message"]
    assert [v["number"] for v in client.get(f"{V1}/{dist}/versions").json()] == [1]
    assert client.get(f"{V1}/{dist}/search").json()["total"] == 5
    assert "datastore.job_fail" in actions(db)


def test_two_workers_never_take_the_same_job(client: TestClient, city: City, db: Database,
                                             dist: str) -> None:
    ids = {queue(client, city, dist)["id"] for _ in range(6)}
    taken: list[str] = []
    lock = threading.Lock()

    def take(name: str) -> None:
        while True:
            with db.session() as s:
                job = jobs.claim(s, name)
                if job is None:
                    return
                with lock:
                    taken.append(job.id)

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(ids)  # each job once, none twice
    with db.session() as s:
        assert {j.state for j in s.scalars(select(DatastoreJob))} == {"running"}


def test_a_stale_job_is_queued_again_once_then_failed(
        client: TestClient, city: City, db: Database, settings: Settings, dist: str) -> None:
    assert send(client, city, dist, GBK_LINES).status_code == 201
    job_id = queue(client, city, dist, b"a,b\n1,2\n")["id"]
    t0 = utcnow()
    with db.session() as s:
        assert jobs.claim(s, "dead-host:1", now=t0).id == job_id  # then the process dies
    with db.session() as s:  # within the heartbeat's grace: still running
        assert jobs.recover_stale(s, data_root=settings.data_root,
                                  now=t0 + timedelta(seconds=30)) == []
    with db.session() as s:
        [again] = jobs.recover_stale(s, data_root=settings.data_root,
                                     now=t0 + timedelta(minutes=2))
        assert again.state == "queued" and again.attempts == 1
    with db.session() as s:
        assert jobs.claim(s, "dead-host:2", now=t0 + timedelta(minutes=3)).attempts == 2
    with db.session() as s:
        [gone] = jobs.recover_stale(s, data_root=settings.data_root,
                                    now=t0 + timedelta(minutes=5))
        assert gone.state == "failed"
        jobs.discard_upload(settings.data_root, gone)
    failed = client.get(f"{V1}/jobs/{job_id}", headers=city.headers("editor")).json()
    assert failed["state"] == "failed" and "进程已中断" in failed["error"]["message"]
    assert not (settings.data_root / "_tmp" / f"job-{job_id}").exists()
    # the version made before is still the current one
    assert [v["number"] for v in client.get(f"{V1}/{dist}/versions").json()] == [1]
    assert client.get(f"{V1}/{dist}/search").json()["total"] == 5
    log = actions(db)
    assert "datastore.job_requeue" in log and "datastore.job_fail" in log


def test_a_job_taken_away_as_stale_publishes_nothing_twice(
        client: TestClient, city: City, db: Database, settings: Settings, dist: str) -> None:
    job_id = queue(client, city, dist)["id"]
    t0 = utcnow() - timedelta(minutes=10)
    with db.session() as s:
        jobs.claim(s, "slow", now=t0)
    with db.session() as s:  # the slow worker looked dead: its job is queued again
        jobs.recover_stale(s, data_root=settings.data_root)
    with db.session() as s:
        jobs.claim(s, "fresh")
    # the slow worker wakes up and finishes: its result is not published
    assert jobs.run(db, job_id, data_root=settings.data_root, worker="slow") == "lost"
    assert client.get(f"{V1}/{dist}/versions").json() == []
    assert jobs.run(db, job_id, data_root=settings.data_root, worker="fresh") == "succeeded"
    assert [v["number"] for v in client.get(f"{V1}/{dist}/versions").json()] == [1]


def test_only_the_uploader_and_the_resources_editors_see_a_job(
        client: TestClient, city: City, dist: str) -> None:
    job_id = queue(client, city, dist)["id"]
    url = f"{V1}/jobs/{job_id}"
    for role in ("editor", "admin", "sysadmin"):
        assert client.get(url, headers=city.headers(role)).status_code == 200, role
    for role in ("member", "other_editor", "public", "anonymous"):
        assert client.get(url, headers=city.headers(role)).status_code == 404, role
    listed = client.get(f"{V1}/{dist}/jobs", headers=city.headers("admin")).json()
    assert [j["id"] for j in listed] == [job_id]
    assert client.get(f"{V1}/{dist}/jobs", headers=city.headers("member")).json() == []
    # queuing needs the right to edit, at once (not later in the worker)
    assert send(client, city, dist, GBK_LINES, role="other_editor",
                background="true").status_code == 403


def test_worker_once_from_the_command_line(client: TestClient, city: City, settings: Settings,
                                           dist: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhihui.cli import app

    job_id = queue(client, city, dist)["id"]
    monkeypatch.setenv("ZHIHUI_HOME", str(settings.home))
    monkeypatch.setenv("ZHIHUI_DATABASE_URL", settings.sqlalchemy_url)
    result = CliRunner().invoke(app, ["data", "worker", "--once"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"job {job_id}: succeeded" in result.output
    assert client.get(f"{V1}/{dist}/search").json()["total"] == 5


def test_the_app_runs_jobs_in_its_own_worker_thread(settings: Settings, db: Database,
                                                    city: City, dist: str) -> None:
    from zhihui.app import create_app

    with TestClient(create_app(settings.model_copy(update={"job_workers": 1}), db)) as c:
        job_id = queue(c, city, dist)["id"]
        state = "queued"
        for _ in range(600):  # the thread looks at the queue every two seconds
            state = c.get(f"{V1}/jobs/{job_id}", headers=city.headers("editor")).json()["state"]
            if state in jobs.FINISHED:
                break
            time.sleep(0.1)
        assert state == "succeeded"


def test_a_large_ckan_upload_becomes_a_job_and_datastore_active_follows(
        settings: Settings, db: Database, city: City) -> None:
    from zhihui.app import create_app

    small = settings.model_copy(update={"ingest_background_bytes": 100, "job_workers": 0})
    with TestClient(create_app(small, db)) as c:
        r = c.post("/api/3/action/resource_create", headers=city.headers("editor"),
                   data={"package_id": city.resources["open"]},
                   files={"upload": ("公交线路.csv", GBK_LINES)})
        assert r.status_code == 200, r.text
        made = r.json()["result"]
        assert made["datastore_active"] is False  # queued, not yet queryable
        [job] = c.get(f"{V1}/{made['id']}/jobs", headers=city.headers("editor")).json()
        assert job["state"] == "queued"
        assert worker(db, settings).drain() == [(job["id"], "succeeded")]
        shown = c.get("/api/3/action/resource_show", params={"id": made["id"]}).json()["result"]
        assert shown["datastore_active"] is True
        assert shown["url"].endswith(f"/datastore/dump/{made['id']}")
        assert c.get(f"{V1}/{made['id']}/search").json()["total"] == 5
