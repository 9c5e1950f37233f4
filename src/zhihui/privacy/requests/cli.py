"""``zhihui requests``: an organisation's requests to correct or delete, from the shell."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.cli import CLI_ACTOR, database, fail
from zhihui.core.errors import ZhihuiError
from zhihui.privacy.requests import service

app = typer.Typer(help="Requests to correct or delete (Art. 50).", no_args_is_help=True)
console = Console()


@app.command("list")
def list_requests(
    org: str = typer.Argument(..., help="organisation name or id"),
    all_: bool = typer.Option(False, "--all", help="closed ones too"),
) -> None:
    """ORG's requests, soonest deadline first, with the overdue count."""
    try:
        with database().session() as s:
            o = accounts.get_org(s, org)
            rows = [service.full_dict(r, c, s)
                    for r, c in service.queue(s, CLI_ACTOR, o, open_only=not all_)]
            late = service.overdue_summary(s, o.id)["count"]
    except ZhihuiError as exc:
        fail(exc)
    table = Table("request", "state", "kind", "due", "records", "contact")
    for r in rows:
        table.add_row(r["id"], r["state"], r["kind"], (r["due"] or "-")[:10],
                      ",".join(map(str, r["matched_ids"])), r["contact_name"])
    console.print(table)
    console.print(f"overdue 超期: {late}")
