"""``zhihui exchange``: grants and webhook deliveries from the shell, as the operator; and
``zhihui data pull``, which fetches a resource's new versions into a folder incrementally,
from this platform's database or from any zhihui site over HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from zhihui.core.accounts.cli import CLI_ACTOR, database, fail
from zhihui.core.errors import ZhihuiError
from zhihui.datastore.cli import app as data_app
from zhihui.exchange import grants, subscriptions
from zhihui.settings import get_settings

app = typer.Typer(help="Exchange (交换): grants, webhook deliveries.", no_args_is_help=True)
console = Console()
STATE = ".zhihui-pull.json"


@app.command("grants")
def list_grants(resource: str = typer.Option("", help="only this resource id"),
                live: bool = typer.Option(False, help="only live grants")) -> None:
    """List grants (every organisation's: the CLI acts as the operator)."""
    with database().session() as s:
        found = [grants.grant_dict(g) for g in grants.visible(
            s, CLI_ACTOR, resource_id=resource or None, live_only=live)]
    table = Table("grant", "kind", "resource", "grantee", "until", "state")
    for g in found:
        state = "live" if g["live"] else ("revoked" if g["revoked"] else "ended")
        table.add_row(g["id"][:8], g["kind"], g["resource_id"][:8],
                      (g["grantee_org_id"] or g["grantee_user_id"] or "")[:8],
                      (g["valid_until"] or "—")[:10], state)
    console.print(table)


@app.command("revoke")
def revoke(grant: str = typer.Argument(..., help="grant id"),
           reason: str = typer.Option(..., help="why: shown to the grantee")) -> None:
    """Revoke a grant at once."""
    try:
        with database().session() as s:
            g = grants.revoke(s, CLI_ACTOR, grant, reason)
            gid = g.id
    except ZhihuiError as exc:
        fail(exc)
    console.print(f"[green]revoked[/green] {gid}")


@app.command("deliver")
def deliver() -> None:
    """Post the webhook deliveries that are due now (the app's worker does it every few
    seconds; this is for a process without it)."""
    counts = subscriptions.deliver_due(database())
    console.print(", ".join(f"{k} {v}" for k, v in counts.items()))


def pull(
    resource: str = typer.Argument(..., help="resource id or name"),
    to: Path = typer.Option(..., "--to", file_okay=False, help="folder to write versions to"),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet, json, tsv or xlsx"),
    site: str = typer.Option("", help="a zhihui site (https://…); default: this database"),
    token: str = typer.Option("", envvar="ZHIHUI_TOKEN", help="API token for --site"),
) -> None:
    """Fetch the new versions of RESOURCE into a folder; the cursor is kept there, so the
    next run fetches only what is newer."""
    to.mkdir(parents=True, exist_ok=True)
    state_file = to / STATE
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    cursor = state.get("cursor") if state.get("resource") == resource else None
    fetched = 0
    try:
        source = _Remote(site, token) if site else _Local()
        while True:
            page = source.changes(resource, cursor)
            for c in page["changes"]:
                v = c["version"]
                name = f"{c['resource']['name']}-{v['distribution_id'][:8]}-v{v['number']}.{fmt}"
                source.download(v["distribution_id"], v["number"], fmt, to / name)
                console.print(f"[green]v{v['number']}[/green] {v['rows']} rows → {name}")
                fetched += 1
            cursor = page["cursor"]
            state_file.write_text(json.dumps({"resource": resource, "cursor": cursor}))
            if not page["more"]:
                break
    except ZhihuiError as exc:
        fail(exc)
    except httpx.HTTPError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{fetched} new version(s); cursor kept in {state_file}")


data_app.command("pull")(pull)


class _Local:
    """This platform's database and data, as the operator."""

    def changes(self, resource: str, cursor: str | None) -> dict[str, Any]:
        with database().session() as s:
            return subscriptions.changes(s, CLI_ACTOR, cursor, limit=100, resource_id=resource)

    def download(self, distribution: str, number: int, fmt: str, target: Path) -> None:
        from zhihui.datastore import service as ds

        with database().session() as s:
            out = ds.dump(s, CLI_ACTOR, distribution, data_root=get_settings().data_root,
                          fmt=fmt, number=number)
            s.commit()  # the read's audit entry
        tmp = target.with_suffix(target.suffix + ".part")
        try:
            if out.path is not None:
                shutil.copyfile(out.path, tmp)
            else:
                assert out.chunks is not None
                with tmp.open("wb") as f:
                    for chunk in out.chunks:
                        f.write(chunk)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
            if out.cleanup:
                out.cleanup()


class _Remote:
    """Another zhihui over HTTP, with an API token."""

    def __init__(self, site: str, token: str) -> None:
        headers = {"Authorization": token} if token else {}
        self.http = httpx.Client(base_url=site.rstrip("/"), headers=headers, timeout=60.0)

    def changes(self, resource: str, cursor: str | None) -> dict[str, Any]:
        params = {"resource": resource, "limit": 100, **({"since": cursor} if cursor else {})}
        r = self.http.get("/api/v1/exchange/changes", params=params)
        r.raise_for_status()
        return r.json()

    def download(self, distribution: str, number: int, fmt: str, target: Path) -> None:
        tmp = target.with_suffix(target.suffix + ".part")
        try:
            with self.http.stream("GET", f"/datastore/dump/{distribution}",
                                  params={"version": number, "format": fmt}) as r:
                r.raise_for_status()
                with tmp.open("wb") as f:
                    for chunk in r.iter_bytes():
                        f.write(chunk)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
