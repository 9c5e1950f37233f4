"""Subscriptions (订阅, Art. 46): every new version of a resource's data is announced to its
subscribers by a signed webhook and in the changes feed.

- ``on_version_published`` (an event listener) appends the version to the feed and queues one
  delivery per webhook subscriber, in the ingest's transaction: no version without its notices.
- ``deliver_due`` (the delivery worker, run beside the app) posts due deliveries, signed with
  HMAC-SHA256 over ``"<timestamp>.<body>"`` in the header ``Zhihui-Signature: t=…,v1=…`` (the
  scheme of Stripe and GitHub), retries failures with exponential back-off, records each
  attempt; a subscriber no longer entitled to the data gets no further notices.
- ``verify`` is the receiver's check: it refuses forged signatures and replays (a timestamp
  older than the tolerance).
- ``changes`` is the feed: versions the caller may read, in order, after an opaque cursor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session, lazyload

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Resource
from zhihui.core import audit
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import User
from zhihui.core.authz import Actor, can, require
from zhihui.core.errors import BadRequest, FieldErrors, Forbidden, NotFound
from zhihui.db import Database, new_id, utcnow
from zhihui.exchange import grants
from zhihui.exchange.models import Change, Delivery, DeliveryAttempt, Subscription
from zhihui.exchange.service import refuse

SIGNATURE_HEADER = "Zhihui-Signature"
TOLERANCE = 300  # seconds a signature stays acceptable: older ones are replays
BASE_DELAY = 10.0  # seconds before the first retry; doubles each time
MAX_DELAY = 6 * 3600.0
MAX_ATTEMPTS = 8  # then the delivery is marked failed (~21 minutes of retries at the default)
LEASE = 120  # seconds a worker holds the deliveries it took
TIMEOUT = 10.0
BATCH = 500
WORKERS = 16
WORKER_INTERVAL = 5.0  # seconds between rounds of the delivery worker
FEED_MAX = 1000
FEED_SCAN = 20_000  # changes read at most per feed request (the rest: next cursor)


# --- signatures --------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: float | None = None,
           tolerance: int = TOLERANCE) -> int:
    """Check a webhook's signature header; the timestamp if genuine and fresh.

    Raises ``BadRequest`` for a malformed header, ``Forbidden`` for a signature that does not
    match (forged, or a body changed on the way) and for a timestamp older (or further in the
    future) than ``tolerance`` seconds (a replay)."""
    fields: dict[str, list[str]] = {}
    for part in (header or "").split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            fields.setdefault(k, []).append(v)
    try:
        timestamp = int(fields["t"][0])
        candidates = fields["v1"]
    except (KeyError, ValueError, IndexError):
        raise BadRequest("exchange.signature_malformed") from None
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise Forbidden("exchange.signature_forged")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise Forbidden("exchange.signature_replayed", age=int(now - timestamp),
                        tolerance=tolerance)
    return timestamp


# --- subscribing -------------------------------------------------------------------------------


def _check_url(errors: FieldErrors, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        errors.add("url", "exchange.webhook_url")


def subscribe(session: Session, actor: Actor, resource_id: str, *, url: str = "",
              secret: str = "") -> tuple[Subscription, str]:
    """Subscribe ``actor`` to ``resource_id``: webhook (``url``) or the feed only. The secret
    (given, or made here) is returned once."""
    require(actor, "subscription.create")
    r = catalog.get_resource(session, actor, resource_id)
    d = grants.decide(session, actor, r)
    if d.error is not None:
        refuse(session, actor, d.error, "subscription.create", "resource", r.id,
               org_id=r.owner_org_id)
    errors = FieldErrors()
    url = (url or "").strip()
    if url:
        _check_url(errors, url)
    if secret and not 16 <= len(secret) <= 100:
        errors.add("secret", "exchange.secret_length", min=16, max=100)
    errors.raise_if_any()
    secret = secret or "whsec_" + secrets.token_urlsafe(24)
    sub = Subscription(id=new_id(), user_id=actor.user_id, resource_id=r.id, url=url,
                       secret=secret, active=True, created=utcnow())
    session.add(sub)
    session.flush()
    audit.record(session, actor, "subscription.create", "subscription", sub.id,
                 org_id=r.owner_org_id, detail={"resource": r.id, "webhook": bool(url)})
    return sub, secret


def get(session: Session, actor: Actor, subscription_id: str) -> Subscription:
    sub = session.get(Subscription, subscription_id) \
        if subscription_id and "\x00" not in subscription_id else None
    if sub is None or not _may_see(actor, sub):
        raise NotFound("exchange.subscription_not_found", id=str(subscription_id)[:100])
    return sub


def _may_see(actor: Actor, sub: Subscription) -> bool:
    return actor.sysadmin or (actor.user_id is not None and actor.user_id == sub.user_id)


def unsubscribe(session: Session, actor: Actor, subscription_id: str) -> Subscription:
    sub = get(session, actor, subscription_id)
    if sub.active:
        sub.active = False
        session.execute(update(Delivery).where(Delivery.subscription_id == sub.id,
                                               Delivery.status == "pending")
                        .values(status="skipped"))
        audit.record(session, actor, "subscription.delete", "subscription", sub.id)
    return sub


def mine(session: Session, actor: Actor) -> list[Subscription]:
    if actor.is_anonymous:
        return []
    return list(session.scalars(select(Subscription).where(
        Subscription.user_id == actor.user_id).order_by(Subscription.created.desc())))


def subscription_dict(sub: Subscription) -> dict[str, Any]:
    return {"id": sub.id, "resource_id": sub.resource_id, "url": sub.url,
            "active": sub.active, "created": sub.created.isoformat()}


def deliveries(session: Session, actor: Actor, subscription_id: str, limit: int = 100
               ) -> list[dict[str, Any]]:
    """The delivery log the subscriber sees: each message and each attempt."""
    sub = get(session, actor, subscription_id)
    rows = list(session.scalars(select(Delivery).where(Delivery.subscription_id == sub.id)
                                .order_by(Delivery.created.desc()).limit(min(limit, 1000))))
    attempts: dict[str, list[DeliveryAttempt]] = {}
    if rows:
        for a in session.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id.in_([d.id for d in rows]))
                .order_by(DeliveryAttempt.id)):
            attempts.setdefault(a.delivery_id, []).append(a)
    return [{
        "id": d.id, "change": d.change_seq, "status": d.status, "attempts": d.attempts,
        "version": d.payload.get("version", {}).get("number"),
        "created": d.created.isoformat(),
        "next_attempt": d.next_attempt.isoformat() if d.status == "pending" else None,
        "delivered": d.delivered.isoformat() if d.delivered else None,
        "last_code": d.last_code,
        "log": [{"at": a.at.isoformat(), "status_code": a.status_code, "error": a.error,
                 "ms": a.ms} for a in attempts.get(d.id, [])],
    } for d in rows]


# --- announcing a version ----------------------------------------------------------------------


def payload(change: Any, r: Resource) -> dict[str, Any]:
    """``change``: a ``Change`` or a row of its columns (the feed reads rows)."""
    return {
        "event": "datastore.version_published",
        "change": change.seq,
        "resource": {"id": r.id, "name": r.name, "title": r.title},
        "version": {"id": change.version_id, "distribution_id": change.distribution_id,
                    "number": change.number, "rows": change.rows, "sha256": change.sha256,
                    "created": change.created.isoformat()},
        "links": {"data": f"/datastore/dump/{change.distribution_id}?version={change.number}",
                  "search": f"/api/v1/datastore/{change.distribution_id}/search"
                            f"?version={change.number}"},
    }


def on_version_published(session: Session, version: Any, resource: Resource) -> Change:
    """The feed entry and one queued delivery per webhook subscriber, in one statement."""
    change = Change(resource_id=resource.id, distribution_id=version.distribution_id,
                    version_id=version.id, number=version.number, rows=version.rows,
                    sha256=version.sha256, created=utcnow())
    session.add(change)
    session.flush()
    body = payload(change, resource)
    subs = session.scalars(select(Subscription.id).where(
        Subscription.resource_id == resource.id, Subscription.active.is_(True),
        Subscription.url != "")).all()
    now = utcnow()
    if subs:
        session.execute(insert(Delivery.__table__), [
            {"id": new_id(), "subscription_id": s, "change_seq": change.seq, "payload": body,
             "status": "pending", "attempts": 0, "next_attempt": now, "created": now}
            for s in subs])
    return change


# --- delivering --------------------------------------------------------------------------------


@dataclass
class Outcome:
    delivery_id: str
    status_code: int | None
    error: str
    ms: int
    skipped: bool = False


def _claim(db: Database, now: datetime, limit: int) -> list[tuple[Delivery, Subscription]]:
    """Take due deliveries for ``LEASE`` seconds, so parallel workers never post twice."""
    with db.session() as s:
        q = (select(Delivery.id).where(
            Delivery.status == "pending", Delivery.next_attempt <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
            .order_by(Delivery.next_attempt).limit(limit))
        if not db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        ids = list(s.scalars(q))
        if not ids:
            return []
        s.execute(update(Delivery).where(Delivery.id.in_(ids))
                  .values(lease_until=now + timedelta(seconds=LEASE)))
        rows = s.execute(select(Delivery, Subscription).join(
            Subscription, Subscription.id == Delivery.subscription_id)
            .where(Delivery.id.in_(ids))).all()
        return [(d, sub) for d, sub in rows]


def _entitled(db: Database, pairs: list[tuple[Delivery, Subscription]]) -> set[str]:
    """Deliveries whose subscriber may still read the resource's data (grants change)."""
    ok: set[str] = set()
    with db.session() as s:
        actors: dict[str, Actor | None] = {}
        verdicts: dict[tuple[str, str], bool] = {}
        for d, sub in pairs:
            if not sub.active:
                continue
            if sub.user_id not in actors:
                user = s.get(User, sub.user_id)
                actors[sub.user_id] = accounts.actor_for(s, user) \
                    if user is not None and user.active else None
            actor = actors[sub.user_id]
            key = (sub.user_id, sub.resource_id)
            if key not in verdicts:
                r = s.scalar(select(Resource).where(Resource.id == sub.resource_id))
                verdicts[key] = actor is not None and r is not None and not r.deleted and \
                    grants.may_read(s, actor, r)
            if verdicts[key]:
                ok.add(d.id)
    return ok


def _post(client: httpx.Client, d: Delivery, sub: Subscription, now: float) -> Outcome:
    body = json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8",
               SIGNATURE_HEADER: sign(sub.secret, body, int(now)),
               "Zhihui-Delivery": d.id, "Zhihui-Event": "datastore.version_published",
               "User-Agent": "zhihui-webhooks"}
    start = time.perf_counter()
    try:
        r = client.post(sub.url, content=body, headers=headers)
        return Outcome(d.id, r.status_code, "", int((time.perf_counter() - start) * 1000))
    except httpx.HTTPError as exc:
        return Outcome(d.id, None, f"{type(exc).__name__}: {exc}"[:300],
                       int((time.perf_counter() - start) * 1000))


def backoff(attempts: int, base: float = BASE_DELAY) -> float:
    """Seconds before attempt ``attempts + 1``: base, 2 base, 4 base … capped."""
    return min(MAX_DELAY, base * 2 ** max(0, attempts - 1))


def deliver_due(db: Database, *, now: datetime | None = None, limit: int = BATCH,
                client: httpx.Client | None = None, workers: int = WORKERS,
                base_delay: float = BASE_DELAY, max_attempts: int = MAX_ATTEMPTS
                ) -> dict[str, int]:
    """One round of the delivery worker: post what is due, record every attempt."""
    now = now or utcnow()
    pairs = _claim(db, now, limit)
    if not pairs:
        return {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    entitled = _entitled(db, pairs)
    own_client = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    outcomes: list[Outcome] = [Outcome(d.id, None, "not entitled", 0, skipped=True)
                               for d, _ in pairs if d.id not in entitled]
    todo = [(d, sub) for d, sub in pairs if d.id in entitled]
    try:
        stamp = now.timestamp()
        if len(todo) > 1 and workers > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
                outcomes += list(pool.map(lambda p: _post(http, p[0], p[1], stamp), todo))
        else:
            outcomes += [_post(http, d, sub, stamp) for d, sub in todo]
    finally:
        if own_client:
            http.close()
    return _record(db, pairs, outcomes, now, base_delay, max_attempts)


def _record(db: Database, pairs: list[tuple[Delivery, Subscription]], outcomes: list[Outcome],
            now: datetime, base_delay: float, max_attempts: int) -> dict[str, int]:
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    by_id = {d.id: d for d, _ in pairs}
    attempts_rows = []
    with db.session() as s:
        for o in outcomes:
            d = by_id[o.delivery_id]
            if o.skipped:
                s.execute(update(Delivery).where(Delivery.id == d.id).values(
                    status="skipped", lease_until=None))
                counts["skipped"] += 1
                continue
            n = d.attempts + 1
            ok = o.status_code is not None and 200 <= o.status_code < 300
            values: dict[str, Any] = {"attempts": n, "last_code": o.status_code,
                                      "lease_until": None}
            if ok:
                values.update(status="delivered", delivered=now)
                counts["delivered"] += 1
            elif n >= max_attempts:
                values.update(status="failed")
                counts["failed"] += 1
            else:
                values.update(next_attempt=now + timedelta(seconds=backoff(n, base_delay)))
                counts["retrying"] += 1
            s.execute(update(Delivery).where(Delivery.id == d.id).values(**values))
            attempts_rows.append({"delivery_id": d.id, "at": now, "status_code": o.status_code,
                                  "error": o.error, "ms": o.ms})
        if attempts_rows:
            s.execute(insert(DeliveryAttempt.__table__), attempts_rows)
    return counts


# --- the changes feed --------------------------------------------------------------------------


# Why the feed is ordered by ``position`` and not by ``seq``: on PostgreSQL ``seq`` is drawn
# when the change is written, but the change becomes visible when its transaction commits.
# Two ingests A (seq 10) and B (seq 11) that commit B first let a poller reading between the
# two commits see 11 and not 10; a cursor "after 11" would skip 10 for ever. ``position``
# is drawn as the transaction commits, one committing writer at a time, and a writer's lock
# is released only once its commit is visible (migration 0014): whoever sees position n has
# already been able to see every position below n. Nothing waits on unrelated transactions.


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"c1.{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position of the last change handed out (cursors handed out before migration 0014
    named the seq, which is those changes' position)."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, position = raw.partition(".")
        if prefix != "c1" or not position.isdigit():
            raise ValueError
        return int(position)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("exchange.cursor_invalid") from None


def _readable_resources(session: Session, actor: Actor, ids: set[str]) -> dict[str, Resource]:
    """The resources among ``ids`` that ``actor`` may see in the catalogue and read the data
    of: one query for the resources (no relationships), one for the actor's grants."""
    found = list(session.scalars(select(Resource).where(Resource.id.in_(list(ids)))
                                 .options(lazyload("*"))))
    seen = [r for r in found if not r.deleted and can(actor, "resource.read", r)]
    ok = grants.readable(session, actor, seen)
    return {r.id: r for r in seen if r.id in ok}


FEED_COLUMNS = (Change.position, Change.seq, Change.resource_id, Change.distribution_id,
                Change.version_id, Change.number, Change.rows, Change.sha256, Change.created)


def changes(session: Session, actor: Actor, since: str | None = None, *, limit: int = 100,
            resource_id: str | None = None) -> dict[str, Any]:
    """New versions after ``since`` that ``actor`` may read, oldest first, and the cursor to
    ask with next time (the same cursor when nothing is new).

    Read as plain rows in pages (no ORM objects), with one authorisation decision per
    resource rather than per change: the resources a page names and the actor's grants for
    them are read in one query each. Changes of resources the actor may not read are passed
    over (the cursor moves past them), at most ``FEED_SCAN`` a request."""
    start = decode_cursor(since)
    limit = max(1, min(limit, FEED_MAX))
    q = select(*FEED_COLUMNS)
    if resource_id:
        r = catalog.get_resource(session, actor, resource_id)
        q = q.where(Change.resource_id == r.id)
    out: list[dict[str, Any]] = []
    verdicts: dict[str, Resource | None] = {}
    last, scanned, page = start, 0, limit
    while scanned < FEED_SCAN:
        # position is None only inside the writer's own transaction
        rows = session.execute(q.where(Change.position > last).order_by(Change.position)
                               .limit(min(page, FEED_SCAN - scanned))).all()
        unknown = {c.resource_id for c in rows} - verdicts.keys()
        if unknown:
            found = _readable_resources(session, actor, unknown)
            verdicts.update({rid: found.get(rid) for rid in unknown})
        for c in rows:
            last = c.position
            scanned += 1
            r = verdicts[c.resource_id]
            if r is not None:
                out.append(payload(c, r))
                if len(out) >= limit:
                    return {"changes": out, "cursor": encode_cursor(last), "more": True}
        if len(rows) < page:
            break
        page = min(page * 4, 5000)  # the rest of this page was not readable: look further
    return {"changes": out, "cursor": encode_cursor(last), "more": scanned >= FEED_SCAN}
