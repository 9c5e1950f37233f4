"""Figures for the exchange (issue 6): the grant check's cost per datastore request, webhook
fan-out to 1,000 subscribers for one new version (time and delivery success against a local
receiver), and changes-feed requests per second.

    .venv/bin/python benchmarks/exchange.py [--subscribers 1000] [--requests 2000]

Runs on a fresh SQLite file in a temporary folder (or ZHIHUI_BENCH_DATABASE_URL)."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import insert, text

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import DistributionIn, ResourceIn
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import User
from zhihui.core.authz import SYSTEM
from zhihui.datastore import access, versions
from zhihui.db import Database, new_id, upgrade, utcnow
from zhihui.exchange import grants, handlers, subscriptions
from zhihui.exchange.models import Subscription


def fresh(home: Path) -> Database:
    url = os.environ.get("ZHIHUI_BENCH_DATABASE_URL") or f"sqlite:///{home / 'bench.db'}"
    if url.startswith("postgresql"):
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.engine.dispose()
    upgrade(url)
    return Database(url)


def resource(s, org: str, title: str, sharing: str):  # type: ignore[no-untyped-def]
    return catalog.create_resource(s, SYSTEM, ResourceIn(
        title=title, owner_org=org, abstract="基准测试数据", classification="topic", theme="11",
        format="spreadsheet", data_items=[{"name": "区县", "type": "C", "length": 20}],
        sharing_type=sharing, sharing_conditions="仅用于基准测试" if sharing == "conditional"
        else "", sharing_method="api", opening_type="none",
        opening_legal_basis="基准测试", update_cycle="daily", published="2024-05-01",
        contact_name="数据科", contact_phone="0571-85252000", spatial="杭州市"))


class Receiver:
    def __init__(self) -> None:
        self.count = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    outer.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    handlers.register()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        db = fresh(home)
        data_root = home / "data"
        with db.session() as s:
            hz = accounts.create_org(s, SYSTEM, name="hangzhou", title="杭州市", kind="city",
                                     catalog_code="001")
            jtj = accounts.create_org(s, SYSTEM, name="jtj", title="交通局", kind="department",
                                      catalog_code="002", parent=hz.id)
            hbj = accounts.create_org(s, SYSTEM, name="hbj", title="生态环境局",
                                      kind="department", catalog_code="003", parent=hz.id)
            user = accounts.create_user(s, SYSTEM, name="reader", password="bench-password")
            accounts.set_membership(s, SYSTEM, user=user, org=hbj, capacity="member")
            reader = accounts.actor_for(s, user)
            shared = resource(s, jtj.id, "有条件共享数据", "conditional")
            free = resource(s, jtj.id, "无条件共享数据", "unconditional")
            dists = {}
            for r in (shared, free):
                d = catalog.add_distribution(s, SYSTEM, r.id, DistributionIn(name="数据"))
                csv = "区县,数量\n" + "".join(f"{'西湖区' if i % 2 else '上城区'},{i}\n"
                                            for i in range(1000))
                versions.ingest(s, SYSTEM, d.id, io.BytesIO(csv.encode()), "a.csv",
                                data_root=data_root)
                dists[r.id] = d.id
            s.flush()
            grants.create(s, SYSTEM, shared, kind="sharing", grantee_org_id=hbj.id,
                          columns=["区县"], row_filter={"区县": ["西湖区"]},
                          valid_until=utcnow() + timedelta(days=30))

        # 1. the grant check per request: access.view with and without the exchange narrower
        print("## grant check cost per datastore request (access.view)")
        for label, r in (("conditional (sharing grant)", shared),
                         ("unconditional (automatic grant)", free)):
            with db.session() as s:
                for _ in range(50):  # warm: the automatic grant is made on the first read
                    access.view(s, reader, dists[r.id], data_root=data_root)
                narrowers = list(access._narrowers)
                with_check, without = [], []
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    access.view(s, reader, dists[r.id], data_root=data_root)
                    with_check.append(time.perf_counter() - t0)
                access._narrowers[:] = [n for n in narrowers if n is not handlers.through_grant]
                try:
                    for _ in range(args.requests):
                        t0 = time.perf_counter()
                        access.view(s, reader, dists[r.id], data_root=data_root)
                        without.append(time.perf_counter() - t0)
                finally:
                    access._narrowers[:] = narrowers
                only = []
                view = access.view(s, reader, dists[r.id], data_root=data_root)
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    grants.narrow(s, reader, view)
                    only.append(time.perf_counter() - t0)
            p50 = statistics.median
            print(f"{label}: view p50 {p50(with_check) * 1e3:.3f} ms with the check, "
                  f"{p50(without) * 1e3:.3f} ms without; the check alone p50 "
                  f"{p50(only) * 1e3:.3f} ms, p95 "
                  f"{sorted(only)[int(len(only) * 0.95)] * 1e3:.3f} ms")

        # 2. webhook fan-out
        print(f"\n## webhook fan-out to {args.subscribers} subscribers")
        receiver = Receiver()
        with db.session() as s:
            s.execute(insert(Subscription.__table__), [
                {"id": new_id(), "user_id": user.id, "resource_id": free.id,
                 "url": receiver.url, "secret": f"secret-{i:06d}-bench", "active": True,
                 "created": utcnow()} for i in range(args.subscribers)])
        t0 = time.perf_counter()
        with db.session() as s:
            versions.ingest(s, SYSTEM, dists[free.id], io.BytesIO(b"\xe5\x8c\xba\xe5\x8e\xbf\n1\n"),
                            "b.csv", data_root=data_root)
        queued = time.perf_counter() - t0
        t1 = time.perf_counter()
        totals = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
        while True:
            got = subscriptions.deliver_due(db, limit=500)
            for k, v in got.items():
                totals[k] += v
            if not any(got.values()):
                break
        posted = time.perf_counter() - t1
        print(f"ingest + queue {args.subscribers} deliveries in the same transaction: "
              f"{queued * 1e3:.0f} ms; delivered {totals['delivered']}/{args.subscribers} "
              f"(received {receiver.count}) in {posted:.2f} s "
              f"({totals['delivered'] / posted:,.0f}/s), retrying {totals['retrying']}, "
              f"failed {totals['failed']}")
        receiver.server.shutdown()

        # 3. the changes feed
        print("\n## changes feed")
        with db.session() as s:
            for r in (shared, free):
                for _ in range(100):
                    versions.ingest(s, SYSTEM, dists[r.id],
                                    io.BytesIO("区县,数量\n西湖区,1\n".encode()), "c.csv",
                                    data_root=data_root)
        n = max(200, args.requests // 4)
        with db.session() as s:
            _token, key = accounts.create_token(s, SYSTEM, user=s.get(User, user.id),
                                                name="feed")
        # a session per request, as the API opens one
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            with db.session() as s:
                out = subscriptions.changes(s, reader, None, limit=100)
            times.append(time.perf_counter() - t0)
        took = statistics.median(times)
        print(f"service: changes (100 per page, {len(out['changes'])} returned) p50 "
              f"{took * 1e3:.2f} ms = {1 / took:,.0f} requests/s in one thread")
        # the whole request in process: token, route, service, JSON (no sockets)
        rates, cpu = asyncio.run(_feed_over_asgi(home, db, key, n))
        print(f"GET /api/v1/exchange/changes through the app (token auth, JSON): "
              f"{statistics.median(rates):,.0f} requests/s, {statistics.median(cpu):.2f} ms "
              f"CPU each (median of {len(rates)} rounds of {n})")


async def _feed_over_asgi(home: Path, db: Database, key: str, n: int
                          ) -> tuple[list[float], list[float]]:
    import httpx

    from zhihui.app import create_app
    from zhihui.settings import Settings

    settings = Settings(home=home, database_url=db.engine.url.render_as_string(False),
                        secret_key="bench-secret")
    app = create_app(settings, db)
    rates, cpu = [], []
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bench") as client:
        assert (await client.get("/api/v1/exchange/changes", headers=headers)).status_code == 200
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                await client.get("/api/v1/exchange/changes", headers=headers)
            rates.append(n / (time.perf_counter() - t0))
            cpu.append((time.process_time() - c0) / n * 1e3)
    return rates, cpu

if __name__ == "__main__":
    main()
