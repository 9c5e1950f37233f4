"""Each test gets a fresh database built by the real migrations: a copy of a migrated SQLite
file, or, when ZHIHUI_TEST_DATABASE_URL names a PostgreSQL database, that database migrated
once and emptied before each test."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.factories import City, build_city
from zhihui.app import create_app
from zhihui.db import Database, upgrade
from zhihui.models import metadata
from zhihui.settings import Settings

PG_URL = os.environ.get("ZHIHUI_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "zhihui.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _empty_pg(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables}, resource_search RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(_template: str, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    if PG_URL:
        _empty_pg(PG_URL)
        url = PG_URL
    else:
        shutil.copy(_template, home / "zhihui.db")
        url = f"sqlite:///{home / 'zhihui.db'}"
    return Settings(home=home, database_url=url, secret_key="test-secret")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.sqlalchemy_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def city(db: Database) -> City:
    """A small city: organisations, a user in every role, a token each, a few resources."""
    return build_city(db)


@pytest.fixture
def site(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn on a free local port, in a background thread, for real
    clients (ckanapi, a browser)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # lifespan off: no background jobs (the audit sequencer) write while a test runs
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
