"""``zhihui catalog``: list, show, export and import catalogue resources."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from zhihui.catalog import service, vocab
from zhihui.catalog.schemas import SearchQuery
from zhihui.core.accounts.cli import CLI_ACTOR, database, fail
from zhihui.core.errors import NotFound, ZhihuiError

app = typer.Typer(help="The resource catalogue (资源目录).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("list")
def list_resources(
    q: str = typer.Option("", help="search text (Chinese, pinyin or English)"),
    org: str = typer.Option("", help="only this organisation (name or id)"),
    rows: int = typer.Option(50, min=0, max=1000),
    start: int = typer.Option(0, min=0),
) -> None:
    """List resources, newest first (or by relevance with --q)."""
    filters = {"organization": [org]} if org else {}
    with database().session() as s:
        res = service.search(s, CLI_ACTOR, SearchQuery(q=q, rows=rows, start=start,
                                                       filters=filters))
        table = Table("resource code", "title", "provider", "sharing", "opening",
                      title=f"{res.count} resources")
        for r in res.resources:
            table.add_row(r.resource_code, r.title, service.org_of(s, r).title,
                          vocab.label(vocab.SHARING_TYPES, r.sharing_type),
                          vocab.label(vocab.OPENING_TYPES, r.opening_type))
    console.print(table)


@app.command()
def show(resource: str = typer.Argument(..., help="id, name or resource code")) -> None:
    """Print one resource as JSON."""
    try:
        with database().session() as s:
            data = service.show(s, CLI_ACTOR, _by_code(s, resource))
    except ZhihuiError as exc:
        fail(exc)
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _by_code(s, value: str) -> str:  # type: ignore[no-untyped-def]
    if "/" in value:
        from sqlalchemy import select

        from zhihui.catalog.models import Resource

        found = s.scalar(select(Resource.id).where(Resource.resource_code == value))
        if found:
            return found
    return value


def portable(r: Any, org_name: str) -> dict[str, Any]:
    """A resource as import takes it: organisation by name, no internal ids."""
    data = service.input_dict(r)
    data["owner_org"] = org_name
    data["distributions"] = [{k: v for k, v in d.items() if k != "id"}
                             for d in data["distributions"]]
    return data


@app.command()
def export(
    file: Path = typer.Argument(None, help="JSON Lines file to write; default: standard output"),
    include_deleted: bool = typer.Option(False, help="also deleted resources"),
) -> None:
    """Write every resource (one JSON object a line) for backup or another installation."""
    out = file.open("w", encoding="utf-8") if file else sys.stdout
    n = 0
    with database().session() as s:
        start = 0
        while True:
            res = service.search(s, CLI_ACTOR, SearchQuery(
                rows=500, start=start, sort="created", include_deleted=include_deleted))
            for r in res.resources:
                line = portable(r, service.org_of(s, r).name)
                out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
                n += 1
            start += 500
            if start >= res.count:
                break
    if file:
        out.close()
    err.print(f"exported {n} resources")


def read_records(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # files saved by Chinese Windows tools
    text = text.strip()
    if text.startswith("["):
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not all(isinstance(x, dict) for x in records):
        raise ValueError("every record must be a JSON object")
    return records


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines or array"),
) -> None:
    """Create or update resources (matched by name) from a file; bad records are reported
    with their line number and the rest still go in."""
    try:
        records = read_records(file)
    except (ValueError, UnicodeDecodeError) as exc:
        err.print(f"[red]无法读取文件 / cannot read the file[/red]: {exc}")
        raise typer.Exit(1) from None
    created = updated = failed = 0
    db = database()
    for i, record in enumerate(records, start=1):
        try:
            with db.session() as s:
                data = service.parse_input(record)
                try:
                    existing = service.get_resource(s, CLI_ACTOR, data.name or "")
                except NotFound:
                    existing = None
                if existing is None:
                    service.create_resource(s, CLI_ACTOR, data)
                    created += 1
                else:
                    if data.distributions is None:
                        data = data.model_copy(update={"distributions": None})
                    service.update_resource(s, CLI_ACTOR, existing.id, data)
                    updated += 1
        except ZhihuiError as exc:
            failed += 1
            fields = "; ".join(f"{k}: {'，'.join(v)}" for k, v in exc.render_fields("zh").items())
            err.print(f"[red]record {i}[/red]: {exc.render('zh')} {fields}")
    console.print(f"created {created}, updated {updated}, failed {failed}")
    if failed:
        raise typer.Exit(1)
