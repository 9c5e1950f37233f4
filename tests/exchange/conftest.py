"""Exchange fixtures: the grant narrower registered (another test may have replaced the list),
bus-line data in the city's conditionally shared, unconditionally shared and conditionally
opened resources."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.datastore.helpers import BUS_LINES, csv_text, new_distribution
from tests.datastore.test_api import upload
from tests.factories import City
from zhihui.exchange import handlers, subscriptions


@pytest.fixture(autouse=True)
def _exchange_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    handlers.register()
    # the background delivery worker stays idle: tests deliver explicitly, with their clock
    monkeypatch.setattr(subscriptions, "WORKER_INTERVAL", 3600.0)
    yield


# the bus lines without their phone column: no personal information, so privacy's
# de-identification (another narrower) leaves these reads alone
LINES = [row[:6] + row[7:] for row in BUS_LINES]


@dataclass
class Data:
    closed: str  # jtj's bus lines: sharing conditional, opening none
    open: str  # jtj: sharing and opening unconditional
    air: str  # hbj: opening conditional


@pytest.fixture
def data(client: TestClient, city: City) -> Data:
    out = {}
    for label, role in (("closed", "editor"), ("open", "editor"), ("air", "other_editor")):
        dist = new_distribution(city.db, city.resources[label])
        r = upload(client, city, dist, csv_text(LINES).encode("gbk"), "线路.csv", role=role)
        assert r.status_code == 201, r.text
        out[label] = dist
    return Data(**out)
