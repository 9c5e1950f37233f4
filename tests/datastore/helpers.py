"""Files departments send, made in the test: GBK CSV with a title row, XLSX, NDJSON …

The bus lines' telephones are switchboards (fixed lines), not mobiles: a table of
personal mobiles would be withheld from the public until a de-identification policy covers
it (privacy, docs/privacy.md)."""

from __future__ import annotations

import io
import json
from typing import Any

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import DistributionIn
from zhihui.core.authz import SYSTEM
from zhihui.db import Database

BUS_LINES = [
    ["线路编号", "线路名称", "开通日期", "票价", "空调", "站点数", "联系电话", "备注"],
    ["001", "1路", "2024/5/1", "2", "是", "20", "0571-87000001", "途经武林广场"],
    ["002", "2路", "2024年5月2日", "2.5", "否", "18", "0571-87000002", "夜间交通线路"],
    ["003", "K3路", "20240503", "", "是", "", "0571-87000003", "=HYPERLINK(\"http://x\")"],
    ["004", "4路", "2024-05-04", "3", "否", "25", "0571-87000004", "+1 公交换乘"],
    ["005", "5路", "2024-05-05", "1.5", "是", "12", "0571-87000005", "@西湖 交通枢纽"],
]


def csv_text(rows: list[list[str]], title: str | None = "杭州市公交线路表（2024年）") -> str:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if title:
        writer.writerow([title] + [""] * (len(rows[0]) - 1))
    writer.writerows(rows)
    return buf.getvalue()


def xlsx_bytes(sheets: dict[str, list[list[Any]]], title_rows: int = 1) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for i in range(title_rows):
            ws.append([f"{name}（标题第{i + 1}行）"])
        for row in rows:
            ws.append(row)
        if title_rows:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ndjson_bytes(records: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode() + b"\n"


def new_distribution(db: Database, resource_id: str, name: str = "数据文件") -> str:
    with db.session() as s:
        d = catalog.add_distribution(s, SYSTEM, resource_id, DistributionIn(name=name))
        return d.id
