"""Datastore ingest (issue 3): our whole ingest (detection, transcoding, inference, report,
Parquet, catalogue update, the listeners of ``datastore.version_published``) beside, in the
same run, DuckDB's own COPY to Parquet, pyarrow's read_csv (the parse ceiling) and
sqlite-utils ``insert --csv`` (Datasette's path), on a generated N-row, 12-column CSV of
Chinese enterprise records and its GBK copy. Each path runs in its own process, so peak RSS
is its own (os.wait4); the paths take turns in each round, and the median of the rounds is
printed, so that a noisy neighbour slows every path alike.

    .venv/bin/python benchmarks/datastore_ingest.py [--rows 1000000 | --size 2000] [--runs 3]
        [--paths duckdb,pyarrow,sqlite-utils,ours] [--encodings utf-8,gbk] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

BYTES_PER_ROW = 191  # UTF-8, measured on the generated data
DISTRICTS = ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区",
             "富阳区", "临安区", "桐庐县", "淳安县", "建德市"]
INDUSTRIES = ["软件和信息技术服务业", "批发业", "零售业", "商务服务业", "科技推广和应用服务业",
              "建筑装饰业", "餐饮业", "道路运输业", "纺织业", "医药制造业"]
WORDS = ["华能", "东方", "西子", "钱江", "之江", "数智", "云栖", "天目", "湖畔", "新安", "富春",
         "良渚", "运河", "恒通", "博远"]
KINDS = ["科技", "文化", "贸易", "建设", "网络", "医药", "物流", "餐饮", "咨询", "制造"]
HEADER = ["序号", "企业名称", "统一社会信用代码", "区县", "行业", "成立日期", "注册资本（万元）",
          "从业人数", "联系电话", "住所", "是否高新技术企业", "更新时间"]


def generate(path: Path, rows: int, seed: int = 3, mobiles: bool = True) -> None:
    """``mobiles``: the telephone column holds mobile numbers (personal information: privacy
    withholds such a table from the public until a de-identification policy covers it), else
    enterprise switchboards (fixed lines)."""
    rnd = random.Random(seed)
    start = date(1990, 1, 1)
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(HEADER) + "\n")
        for i in range(1, rows + 1):
            name = f"杭州{rnd.choice(WORDS)}{rnd.choice(WORDS)}{rnd.choice(KINDS)}有限公司"
            uscc = "91330" + "".join(rnd.choice(chars) for _ in range(13))
            day = start + timedelta(days=rnd.randrange(12000))
            capital = f"{rnd.randrange(10, 100000) / 10:.1f}"
            phone = f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}" if mobiles \
                else f"0571-8{rnd.randrange(10**7):07d}"
            district = rnd.choice(DISTRICTS)
            address = f"浙江省杭州市{district}{rnd.choice(WORDS)}路{rnd.randrange(1, 999)}号"
            updated = f"2024-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d} " \
                      f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}:00"
            f.write(f"{i},{name},{uscc},{district},{rnd.choice(INDUSTRIES)},{day.isoformat()},"
                    f"{capital},{rnd.randrange(1, 5000)},{phone},{address},"
                    f"{rnd.choice('是否')},{updated}\n")


def transcode(src: Path, dst: Path) -> None:
    with open(src, encoding="utf-8") as a, open(dst, "w", encoding="gbk") as b:
        while chunk := a.read(4 * 1024 * 1024):
            b.write(chunk)


# --- one path, in a child process --------------------------------------------------------------

def child(path_name: str, csv_path: str, work: str, encoding: str) -> None:
    t0 = time.perf_counter()
    out: dict[str, float] = {}
    if path_name == "ours":
        from sqlalchemy import select

        from zhihui.catalog.models import Distribution
        from zhihui.core import events
        from zhihui.core.authz import SYSTEM
        from zhihui.datastore import service as ds
        from zhihui.db import Database

        db = Database(f"sqlite:///{work}/zhihui.db")
        with db.session() as s:
            dist = s.scalar(select(Distribution.id))
        events.load_listeners()
        emit = events.emit
        listeners = 0.0

        def timed_emit(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal listeners
            t = time.perf_counter()
            try:
                return emit(*args, **kwargs)
            finally:
                listeners += time.perf_counter() - t

        events.emit = timed_emit  # type: ignore[assignment]
        t0 = time.perf_counter()
        with db.session() as s:
            v = ds.ingest(s, SYSTEM, dist, Path(csv_path), Path(csv_path).name,
                          data_root=Path(work) / "data")
            rows = v.rows
        out["listeners"] = listeners
        # the ingest's own peak, before the index builds (a thread started at the commit)
        import resource

        out["ingest_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # the version is queryable now; its row and text indexes build after the commit, on
        # a thread (datastore/index.py): timed apart, and waited for so the process ends
        # outside DuckDB
        seconds = time.perf_counter() - t0
        try:
            from zhihui.datastore import index
        except ImportError:  # code from before the indexes (a before/after comparison)
            index = None  # type: ignore[assignment]
        if index is not None:
            t = time.perf_counter()
            index.wait_idle()
            out["index"] = time.perf_counter() - t
        print(json.dumps({"seconds": seconds, "rows": rows, **out}))
        return
    elif path_name == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute(f"COPY (FROM read_csv('{csv_path}')) TO '{work}/duck.parquet' "
                    "(FORMAT parquet)")
        rows = con.execute(f"SELECT count(*) FROM '{work}/duck.parquet'").fetchone()[0]
    elif path_name == "pyarrow":
        import pyarrow.csv as pacsv

        opts = pacsv.ReadOptions(encoding="gb18030" if encoding == "gbk" else "utf8")
        rows = pacsv.read_csv(csv_path, read_options=opts).num_rows
    else:
        raise SystemExit(f"unknown path {path_name}")
    print(json.dumps({"seconds": time.perf_counter() - t0, "rows": rows, **out}))


def prepare_home(work: Path) -> None:
    """A database with one resource and one distribution to ingest into."""
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from tests.factories import build_city
from zhihui.db import Database, upgrade
from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import DistributionIn
from zhihui.core.authz import SYSTEM
url = 'sqlite:///{work}/zhihui.db'
upgrade(url)
db = Database(url)
city = build_city(db)
with db.session() as s:
    catalog.add_distribution(s, SYSTEM, city.resources['open'], DistributionIn(name='企业.csv'))
"""
    subprocess.run([sys.executable, "-c", code], check=True)


def _wait(proc: subprocess.Popen[str], name: str) -> tuple[str, float]:
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"{name} failed")
    return out, usage.ru_maxrss / 1024


def measure(path_name: str, csv_path: Path, work: Path, encoding: str, rows: int
            ) -> dict[str, float]:
    if path_name == "sqlite-utils":
        tool = Path(sys.executable).parent / "sqlite-utils"
        db = work / "sqlite-utils.db"
        db.unlink(missing_ok=True)
        cmd = [str(tool), "insert", str(db), "enterprises", str(csv_path), "--csv"]
        if encoding == "gbk":
            cmd += ["--encoding", "gb18030"]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        _, rss = _wait(proc, path_name)
        return {"seconds": time.perf_counter() - t, "rows": rows, "peak_rss_mb": rss}
    proc = subprocess.Popen([sys.executable, __file__, "--child", path_name, str(csv_path),
                             str(work), encoding], stdout=subprocess.PIPE, text=True)
    out, rss = _wait(proc, path_name)
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = rss
    return result


TITLES = {"ours": "zhihui ingest (whole)", "duckdb": "DuckDB COPY read_csv → parquet",
          "pyarrow": "pyarrow csv.read_csv (parse only)",
          "sqlite-utils": "sqlite-utils insert --csv"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=0, help="MB of UTF-8 CSV (sets --rows)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paths", default="duckdb,pyarrow,sqlite-utils,ours")
    parser.add_argument("--encodings", default="utf-8,gbk")
    parser.add_argument("--data", default="", help="keep the generated files here (reused)")
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = args.size * 1_000_000 // BYTES_PER_ROW if args.size else args.rows
    paths = [p for p in args.paths.split(",") if p]
    encodings = [e for e in args.encodings.split(",") if e]
    if "sqlite-utils" in paths and not (Path(sys.executable).parent / "sqlite-utils").exists():
        print("sqlite-utils: not installed (pip install -e '.[bench]')")
        paths.remove("sqlite-utils")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        files = {"utf-8": data / f"enterprises-{rows}.csv",
                 "gbk": data / f"enterprises-{rows}-gbk.csv"}
        t = time.perf_counter()
        if not files["utf-8"].exists():
            generate(files["utf-8"], rows)
        if "gbk" in encodings and not files["gbk"].exists():
            transcode(files["utf-8"], files["gbk"])
        print(f"{rows:,} rows: " + ", ".join(
            f"{e} {files[e].stat().st_size / 1e6:.0f} MB" for e in encodings)
            + f" (ready in {time.perf_counter() - t:.0f} s); {args.runs} round(s), median")
        work = Path(tmp) / "home"
        work.mkdir()
        prepare_home(work)
        jobs = [(name, enc) for enc in encodings for name in paths
                if not (name == "duckdb" and enc == "gbk")]  # DuckDB cannot read GBK here
        results: dict[tuple[str, str], list[dict[str, float]]] = {j: [] for j in jobs}
        for round_ in range(args.runs):
            for name, enc in jobs:
                if name == "sqlite-utils" and round_:
                    continue  # ~70x slower than the others: one round is enough to compare
                results[(name, enc)].append(measure(name, files[enc], work, enc, rows))
                shutil.rmtree(work / "data", ignore_errors=True)  # versions pile up otherwise
        duck = results.get(("duckdb", "utf-8"))
        duck_rate = (rows / statistics.median(r["seconds"] for r in duck)) if duck else 0
        print("| path | file | seconds | rows/s | MB/s | peak RSS MB | vs DuckDB |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for (name, enc), runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            rate = rows / seconds
            mb = files[enc].stat().st_size / 1e6 / seconds
            rss = max(r["peak_rss_mb"] for r in runs)
            ratio = f"{rate / duck_rate:.2f}" if duck_rate else "-"
            print(f"| {TITLES[name]} | {enc.upper()} | {seconds:.2f} | {rate:,.0f} | {mb:.0f} | "
                  f"{rss:.0f} | {ratio} |")
        for (name, enc), runs in results.items():
            if name == "ours":
                listen = statistics.median(r.get("listeners", 0) for r in runs)
                index = statistics.median(r.get("index", 0) for r in runs)
                peak = max(r.get("ingest_peak_rss_mb", 0) for r in runs)
                print(f"ours {enc}: peak RSS when the version was published {peak:.0f} MB; "
                      f"listeners of datastore.version_published "
                      f"(privacy scan, exchange notices) {listen:.2f} s; every run: "
                      + ", ".join(f"{r['seconds']:.2f}" for r in runs) + " s; then the "
                      f"row and text indexes, built after publishing: {index:.2f} s")


if __name__ == "__main__":
    main()
