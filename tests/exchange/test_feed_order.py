"""The changes feed never skips a change. On PostgreSQL a change's number is taken when it is
written but it becomes visible when its transaction commits, so two ingests can commit in the
opposite order of their numbers; a poller reading between the two commits must not move its
cursor past the change that is not visible yet. The feed's order is the commit order
(``exchange_change.position``, migration 0014). Shown with two real concurrent transactions."""

from __future__ import annotations

import base64
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.conftest import PG_URL
from tests.exchange.conftest import Data
from tests.factories import City
from zhihui.core.authz import SYSTEM
from zhihui.datastore import versions
from zhihui.exchange import subscriptions as subs
from zhihui.exchange.models import Change

X = "/api/v1/exchange"


def _poll(client: TestClient, city: City, cursor: str | None) -> dict:
    params = {"since": cursor} if cursor else {}
    r = client.get(f"{X}/changes", params=params, headers=city.headers("sysadmin"))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.skipif(not PG_URL, reason="SQLite runs one writing transaction at a time, so its "
                                       "changes commit in the order they are numbered")
def test_a_change_committed_after_a_later_numbered_one_is_not_skipped(
        client: TestClient, city: City, data: Data) -> None:
    data_root = client.app.state.settings.data_root
    start = _poll(client, city, None)["cursor"]
    with city.db.session() as s:
        before = s.scalar(select(Change.seq).order_by(Change.seq.desc()).limit(1)) or 0
    first, second = city.db.sessionmaker(), city.db.sessionmaker()
    try:
        for s in (first, second):  # a lock between the two would fail the test, not hang it
            s.execute(text("SET lock_timeout = '20s'"))
        # two ingests at once: the first is numbered first and commits last
        a = versions.ingest(first, SYSTEM, data.open, io.BytesIO(b"a\n1\n"), "a.csv",
                            data_root=data_root)
        seq_a = first.scalar(select(Change.seq).where(Change.version_id == a.id))
        b = versions.ingest(second, SYSTEM, data.air, io.BytesIO(b"b\n2\n"), "b.csv",
                            data_root=data_root)
        second.commit()
        with city.db.session() as s:
            seq_b = s.scalar(select(Change.seq).where(Change.version_id == b.id))
            visible = list(s.scalars(select(Change.seq).where(Change.seq > before)))
        # the gap: B, numbered after A, is visible while A is not; "after seq_b" would skip A
        assert seq_a is not None and seq_b is not None and seq_a < seq_b
        assert visible == [seq_b]

        # a poll now hands out B; its cursor must not pass over A, still to commit
        between = _poll(client, city, start)
        assert [c["version"]["id"] for c in between["changes"]] == [b.id]
        first.commit()
    finally:
        first.close()
        second.close()
    after = _poll(client, city, between["cursor"])
    assert [c["version"]["id"] for c in after["changes"]] == [a.id]
    assert after["changes"][0]["change"] == seq_a
    assert _poll(client, city, after["cursor"])["changes"] == []


@pytest.mark.skipif(not PG_URL, reason="concurrent writers are PostgreSQL's")
def test_a_transaction_running_elsewhere_does_not_hold_the_feed_back(
        client: TestClient, city: City, data: Data) -> None:
    data_root = client.app.state.settings.data_root
    start = _poll(client, city, None)["cursor"]
    other = city.db.sessionmaker()
    try:
        # an unrelated transaction that has written something and is still running
        other.execute(text("SET lock_timeout = '20s'"))
        other.execute(text("SELECT pg_current_xact_id()"))
        with city.db.session() as s:
            v = versions.ingest(s, SYSTEM, data.open, io.BytesIO(b"c\n3\n"), "c.csv",
                                data_root=data_root)
        assert [c["version"]["id"] for c in _poll(client, city, start)["changes"]] == [v.id]
    finally:
        other.rollback()
        other.close()


def test_the_feed_follows_commit_order_and_old_cursors_still_work(
        client: TestClient, city: City, data: Data) -> None:
    everything = _poll(client, city, None)
    assert len(everything["changes"]) == 3  # the fixture's three uploads
    with city.db.session() as s:
        rows = s.execute(select(Change.seq, Change.position).order_by(Change.position)).all()
    # every committed change has its position; a cursor handed out before migration 0014
    # (c1.<seq>) still means "after that change", as their position is their seq
    assert all(p is not None for _seq, p in rows)
    assert [c["change"] for c in everything["changes"]] == [seq for seq, _p in rows]
    first = rows[0][1]
    cursor = base64.urlsafe_b64encode(f"c1.{first}".encode()).decode().rstrip("=")
    rest = _poll(client, city, cursor)["changes"]
    assert [c["change"] for c in rest] == [seq for seq, _p in rows[1:]]
    for bad in ("c1.x", "c2.1", "c1.-1", "c1"):
        raw = base64.urlsafe_b64encode(bad.encode()).decode()
        r = client.get(f"{X}/changes", params={"since": raw},
                       headers=city.headers("sysadmin"))
        assert r.status_code == 400, bad
    assert subs.decode_cursor(subs.encode_cursor(1234)) == 1234
