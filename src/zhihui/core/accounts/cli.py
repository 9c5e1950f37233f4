"""``zhihui user|org|token``: accounts from the shell, as the platform operator."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zhihui.core.accounts import service
from zhihui.core.authz import Actor
from zhihui.core.errors import ZhihuiError
from zhihui.db import Database
from zhihui.settings import get_settings

user_app = typer.Typer(help="Users.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations (city, districts, departments).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

# Whoever holds the server's shell acts as the operator; the audit log names the CLI.
CLI_ACTOR = Actor(user_id="system", name="cli", sysadmin=True)


def database() -> Database:
    return Database(get_settings().sqlalchemy_url)


def fail(exc: ZhihuiError) -> None:
    err.print(f"[red]{exc.render('zh')}[/red] / {exc.render('en')}")
    for name, msgs in exc.render_fields("zh").items():
        err.print(f"  {name}: {'；'.join(msgs)}")
    raise typer.Exit(1)


@user_app.command("add")
def user_add(
    name: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    fullname: str = typer.Option("", help="display name"),
    email: str = typer.Option(""),
    sysadmin: bool = typer.Option(False, help="platform operator"),
    auditor: bool = typer.Option(False, help="reads the whole audit log"),
    org: str = typer.Option("", help="organisation (name or id) to join"),
    capacity: str = typer.Option("member", help="admin / editor / member in --org"),
) -> None:
    """Add a user, optionally as a member of an organisation."""
    try:
        with database().session() as s:
            user = service.create_user(s, CLI_ACTOR, name=name, password=password,
                                       fullname=fullname, email=email, sysadmin=sysadmin,
                                       auditor=auditor)
            if org:
                service.set_membership(s, CLI_ACTOR, user=user,
                                       org=service.get_org(s, org), capacity=capacity)
    except ZhihuiError as exc:
        fail(exc)
    console.print(f"[green]user added[/green]: {name}")


@org_app.command("add")
def org_add(
    name: str = typer.Argument(..., help="short name used in URLs, e.g. jtj"),
    title: str = typer.Option(..., help="full Chinese name, e.g. 杭州市交通运输局"),
    kind: str = typer.Option("department", help="city / district / department"),
    catalog_code: str = typer.Option(..., help="code used in resource codes"),
    parent: str = typer.Option("", help="parent organisation (name or id)"),
    uscc: str = typer.Option("", help="unified social credit code (18 characters)"),
    title_en: str = typer.Option(""),
) -> None:
    """Add an organisation to the tree."""
    try:
        with database().session() as s:
            service.create_org(s, CLI_ACTOR, name=name, title=title, kind=kind,
                               catalog_code=catalog_code, parent=parent or None,
                               uscc=uscc or None, title_en=title_en)
    except ZhihuiError as exc:
        fail(exc)
    console.print(f"[green]organisation added[/green]: {name}")


@org_app.command("list")
def org_list() -> None:
    """List organisations."""
    table = Table("name", "title", "kind", "catalog code", "USCC")
    with database().session() as s:
        for o in service.list_orgs(s):
            table.add_row(o.name, o.title, o.kind, o.catalog_code, o.uscc or "")
    console.print(table)


@token_app.command("create")
def token_create(
    user: str = typer.Argument(..., help="user name or id"),
    name: str = typer.Option("cli", help="what the token is for"),
    days: int = typer.Option(365, help="days until it expires"),
) -> None:
    """Create an API token; the secret is printed once, alone on the last line."""
    try:
        with database().session() as s:
            u = service.get_user(s, user)
            token, secret = service.create_token(s, CLI_ACTOR, user=u, name=name, days=days)
            expires = token.expires
    except ZhihuiError as exc:
        fail(exc)
    console.print(f"token for {user}, expires {expires:%Y-%m-%d}; it is shown only now:")
    print(secret)


@token_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token at once."""
    try:
        with database().session() as s:
            service.revoke_token(s, CLI_ACTOR, token_id)
    except ZhihuiError as exc:
        fail(exc)
    console.print("[green]revoked[/green]")
