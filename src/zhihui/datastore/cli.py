"""``zhihui data``: ingest a file as a new version of a resource's data, list versions, run
background jobs, remove what interrupted work left."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhihui.core.accounts.cli import CLI_ACTOR, database, fail
from zhihui.core.errors import ZhihuiError
from zhihui.datastore import service
from zhihui.settings import get_settings

app = typer.Typer(help="The datastore (数据): ingest files, list versions, run jobs, clean up.",
                  no_args_is_help=True)
console = Console()

STAGES = {"receive": "读取 reading", "transcode": "转码 transcoding", "parse": "解析 parsing",
          "read": "解析 parsing", "infer": "类型推断与写入 inferring, writing"}


@app.command()
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, XLSX, JSON …"),
    resource: str = typer.Option(..., "--resource", help="distribution id, or a resource's "
                                 "id or name (its only file, or a new one)"),
    sheet: str = typer.Option("", help="XLSX/XLS sheet: name or number"),
    encoding: str = typer.Option("", help="default: detected"),
    delimiter: str = typer.Option("", help="default: sniffed"),
    header_row: int = typer.Option(0, min=0, help="1-based; default: detected"),
    types: str = typer.Option("", help='JSON: {"column": "text", …} overrides inference'),
) -> None:
    """Ingest FILE as the next version of a resource's data, with a progress bar."""
    options = service.IngestOptions(
        sheet=sheet or None, encoding=encoding or None, delimiter=delimiter or None,
        header_row=header_row or None, types=json.loads(types) if types else {})
    size = file.stat().st_size
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(STAGES["receive"], total=size)

        def progress(stage: str, done: int, total: int) -> None:
            if stage in ("receive", "transcode"):
                bar.update(task, description=STAGES[stage], completed=done, total=total or size)
            else:
                bar.update(task, description=STAGES.get(stage, stage), completed=size)

        options.progress = progress
        try:
            with database().session() as s:
                target = service.distribution_for(s, CLI_ACTOR, resource, file.name)
                v = service.ingest(s, CLI_ACTOR, target, file, file.name, options,
                                   data_root=get_settings().data_root)
                out = service.version_dict(v)
        except ZhihuiError as exc:
            bar.stop()
            fail(exc)
    report = out["report"]
    console.print(f"[green]version {out['number']}[/green] of {out['resource_id']}: "
                  f"{out['rows']} rows, {report['rows_rejected']} rejected "
                  f"({out['source_format']}, {out['encoding'] or '-'})")
    table = Table("column", "type", "item", "nulls", "distinct")
    for c in report["columns"]:
        table.add_row(c["id"], c["type"], c["item_type"], str(c["nulls"]), str(c["distinct"]))
    console.print(table)
    for r in report["rejected"][:10]:
        console.print(f"[yellow]row {r['row']}[/yellow] {r['reason']}: {r['value'][:80]}")


@app.command()
def versions(resource: str = typer.Argument(..., help="distribution id")) -> None:
    """List the versions of a resource's data, newest first."""
    try:
        with database().session() as s:
            found = [service.version_dict(v)
                     for v in service.list_versions(s, CLI_ACTOR, resource)]
    except ZhihuiError as exc:
        fail(exc)
    table = Table("version", "rows", "file", "sha256", "created", "by")
    for v in found:
        table.add_row(str(v["number"]), str(v["rows"]), v["filename"], v["sha256"][:12],
                      v["created"][:19], v["actor"])
    console.print(table)


@app.command()
def clean(
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would go, remove nothing"),
    grace_hours: float = typer.Option(
        6.0, min=0, help="keep what changed less than this many hours ago"),
) -> None:
    """Remove what interrupted ingests left under the data root (version folders no version
    names, stale work files, originals no version keeps); audited. 清理中断的导入留下的文件。"""
    from datetime import timedelta

    from zhihui.datastore import cleanup

    try:
        found = cleanup.clean(database(), get_settings().data_root, actor=CLI_ACTOR,
                              dry_run=dry_run, grace=timedelta(hours=grace_hours))
    except ZhihuiError as exc:
        fail(exc)
        return
    for path in found.paths():
        console.print(f"  {path}")
    verb = "would remove 将清理" if dry_run else "removed 已清理"
    console.print(f"[green]{verb}[/green]: {len(found.versions)} version folder(s), "
                  f"{len(found.work)} work file(s), {len(found.originals)} original(s), "
                  f"{found.bytes / 1e6:.1f} MB; {found.waiting} younger than the grace period")


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="run the queued jobs, then exit"),
    poll: float = typer.Option(2.0, min=0.1, help="seconds between looks at an empty queue"),
) -> None:
    """Run background ingest jobs (large uploads) until stopped (Ctrl-C); any number of
    workers, on any machine sharing the database and data root, may run side by side."""
    import signal
    import threading

    from zhihui.datastore import jobs

    settings = get_settings()

    def show(p: dict) -> None:
        console.print(f"  {p['job'][:8]} {STAGES.get(p['stage'], p['stage'])} "
                      f"{p['done']}{'/' + str(p['total']) if p['total'] else ''}")

    w = jobs.Worker(database(), settings.data_root, poll_seconds=poll, observe=show)
    console.print(f"worker {w.name}")
    if once:
        for job_id, state in w.drain():
            console.print(f"job {job_id}: {state}")
        # the new versions' indexes build on a thread of this process (datastore/index.py):
        # ending the process inside DuckDB aborts it, so they finish first
        from zhihui.datastore import index

        index.wait_idle()
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        w.run_forever(stop)
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        from zhihui.datastore import index

        index.stop()  # an index build in this process is cancelled, not cut off inside DuckDB
