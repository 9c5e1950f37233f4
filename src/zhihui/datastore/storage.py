"""Where the data lives under ``settings.data_root``:

- ``_originals/<sha256[:2]>/<sha256>``: each uploaded file once, by content;
- ``<distribution id>/<version id>/data.parquet``: the version's table;
- ``_tmp/``: work files; a version's folder is written here and renamed into place, so a
  reader never sees a half-written version (rename is atomic on one filesystem).

Only a committed ``DatastoreVersion`` row makes a folder visible; a folder without a row (an
ingest killed between the rename and the commit) is never read."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK = 4 * 1024 * 1024
DATA_FILE = "data.parquet"


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    @property
    def tmp(self) -> Path:
        path = self.root / "_tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def work_dir(self) -> Path:
        path = self.tmp / uuid.uuid4().hex
        path.mkdir()
        return path

    def original(self, sha256: str) -> Path:
        return self.root / "_originals" / sha256[:2] / sha256

    def version_dir(self, distribution_id: str, version_id: str) -> Path:
        return self.root / distribution_id / version_id

    def data_file(self, relative: str) -> Path:
        return self.root / relative / DATA_FILE

    def receive(
        self, source: BinaryIO, work: Path, progress: Callable[[int], None] | None = None
    ) -> tuple[Path, str, int]:
        """Copy an upload into the work folder while hashing it: (path, sha256, size)."""
        path = work / "upload"
        digest = hashlib.sha256()
        size = 0
        with open(path, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
                if progress:
                    progress(len(chunk))
        return path, digest.hexdigest(), size

    def keep_original(self, path: Path, sha256: str, *, move: bool = False) -> Path:
        """Store the upload under its hash (once; the same file uploaded twice is kept once).
        ``move``: ``path`` is a work file on this filesystem, renamed into place, not copied."""
        target = self.original(sha256)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(path, target)
            return target
        tmp = self.tmp / f"original-{uuid.uuid4().hex}"
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        return target

    def publish(self, folder: Path, distribution_id: str, version_id: str) -> str:
        """Move a finished version folder into place; returns its path relative to the root."""
        target = self.version_dir(distribution_id, version_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder, target)
        return str(target.relative_to(self.root))

    def discard(self, relative: str) -> None:
        shutil.rmtree(self.root / relative, ignore_errors=True)
