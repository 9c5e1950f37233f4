"""Old protected copies go when no view can serve them any more (a policy changed, a
policy stopped applying), with an audit entry; a copy that can still be served never goes,
nor one whose change is so recent that a read may still be on its way."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.datastore.helpers import new_distribution
from tests.factories import City
from tests.privacy.people import csv_bytes, leaks, people
from tests.privacy.test_protection import POLICY, V1, P, upload
from zhihui.core.audit.models import AuditEntry
from zhihui.core.errors import Forbidden
from zhihui.db import utcnow
from zhihui.privacy import cleanup

LATER = timedelta(hours=1)


@pytest.fixture
def table(client: TestClient, city: City) -> str:
    dist = new_distribution(city.db, city.resources["open"])
    assert upload(client, city, dist, csv_bytes(people(40))).status_code == 201
    r = client.put(f"{P}/{city.resources['open']}/policy", json=POLICY,
                   headers=city.headers("editor"))
    assert r.status_code == 200, r.text
    return dist


def _copies(settings) -> set[Path]:
    return set(Path(settings.data_root).rglob("protected-*.parquet"))


def _served(client: TestClient, dist: str, number: int | None = None) -> dict:
    params = {"limit": 100} | ({"version": number} if number else {})
    r = client.get(f"{V1}/{dist}/search", params=params)
    assert r.status_code == 200, r.text
    assert not leaks(str(r.json()["records"]))
    return r.json()


def _policy(client, city, **changes):
    body = {**POLICY, **changes}
    r = client.put(f"{P}/{city.resources['open']}/policy", json=body,
                   headers=city.headers("editor"))
    assert r.status_code == 200, r.text


def test_a_changed_policy_leaves_its_old_copy_to_be_removed_and_audited(
        client, city, settings, table):
    before = _served(client, table)
    [old] = _copies(settings)
    _policy(client, city, k=3)  # a new revision: a new fingerprint, a new copy
    new = _copies(settings) - {old}
    assert len(new) == 1
    # just changed: a read may still be on its way to the old copy, so it waits
    waiting = cleanup.prune(city.db, settings.data_root)
    assert [len(s.waiting) for s in waiting] == [1] and old.exists()
    # past the grace period it goes, the served copy stays, and the audit log says so
    [stale] = cleanup.prune(city.db, settings.data_root, now=utcnow() + LATER)
    assert stale.removed == [old] and stale.versions == [1] and stale.policy_revision == 2
    assert not old.exists() and _copies(settings) == new
    with city.db.session() as s:
        [entry] = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "privacy.protected_removed")).all()
        assert entry.target_id == city.resources["open"] and entry.actor_name == "system"
        assert entry.detail["files"] == [str(old.relative_to(settings.data_root))]
        assert entry.detail["policy_revision"] == 2
    after = _served(client, table)
    assert after["total"] <= before["total"]
    # nothing more to do: a second round finds nothing and records nothing
    assert cleanup.prune(city.db, settings.data_root, now=utcnow() + LATER) == []
    with city.db.session() as s:
        assert len(s.scalars(select(AuditEntry).where(
            AuditEntry.action == "privacy.protected_removed")).all()) == 1


def test_a_superseded_version_keeps_the_copy_it_is_still_served_from(
        client, city, settings, table):
    _served(client, table)
    assert upload(client, city, table, csv_bytes(people(50, seed=7))).status_code == 201
    _served(client, table)  # version 2, through its own copy
    assert len(_copies(settings)) == 2
    assert cleanup.prune(city.db, settings.data_root, now=utcnow() + LATER) == []
    assert len(_copies(settings)) == 2
    # version 1 is still read by number, through its copy
    assert _served(client, table, 1)["version"] == 1
    # after a policy change both old copies go, and both versions are served anew
    _policy(client, city, k=3)
    [stale] = cleanup.prune(city.db, settings.data_root, now=utcnow() + LATER)
    assert sorted(stale.versions) == [1, 2] and len(stale.removed) == 2
    assert _served(client, table, 1)["version"] == 1 and _served(client, table)["version"] == 2
    for copy in _copies(settings):
        assert copy.exists()


def test_the_indexes_beside_a_removed_copy_go_with_it_and_a_served_ones_stay(
        client, city, settings, table):
    _served(client, table)
    [old] = _copies(settings)
    index = old.with_name(old.stem + ".rows.sqlite")
    index.write_bytes(b"SQLite format 3\x00")
    _policy(client, city, k=3)
    [new] = _copies(settings) - {old}
    kept = new.with_name(new.stem + ".rows.sqlite")
    kept.write_bytes(b"SQLite format 3\x00")
    [stale] = cleanup.prune(city.db, settings.data_root, now=utcnow() + LATER)
    assert stale.removed == [old]
    assert not index.exists() and kept.exists() and new.exists()
    with city.db.session() as s:
        entry = s.scalar(select(AuditEntry).where(
            AuditEntry.action == "privacy.protected_removed"))
        assert str(index.relative_to(settings.data_root)) in entry.detail["files"]


def test_a_copy_made_again_by_a_late_reader_waits_for_the_next_round(
        client, city, settings, table):
    import os

    _served(client, table)
    [old] = _copies(settings)
    _policy(client, city, k=3)
    now = utcnow() + LATER
    # the old copy was just written again (a reader of a snapshot from before the change)
    stamp = (now - timedelta(minutes=1)).timestamp()
    os.utime(old, (stamp, stamp))
    [stale] = cleanup.prune(city.db, settings.data_root, now=now)
    assert stale.removed == [] and stale.waiting == [old] and old.exists()
    assert cleanup.prune(city.db, settings.data_root, now=now + LATER)[0].removed == [old]


def test_only_the_operator_prunes(city, settings, table):
    with pytest.raises(Forbidden):
        cleanup.prune(city.db, settings.data_root, actor=city.actors["editor"])
