"""Removing what interrupted work left under the data root (``zhihui data clean``).

An ingest writes its version folder under ``_tmp/``, renames it into place, and only the
commit of its ``DatastoreVersion`` row makes it visible (``storage.py``). A process killed
between the rename and the commit leaves a version folder that nothing reads; one killed
earlier leaves its work folder in ``_tmp/``, and one killed after keeping the upload leaves an
original that no version names. None of these is ever served, but each takes disk (a 2 GB
upload is 2 GB twice). This finds them and removes them:

- **version folders** ``<distribution>/<version>/`` with no version row;
- **work entries** in ``_tmp/`` (ingest and revision folders, dumps, copies on their way),
  except the stored upload of a background job that is still queued or running, and the
  hidden work files of index builds and protected copies inside version folders;
- **originals** ``_originals/<xx>/<sha256>`` that no version's ``sha256`` names.

Only what has not changed for ``GRACE`` goes: an ingest renames its folder a moment before
it commits, and a job's upload waits in ``_tmp`` until a worker takes it (kept whatever its
age while the job is queued or running). The removal is recorded in the audit log
(``datastore.cleaned``: counts, bytes and the first paths) and committed before the files go,
so a crash in between leaves files for the next round, never a removal that was not logged.
Only the operator may run it (``resource.purge``)."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from zhihui.core import audit, authz
from zhihui.core.authz import SYSTEM, Actor
from zhihui.datastore.models import DatastoreJob, DatastoreVersion
from zhihui.datastore.storage import Storage

GRACE = timedelta(hours=6)
LISTED = 50  # paths named in the audit entry
ACTIVE_JOBS = ("queued", "running")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # db.new_id


@dataclass
class Leftovers:
    """What a round found: paths relative to the data root, and their size."""

    versions: list[str] = field(default_factory=list)
    work: list[str] = field(default_factory=list)
    originals: list[str] = field(default_factory=list)
    bytes: int = 0
    waiting: int = 0  # leftovers younger than the grace period

    def paths(self) -> list[str]:
        return [*self.versions, *self.work, *self.originals]


def _newest_change(path: Path) -> float:
    """The latest modification time of ``path`` and of the entries directly in it (a folder's
    own time changes only when an entry is added or removed, not when a file grows)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
                except FileNotFoundError:
                    continue
    return newest


def _size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total


def find(session: Any, data_root: Path, *, now: datetime | None = None,
         grace: timedelta = GRACE) -> Leftovers:
    """The leftovers under ``data_root`` older than ``grace`` (the younger ones counted in
    ``waiting``). Reads the database; changes nothing."""
    storage = Storage(data_root)
    root = storage.root
    cutoff = ((now or datetime.now(UTC)) - grace).timestamp()
    out = Leftovers()
    if not root.exists():
        return out
    published = set(session.scalars(select(DatastoreVersion.path)))
    hashes = set(session.scalars(select(DatastoreVersion.sha256)))
    active_uploads = {
        Path(p).parts[1] for p in session.scalars(select(DatastoreJob.upload_path).where(
            DatastoreJob.state.in_(ACTIVE_JOBS))) if len(Path(p).parts) > 1}

    def take(path: Path, bucket: list[str]) -> None:
        if _newest_change(path) > cutoff:
            out.waiting += 1
            return
        bucket.append(str(path.relative_to(root)))
        out.bytes += _size(path)

    for distribution in sorted(root.iterdir()):
        if not ID.fullmatch(distribution.name) or not distribution.is_dir():
            continue  # _originals, _tmp, _keys (privacy's), anything not a distribution's
        for folder in sorted(distribution.iterdir()):
            if not folder.is_dir():
                continue
            if str(folder.relative_to(root)) not in published:
                take(folder, out.versions)
                continue
            for entry in sorted(folder.iterdir()):  # an index build's or a copy's work files
                if entry.name.startswith("."):
                    take(entry, out.work)
    tmp = root / "_tmp"
    if tmp.is_dir():
        for entry in sorted(tmp.iterdir()):
            if entry.name not in active_uploads:
                take(entry, out.work)
    originals = root / "_originals"
    if originals.is_dir():
        for prefix in sorted(originals.iterdir()):
            for original in sorted(prefix.iterdir()) if prefix.is_dir() else ():
                if original.name not in hashes:
                    take(original, out.originals)
    return out


def clean(database: Any, data_root: Path, *, actor: Actor = SYSTEM, dry_run: bool = False,
          now: datetime | None = None, grace: timedelta = GRACE) -> Leftovers:
    """Find the leftovers, record their removal (committed), then remove them. With
    ``dry_run`` only find them."""
    authz.require(actor, "resource.purge")
    with database.session() as s:
        found = find(s, data_root, now=now, grace=grace)
        if dry_run or not found.paths():
            return found
        audit.record(s, actor, "datastore.cleaned", "data_root", None, detail={
            "versions": len(found.versions), "work": len(found.work),
            "originals": len(found.originals), "bytes": found.bytes,
            "paths": found.paths()[:LISTED]})
    # committed: now the files go (a crash here leaves them for the next round)
    root = Storage(data_root).root
    for relative in found.paths():
        path = root / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for relative in found.versions:  # a distribution's folder left empty goes too
        with_parent = (root / relative).parent
        if with_parent.is_dir() and not any(with_parent.iterdir()):
            with_parent.rmdir()
    return found
