"""A distribution of enterprise registrations that citizens and companies can see (opened)."""

from __future__ import annotations

import io

import pytest

from tests.datastore.helpers import csv_text, new_distribution
from zhihui.core.authz import SYSTEM
from zhihui.datastore import versions

COMPANIES = [
    ["统一社会信用代码", "企业名称", "行业", "注册资本", "成立日期"],
    ["91330100MA27XK1A1B", "杭州西湖科技有限公司", "软件", "500", "2019-03-01"],
    ["91330100MA27XK2B2C", "杭州钱江物流有限公司", "物流", "800", "2018-07-15"],
    ["91330100MA27XK3C3D", "杭州良渚文化传媒有限公司", "文化", "300", "2020-11-30"],
] + [[f"91330100MA28{i:06d}", f"杭州滨江电子{i}号有限公司", "电子", "100", "2021-01-01"]
     for i in range(30)]


@pytest.fixture
def companies(city, settings) -> str:
    dist = new_distribution(city.db, city.resources["open"], "企业登记信息")
    data = csv_text(COMPANIES, title=None).encode()
    with city.db.session() as s:
        versions.ingest(s, SYSTEM, dist, io.BytesIO(data), "companies.csv",
                        data_root=settings.data_root)
    return dist
