"""Subscriptions: each new version is queued for every webhook subscriber in the ingest's
transaction, posted signed (HMAC-SHA256, t=…,v1=…) to a real local HTTP server, retried with
back-off when the receiver fails, logged per attempt; forged and replayed signatures are
refused; the changes feed lists what the caller may read after an opaque cursor."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from tests.datastore.test_api import upload
from tests.exchange.conftest import Data
from tests.factories import City
from zhihui.core.errors import BadRequest, Forbidden
from zhihui.db import utcnow
from zhihui.exchange import subscriptions as subs

X = "/api/v1/exchange"


class Receiver:
    """A webhook receiver on a free port: records what arrives, answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _subscribe(client: TestClient, city: City, role: str, resource: str, url: str = "",
               secret: str = "s3cret-s3cret-s3cret"):  # type: ignore[no-untyped-def]
    return client.post(f"{X}/subscriptions", headers=city.headers(role),
                       json={"resource_id": city.resources[resource], "url": url,
                             "secret": secret})


def test_a_new_version_is_posted_signed_to_every_subscriber(
        client: TestClient, city: City, data: Data, receiver: Receiver) -> None:
    made = _subscribe(client, city, "other_member", "open", receiver.url)
    assert made.status_code == 201, made.text
    assert made.json()["secret"] == "s3cret-s3cret-s3cret"
    assert upload(client, city, data.open, b"a,b\n1,2\n3,4\n").status_code == 201
    done = subs.deliver_due(city.db)
    assert done["delivered"] == 1
    [(headers, body)] = receiver.received
    assert subs.verify("s3cret-s3cret-s3cret", body, headers[subs.SIGNATURE_HEADER])
    message = json.loads(body)
    assert message["version"]["number"] == 2 and message["version"]["rows"] == 2
    assert message["resource"]["id"] == city.resources["open"]
    log = client.get(f"{X}/subscriptions/{made.json()['id']}/deliveries",
                     headers=city.headers("other_member")).json()
    assert log[0]["status"] == "delivered" and log[0]["log"][0]["status_code"] == 200
    # someone else's delivery log is not theirs to see
    assert client.get(f"{X}/subscriptions/{made.json()['id']}/deliveries",
                      headers=city.headers("public")).status_code == 404


def test_a_failing_receiver_is_retried_with_back_off_and_every_attempt_logged(
        client: TestClient, city: City, data: Data) -> None:
    failing = Receiver(status=503)
    try:
        made = _subscribe(client, city, "other_member", "open", failing.url).json()
        assert upload(client, city, data.open, b"a\n1\n").status_code == 201
        now = utcnow()
        assert subs.deliver_due(city.db, now=now, base_delay=10)["retrying"] == 1
        # not due again before the back-off has passed
        assert subs.deliver_due(city.db, now=now + timedelta(seconds=5))["retrying"] == 0
        assert subs.deliver_due(city.db, now=now + timedelta(seconds=11),
                                base_delay=10)["retrying"] == 1
        failing.status = 204
        assert subs.deliver_due(city.db, now=now + timedelta(seconds=32),
                                base_delay=10)["delivered"] == 1
    finally:
        failing.close()
    [d] = client.get(f"{X}/subscriptions/{made['id']}/deliveries",
                     headers=city.headers("other_member")).json()
    assert d["status"] == "delivered" and d["attempts"] == 3
    assert [a["status_code"] for a in d["log"]] == [503, 503, 204]
    assert len(failing.received) == 3


def test_delivery_gives_up_after_the_last_attempt(client: TestClient, city: City,
                                                  data: Data) -> None:
    made = _subscribe(client, city, "other_member", "open", "http://127.0.0.1:9/nothing")
    assert upload(client, city, data.open, b"a\n1\n").status_code == 201
    now = utcnow()
    assert subs.deliver_due(city.db, now=now, max_attempts=2)["retrying"] == 1
    assert subs.deliver_due(city.db, now=now + timedelta(hours=1),
                            max_attempts=2)["failed"] == 1
    [d] = client.get(f"{X}/subscriptions/{made.json()['id']}/deliveries",
                     headers=city.headers("other_member")).json()
    assert d["status"] == "failed" and d["log"][0]["status_code"] is None
    assert "ConnectError" in d["log"][0]["error"]


def test_forged_and_replayed_signatures_are_refused() -> None:
    body = b'{"event":"datastore.version_published"}'
    now = time.time()
    header = subs.sign("secret-key-123456", body, int(now))
    assert subs.verify("secret-key-123456", body, header, now=now) == int(now)
    with pytest.raises(Forbidden) as forged:
        subs.verify("secret-key-123456", body + b" ", header, now=now)
    assert forged.value.message.key == "exchange.signature_forged"
    with pytest.raises(Forbidden):
        subs.verify("another-secret-000", body, header, now=now)
    with pytest.raises(Forbidden) as replayed:
        subs.verify("secret-key-123456", body, header, now=now + 301)
    assert replayed.value.message.key == "exchange.signature_replayed"
    with pytest.raises(BadRequest):
        subs.verify("secret-key-123456", body, "v1=abc", now=now)


def test_the_verification_endpoint_refuses_forgeries_with_an_audit_entry(
        client: TestClient, city: City, data: Data) -> None:
    sub = _subscribe(client, city, "other_member", "open").json()
    body = b'{"change": 1}'
    good = subs.sign("s3cret-s3cret-s3cret", body, int(time.time()))
    url = f"{X}/subscriptions/{sub['id']}/verify"
    headers = city.headers("other_member")
    ok = client.post(url, content=body, headers={**headers, subs.SIGNATURE_HEADER: good})
    assert ok.status_code == 200 and ok.json()["valid"] is True
    bad = client.post(url, content=body + b"x", headers={**headers,
                                                          subs.SIGNATURE_HEADER: good})
    assert bad.status_code == 403
    old = subs.sign("s3cret-s3cret-s3cret", body, int(time.time()) - 3600)
    replay = client.post(url, content=body, headers={**headers, subs.SIGNATURE_HEADER: old})
    assert replay.status_code == 403 and "重放" in replay.json()["error"]["message"]
    from sqlalchemy import select

    from zhihui.core.audit.models import AuditEntry

    with city.db.session() as s:
        refused = [e.detail["refused"] for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "subscription.verify").order_by(AuditEntry.id))]
    assert refused == ["exchange.signature_forged", "exchange.signature_replayed"]


def test_only_entitled_users_subscribe(client: TestClient, city: City, data: Data) -> None:
    refused = _subscribe(client, city, "other_member", "closed")
    assert refused.status_code == 403
    assert _subscribe(client, city, "anonymous", "open").status_code == 401
    bad = _subscribe(client, city, "other_member", "open", url="ftp://example.org/x")
    assert bad.status_code == 409 and "url" in bad.json()["error"]["fields"]


def test_the_changes_feed_lists_only_readable_versions_after_the_cursor(
        client: TestClient, city: City, data: Data) -> None:
    headers = city.headers("other_member")
    first = client.get(f"{X}/changes", headers=headers).json()
    resources = {c["resource"]["id"] for c in first["changes"]}
    # the open one is readable; jtj's conditionally shared one is not (no grant)
    assert city.resources["open"] in resources and city.resources["closed"] not in resources
    again = client.get(f"{X}/changes", params={"since": first["cursor"]}, headers=headers)
    assert again.json()["changes"] == [] and again.json()["cursor"] == first["cursor"]
    assert upload(client, city, data.open, b"a\n1\n").status_code == 201
    new = client.get(f"{X}/changes", params={"since": first["cursor"]}, headers=headers).json()
    assert [c["version"]["number"] for c in new["changes"]] == [2]
    assert client.get(f"{X}/changes", params={"since": "not-a-cursor"},
                      headers=headers).status_code == 400
    # the owner sees its conditionally shared versions too
    owner = client.get(f"{X}/changes", headers=city.headers("member")).json()
    assert city.resources["closed"] in {c["resource"]["id"] for c in owner["changes"]}
