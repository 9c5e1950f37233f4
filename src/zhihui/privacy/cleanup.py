"""Removing protected copies that no view can serve any more.

A protected copy is written beside its version as ``protected-<fingerprint>.parquet``
(``service.materialise``); the fingerprint covers the policy's rules, quasi-identifiers, k,
salt, the pseudonym key and the version's columns. ``service.protected_view`` only ever serves
the copy whose fingerprint is that of the **current** policy, and only for a version the policy
covers (every personal column has a rule) and applies to (some column has a rule). So when a
policy changes, the copies made under its earlier revisions are no longer reachable; when a
column is confirmed as personal and the policy has no rule for it, the copies of the versions
holding it are not either (readers fall back to an earlier covered version, or get 403).

Superseded versions stay readable by number (the versions list offers their downloads), so
their copies under the current policy are kept: only what no view can reach goes.

A copy is removed only when it is unreachable **and** the last change that could have made it
so (the policy's revision, an editor's confirmation of a column) is older than ``GRACE``, and
the file itself is too: a read that computed its path just before the change has long finished,
and a copy rewritten by a reader of a stale snapshot waits for the next round. Every removal is
recorded in the audit log (``privacy.protected_removed``: the resource, versions, files and the
policy revision), committed before the files go; the files beside a copy under the same name
(the datastore's indexes of it) go with it. The app runs ``prune`` every ``INTERVAL`` seconds;
``zhihui privacy prune`` runs it on demand. PIPL Art. 19, 47: personal information, even
de-identified, is not kept longer than its use needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhihui.catalog.models import Resource
from zhihui.core import audit, authz
from zhihui.core.authz import SYSTEM, Actor
from zhihui.datastore.models import DatastoreVersion
from zhihui.db import utcnow
from zhihui.privacy import service
from zhihui.privacy.models import ColumnClassification, Policy

GRACE = timedelta(minutes=10)
INTERVAL = 3600.0
COPY = re.compile(r"^protected-([0-9a-f]{8,64})\.parquet$")


@dataclass
class Stale:
    """One resource's unreachable copies: removed now, or waiting out the grace period."""

    resource_id: str
    org_id: str
    policy_revision: int | None
    removed: list[Path] = field(default_factory=list)  # the copies (Parquet files)
    waiting: list[Path] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)  # of the removed copies

    def files(self) -> list[Path]:
        """The removed copies with everything kept beside them under the same name."""
        out = []
        for copy in self.removed:
            out += sorted(p for p in copy.parent.glob(copy.stem + ".*") if p.is_file())
        return out


def reachable(session: Session, version: DatastoreVersion, policy: Policy | None,
              data_root: Path) -> str | None:
    """The fingerprint of the one copy of ``version`` a view can serve now, if any (the same
    test as ``service.protected_view``)."""
    if policy is None:
        return None
    rules = service.rules_of(policy)
    if not any(c["id"] in rules for c in version.columns):
        return None  # the policy does not touch this version: the original is served
    if service.uncovered(policy, service.classifications(session, version, data_root)):
        return None  # awaiting de-identification: no reader gets this version
    return service.fingerprint(policy, version, data_root)


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _changed(session: Session, resource_id: str, policy: Policy | None) -> datetime | None:
    """The last change that can make a copy unreachable: the policy's, a confirmation's."""
    confirmed = session.scalar(select(func.max(ColumnClassification.confirmed_at)).where(
        ColumnClassification.resource_id == resource_id))
    times = [t for t in (_aware(policy.updated) if policy else None, _aware(confirmed)) if t]
    return max(times) if times else None


def find_stale(session: Session, resource: Resource, data_root: Path, *,
               now: datetime | None = None, grace: timedelta = GRACE) -> Stale:
    """What of ``resource``'s protected copies no view can reach, split into what may be
    removed now and what waits for the grace period to pass. Reads only."""
    now = now or utcnow()
    policy = session.get(Policy, resource.id)
    changed = _changed(session, resource.id, policy)
    settled = changed is None or changed <= now - grace
    stale = Stale(resource.id, resource.owner_org_id, policy.revision if policy else None)
    for v in session.scalars(select(DatastoreVersion).where(
            DatastoreVersion.resource_id == resource.id).order_by(DatastoreVersion.number)):
        folder = Path(data_root) / v.path
        if not folder.is_dir():
            continue
        keep = reachable(session, v, policy, data_root)
        for path in sorted(folder.glob("protected-*.parquet")):
            m = COPY.match(path.name)
            if m is None or m.group(1) == keep:
                continue
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if settled and modified <= now - grace:
                stale.removed.append(path)
                if v.number not in stale.versions:
                    stale.versions.append(v.number)
            else:
                stale.waiting.append(path)
    return stale


def record(session: Session, actor: Actor, stale: Stale, data_root: Path,
           reason: str) -> None:
    """The audit entry of one resource's removal (in the caller's transaction)."""
    root = Path(data_root)
    names = [str(p.relative_to(root)) for p in stale.files()]
    audit.record(session, actor, "privacy.protected_removed", "resource", stale.resource_id,
                 org_id=stale.org_id, content={"files": names},
                 detail={"versions": stale.versions, "copies": len(stale.removed),
                         "files": names[:50], "policy_revision": stale.policy_revision,
                         "reason": reason[:200]})


def prune(database: Any, data_root: Path, *, actor: Actor = SYSTEM,
          resource_id: str | None = None, now: datetime | None = None,
          grace: timedelta = GRACE) -> list[Stale]:
    """One round over every resource with data (or one): find the unreachable copies past
    the grace period, record their removal in the audit log and commit, then remove the
    files. Returns what was found per resource (removed and waiting) where anything was.

    Only the operator may (``resource.purge``). Safe to run in several processes at once: a
    file another round already removed is skipped (and its second audit entry names it too;
    a derived copy is recreated from the version whenever the policy serves it again)."""
    found: list[Stale] = []
    with database.session() as s:
        q = select(Resource).where(Resource.id.in_(
            select(DatastoreVersion.resource_id).distinct()))
        if resource_id is not None:
            q = q.where((Resource.id == resource_id) | (Resource.name == resource_id))
        for r in s.scalars(q.order_by(Resource.id)):
            authz.require(actor, "resource.purge", r)
            stale = find_stale(s, r, data_root, now=now, grace=grace)
            if stale.removed:
                record(s, actor, stale, data_root,
                       f"unreachable under policy revision {stale.policy_revision}")
            if stale.removed or stale.waiting:
                found.append(stale)
    # committed: now the files go (a crash here leaves them for the next round)
    for stale in found:
        for path in stale.files():
            path.unlink(missing_ok=True)
    return found


def run_periodically(app: Any, interval: float = INTERVAL) -> None:
    """Prune every ``interval`` seconds while the app runs (the first round after a minute)."""
    from zhihui.web import background

    background.periodically(
        app, interval, lambda a: prune(a.state.db, a.state.settings.data_root),
        "protected copy cleanup", first=60.0)
