"""Background ingest jobs: a large upload is stored first and made into a version by a worker,
while the page and the API show its progress (Art. 14, 46: the departments' real files, which
can be gigabytes; a request must not wait for them).

The ``datastore_job`` table is the queue ("long jobs go to a queue that any worker takes",
ARCHITECTURE.md): a worker claims a job with one conditional UPDATE (``WHERE state='queued'``),
so two processes never take the same job, on SQLite and PostgreSQL alike. Workers run as a
thread of each app process (``api.run_worker``) and as ``zhihui data worker``; the stored
upload lives in the data root's work folder, which every process shares.

A running job writes its progress (throttled) and a heartbeat to its row. A job whose heartbeat
stops (its process died) is stale: ``recover_stale`` queues it again, once, or fails it with a
clear message. Either way the previous version stays current, because ``versions.ingest``
publishes a version only in the transaction that also marks the job succeeded."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.core import audit
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import User
from zhihui.core.authz import SYSTEM, Actor, can, require
from zhihui.core.errors import Forbidden, NotFound, ZhihuiError
from zhihui.core.i18n import translate
from zhihui.datastore import versions
from zhihui.datastore.models import DatastoreJob
from zhihui.datastore.storage import CHUNK, Storage
from zhihui.db import Database, new_id, utcnow

log = logging.getLogger(__name__)

STATES = ("queued", "running", "succeeded", "failed")
FINISHED = ("succeeded", "failed")
HEARTBEAT_SECONDS = 5.0  # a running job's row is touched this often
STALE_SECONDS = 60.0  # a running job silent this long belongs to a process that died
MAX_ATTEMPTS = 2  # a stale job is run again once, then failed
POLL_SECONDS = 2.0  # an idle worker looks at the queue this often
PROGRESS_SECONDS = 1.0  # progress is written at each whole percent, or after this long
CLAIM_BATCH = 5
# Where each stage of ``versions.ingest`` sits in the whole job, in percent: the bar moves
# through the stages even when a stage cannot say how far it is (parse, infer).
STAGE_SPAN = {"receive": (0, 10), "transcode": (10, 35), "read": (35, 60), "parse": (35, 60),
              "infer": (60, 99)}
OPTION_FIELDS = ("format", "sheet", "encoding", "delimiter", "header_row", "types",
                 "max_rejected")


@dataclass(frozen=True)
class JobSubject:
    """What ``datastore.job_read`` decides on: who started the job, and its resource."""

    actor_id: str | None
    resource: Resource


def should_background(size: int, asked: bool, threshold: int) -> bool:
    """A job when the caller asks for one or the upload is over the threshold (settings:
    ``ingest_background_bytes``); 0 or less disables the threshold."""
    return asked or (threshold > 0 and size > threshold)


def options_dict(options: versions.IngestOptions) -> dict[str, Any]:
    return {f: getattr(options, f) for f in OPTION_FIELDS}


def options_from(data: dict[str, Any]) -> versions.IngestOptions:
    return versions.IngestOptions(**{f: data[f] for f in OPTION_FIELDS if f in data})


# --- submitting and reading ------------------------------------------------------------------


def submit(session: Session, actor: Actor, distribution_id: str, source: BinaryIO | Path,
           filename: str = "", options: versions.IngestOptions | None = None, *,
           data_root: Path, distribution: dict[str, Any] | None = None) -> DatastoreJob:
    """Store an upload in the work folder and queue its ingest (needs ``resource.update``, the
    same right as ingest itself, so a refusal comes now and not from the worker)."""
    d, r = catalog.get_distribution(session, actor, distribution_id)
    require(actor, "resource.update", r)
    job_id = new_id()
    folder = _folder(data_root, job_id)
    folder.mkdir(parents=True)
    try:
        size = _store(source, folder / "upload")
        if isinstance(source, Path):
            filename = filename or source.name
        job = DatastoreJob(
            id=job_id, distribution_id=d.id, resource_id=r.id, state="queued", stage="",
            done=0, total=size, upload_path=str((folder / "upload").relative_to(
                Storage(data_root).root)), filename=(filename or "")[:300], size=size,
            options=options_dict(options or versions.IngestOptions()),
            distribution_changes=dict(distribution or {}), error_key="", error_params={},
            attempts=0, worker="", created=utcnow(), actor_id=actor.user_id,
            actor_name=actor.name[:100])
        session.add(job)
        # the stored file is data waiting to become a version: its arrival is logged
        audit.record(session, actor, "datastore.job_queue", "distribution", d.id,
                     org_id=r.owner_org_id,
                     detail={"job": job_id, "resource_id": r.id,
                             "filename": (filename or "")[:200], "size": size})
        session.flush()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


def _folder(data_root: Path, job_id: str) -> Path:
    return Storage(data_root).tmp / f"job-{job_id}"


def _store(source: BinaryIO | Path, target: Path) -> int:
    size = 0
    with open(target, "wb") as out:
        if isinstance(source, Path):
            with open(source, "rb") as f:
                while chunk := f.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
        else:
            while chunk := source.read(CHUNK):
                out.write(chunk)
                size += len(chunk)
    return size


def get_job(session: Session, actor: Actor, job_id: str) -> DatastoreJob:
    """The job, if ``actor`` started it or edits its resource; 404 otherwise, so that other
    people's uploads do not show."""
    job = session.get(DatastoreJob, job_id[:36])
    resource = _resource_of(session, job) if job is not None else None
    if job is None or resource is None or not can(
            actor, "datastore.job_read", JobSubject(job.actor_id, resource)):
        raise NotFound("datastore_job.not_found", id=job_id[:100])
    return job


def list_jobs(session: Session, actor: Actor, distribution_id: str, limit: int = 10
              ) -> list[DatastoreJob]:
    """The newest jobs of a distribution that ``actor`` may see."""
    d, r = catalog.get_distribution(session, actor, distribution_id)
    jobs = session.scalars(select(DatastoreJob).where(DatastoreJob.distribution_id == d.id)
                           .order_by(DatastoreJob.created.desc()).limit(limit))
    return [j for j in jobs if can(actor, "datastore.job_read", JobSubject(j.actor_id, r))]


def percent(job: DatastoreJob) -> int:
    """How far the job is, 0-100, from its stage and the stage's own count."""
    if job.state == "succeeded":
        return 100
    span = STAGE_SPAN.get(job.stage)
    if span is None:
        return 0
    low, high = span
    if job.total > 0:  # a stage that knows how far it is (bytes, rows, percent)
        return low + int((high - low) * min(job.done, job.total) / job.total)
    return low


def error_messages(job: DatastoreJob, lang: str) -> dict[str, Any] | None:
    """Why the job failed, in the reader's language (Chinese first)."""
    if not job.error_key:
        return None
    params = job.error_params or {}
    fields = {name: [translate(m["key"], lang, **m.get("params", {})) for m in msgs]
              for name, msgs in (params.get("fields") or {}).items()}
    return {"key": job.error_key,
            "message": translate(job.error_key, lang, **(params.get("params") or {})),
            "fields": fields}


def job_dict(job: DatastoreJob, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": job.id, "resource_id": job.distribution_id, "package_id": job.resource_id,
        "kind": job.kind, "state": job.state, "stage": job.stage, "done": job.done,
        "total": job.total, "percent": percent(job), "filename": job.filename,
        "size": job.size, "version": job.version_number, "attempts": job.attempts,
        "error": error_messages(job, lang),
        "created": job.created.isoformat(),
        "started": job.started.isoformat() if job.started else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "actor": job.actor_name,
    }


# --- the queue -------------------------------------------------------------------------------


def claim(session: Session, worker: str, now: datetime | None = None) -> DatastoreJob | None:
    """Take the oldest queued job for ``worker``, or None. The UPDATE succeeds for one
    process only: a job another process took meanwhile is no longer 'queued'. The caller
    commits."""
    now = now or utcnow()
    candidates = session.scalars(
        select(DatastoreJob.id).where(DatastoreJob.state == "queued")
        .order_by(DatastoreJob.created, DatastoreJob.id).limit(CLAIM_BATCH)).all()
    for job_id in candidates:
        taken = session.execute(
            update(DatastoreJob)
            .where(DatastoreJob.id == job_id, DatastoreJob.state == "queued")
            .values(state="running", worker=worker[:100], heartbeat=now, started=now,
                    stage="", done=0, attempts=DatastoreJob.attempts + 1)
            .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            job = session.get(DatastoreJob, job_id)
            assert job is not None
            session.refresh(job)
            return job
    return None


def recover_stale(session: Session, *, data_root: Path, now: datetime | None = None,
                  stale_seconds: float = STALE_SECONDS) -> list[DatastoreJob]:
    """Running jobs whose heartbeat stopped: queued again if they have an attempt left and
    their upload is still there, else failed with ``datastore_job.stale``. Audited as the
    platform's act. The caller commits (then calls ``discard_upload`` for the failed)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    stale = session.scalars(select(DatastoreJob).where(
        DatastoreJob.state == "running", DatastoreJob.heartbeat < cutoff)).all()
    changed = []
    for job in stale:
        upload = Storage(data_root).root / job.upload_path
        retry = job.attempts < MAX_ATTEMPTS and upload.exists()
        values: dict[str, Any] = (
            {"state": "queued", "worker": "", "stage": "", "done": 0, "total": job.size}
            if retry else
            {"state": "failed", "finished": now, "error_key": "datastore_job.stale",
             "error_params": {"params": {"worker": job.worker, "attempts": job.attempts}}})
        moved = session.execute(
            update(DatastoreJob)
            .where(DatastoreJob.id == job.id, DatastoreJob.state == "running",
                   DatastoreJob.heartbeat < cutoff)
            .values(**values).execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            continue  # its worker spoke just now
        session.refresh(job)
        audit.record(session, SYSTEM, "datastore.job_requeue" if retry else "datastore.job_fail",
                     "distribution", job.distribution_id, org_id=_org_of(session, job),
                     detail={"job": job.id, "worker": values.get("worker", job.worker),
                             "attempts": job.attempts, "reason": "stale"})
        changed.append(job)
    return changed


def discard_upload(data_root: Path, job: DatastoreJob) -> None:
    """A finished job's stored upload is no longer needed (the version keeps the original)."""
    if job.state in FINISHED:
        shutil.rmtree(_folder(data_root, job.id), ignore_errors=True)


def _resource_of(session: Session, job: DatastoreJob) -> Resource | None:
    return session.scalar(select(Resource).where(Resource.id == job.resource_id))


def _org_of(session: Session, job: DatastoreJob) -> str | None:
    r = _resource_of(session, job)
    return r.owner_org_id if r is not None else None


def _actor_of(session: Session, job: DatastoreJob) -> Actor:
    """The person who uploaded, with their rights as they are now (ingest checks them
    again: someone who lost the right to edit in between cannot publish)."""
    if job.actor_id:
        user = session.get(User, job.actor_id)
        if user is not None and user.active:
            return accounts.actor_for(session, user)
        if user is None and job.actor_id == SYSTEM.user_id:  # the CLI, the demo loader
            return Actor(user_id=SYSTEM.user_id, name=job.actor_name or SYSTEM.name,
                         sysadmin=True)
    raise Forbidden("datastore_job.actor_gone")


# --- running a job ---------------------------------------------------------------------------

Observer = Callable[[dict[str, Any]], None]


class _Reporter:
    """``IngestOptions.progress`` for a job: writes stage and counts to the row in its own
    short transaction (so pages see them while the ingest's transaction is open), at each
    whole percent or stage change, or after PROGRESS_SECONDS; only while this worker still
    owns the job."""

    def __init__(self, database: Database, job_id: str, worker: str,
                 observe: Observer | None) -> None:
        self.database, self.job_id, self.worker, self.observe = database, job_id, worker, observe
        self.stage = ""
        self.mark = -1
        self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        mark = int(100 * done / total) if total > 0 else -1
        now = time.monotonic()
        if stage == self.stage and mark <= self.mark and now - self.last < PROGRESS_SECONDS:
            return
        self.stage, self.mark, self.last = stage, mark, now
        values: dict[str, Any] = {"stage": stage[:20], "done": done, "total": max(total, 0),
                                  "heartbeat": utcnow()}
        with self.database.session() as s:
            s.execute(update(DatastoreJob).where(
                DatastoreJob.id == self.job_id, DatastoreJob.state == "running",
                DatastoreJob.worker == self.worker).values(**values)
                .execution_options(synchronize_session=False))
        if self.observe:
            self.observe({"job": self.job_id, "stage": stage, "done": done, "total": total})


class _Heartbeat(threading.Thread):
    """Touches the job's row while a long stage runs without progress calls."""

    def __init__(self, database: Database, job_id: str, worker: str, seconds: float) -> None:
        super().__init__(name=f"heartbeat-{job_id[:8]}", daemon=True)
        self.database, self.job_id, self.worker, self.seconds = database, job_id, worker, seconds
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.seconds):
            try:
                with self.database.session() as s:
                    s.execute(update(DatastoreJob).where(
                        DatastoreJob.id == self.job_id, DatastoreJob.state == "running",
                        DatastoreJob.worker == self.worker).values(heartbeat=utcnow())
                        .execution_options(synchronize_session=False))
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("job heartbeat failed")

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


def _error_params(exc: ZhihuiError) -> dict[str, Any]:
    return {"params": {k: _plain(v) for k, v in exc.message.params.items()},
            "fields": {name: [{"key": m.key, "params": {k: _plain(v)
                                                        for k, v in m.params.items()}}
                              for m in msgs] for name, msgs in exc.fields.items()}}


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def run(database: Database, job_id: str, *, data_root: Path, worker: str,
        observe: Observer | None = None, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> str:
    """Ingest a job this worker has claimed; returns the state it ends in ('succeeded',
    'failed', or 'lost' when the job was taken away as stale meanwhile)."""
    session = database.sessionmaker()
    beat = _Heartbeat(database, job_id, worker, heartbeat_seconds)
    job = session.get(DatastoreJob, job_id)
    if job is None or job.state != "running" or job.worker != worker:
        session.close()
        return "lost"
    state = "failed"
    try:
        beat.start()
        try:
            actor = _actor_of(session, job)
            options = options_from(job.options)
            options.progress = _Reporter(database, job_id, worker, observe)
            version = versions.ingest(
                session, actor, job.distribution_id, Storage(data_root).root / job.upload_path,
                job.filename, options, data_root=data_root,
                distribution=job.distribution_changes or None)
        except ZhihuiError as exc:
            session.rollback()
            beat.stop()
            state = _finish_failed(session, job_id, worker, exc.message.key, _error_params(exc))
            return state
        except Exception as exc:  # noqa: BLE001 - the job says so; the worker goes on
            log.exception("datastore job %s failed", job_id)
            session.rollback()
            beat.stop()
            state = _finish_failed(session, job_id, worker, "datastore_job.crashed",
                                   {"params": {"detail": type(exc).__name__}})
            return state
        except BaseException:
            # stopped (Ctrl-C, shutdown): back in the queue for the next worker
            session.rollback()
            beat.stop()
            _requeue(session, job_id, worker)
            state = "queued"
            raise
        beat.stop()
        moved = session.execute(
            update(DatastoreJob)
            .where(DatastoreJob.id == job_id, DatastoreJob.state == "running",
                   DatastoreJob.worker == worker)
            .values(state="succeeded", stage="done", done=job.size, total=job.size,
                    version_id=version.id, version_number=version.number, finished=utcnow(),
                    heartbeat=utcnow())
            .execution_options(synchronize_session=False))
        if moved.rowcount != 1:
            # recovered as stale while we worked: another worker runs it; publish nothing
            session.rollback()
            Storage(data_root).discard(version.path)
            state = "lost"
            return state
        audit.record(session, actor, "datastore.job_succeed", "distribution",
                     job.distribution_id, org_id=_org_of(session, job),
                     detail={"job": job_id, "version": version.number, "rows": version.rows})
        session.commit()
        state = "succeeded"
        return state
    finally:
        beat.stop()
        session.close()
        if state in FINISHED:
            shutil.rmtree(_folder(data_root, job_id), ignore_errors=True)


def _finish_failed(session: Session, job_id: str, worker: str, key: str,
                   params: dict[str, Any]) -> str:
    moved = session.execute(
        update(DatastoreJob)
        .where(DatastoreJob.id == job_id, DatastoreJob.state == "running",
               DatastoreJob.worker == worker)
        .values(state="failed", error_key=key[:100], error_params=params, finished=utcnow())
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        session.rollback()
        return "lost"
    job = session.get(DatastoreJob, job_id)
    assert job is not None
    audit.record(session, SYSTEM, "datastore.job_fail", "distribution", job.distribution_id,
                 org_id=_org_of(session, job),
                 detail={"job": job_id, "error": key[:100], "actor": job.actor_name})
    session.commit()
    return "failed"


def _requeue(session: Session, job_id: str, worker: str) -> None:
    try:
        session.execute(
            update(DatastoreJob)
            .where(DatastoreJob.id == job_id, DatastoreJob.state == "running",
                   DatastoreJob.worker == worker)
            .values(state="queued", worker="", stage="", done=0)
            .execution_options(synchronize_session=False))
        session.commit()
    except Exception:  # noqa: BLE001 - stale recovery will find it
        log.exception("could not put job %s back in the queue", job_id)


# --- workers ---------------------------------------------------------------------------------


def worker_name() -> str:
    """Unique per worker: host, process, and a random part (several workers per process)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Takes jobs from the queue until told to stop; one job at a time."""

    def __init__(self, database: Database, data_root: Path, *, name: str | None = None,
                 poll_seconds: float = POLL_SECONDS, observe: Observer | None = None) -> None:
        self.database, self.data_root = database, Path(data_root)
        self.name = name or worker_name()
        self.poll_seconds = poll_seconds
        self.observe = observe

    def run_once(self) -> tuple[str, str] | None:
        """Recover stale jobs, then run the oldest queued one: (job id, final state), or
        None when the queue is empty."""
        with self.database.session() as s:
            for job in recover_stale(s, data_root=self.data_root):
                if job.state == "failed":
                    discard_upload(self.data_root, job)
        with self.database.session() as s:
            job = claim(s, self.name)
            job_id = job.id if job else None
        if job_id is None:
            return None
        return job_id, run(self.database, job_id, data_root=self.data_root, worker=self.name,
                           observe=self.observe)

    def drain(self) -> list[tuple[str, str]]:
        """Run jobs until none is queued (``zhihui data worker --once``, tests)."""
        done = []
        while (got := self.run_once()) is not None:
            done.append(got)
        return done

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                got = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("datastore worker round failed")
                got = None
            if got is None:
                stop.wait(self.poll_seconds)

    def start_thread(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, args=(stop,), daemon=True,
                                  name=f"datastore-worker-{self.name[-8:]}")
        thread.start()
        return thread
