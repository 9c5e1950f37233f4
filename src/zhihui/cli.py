"""The ``zhihui`` command. Each module adds its own sub-command group; every command is a thin
wrapper over a service function, with the same defaults."""

from __future__ import annotations

import typer
from rich.console import Console

from zhihui.catalog.cli import app as catalog_app
from zhihui.core.accounts.cli import fail, org_app, token_app, user_app
from zhihui.core.audit.cli import app as audit_app
from zhihui.core.errors import ZhihuiError
from zhihui.core.workflow.cli import app as workflow_app
from zhihui.datastore.cli import app as data_app
from zhihui.db import Database, upgrade
from zhihui.exchange.cli import app as exchange_app
from zhihui.privacy.cli import app as privacy_app
from zhihui.privacy.requests.cli import app as requests_app
from zhihui.settings import get_settings

app = typer.Typer(
    help="zhihui 政务大数据平台: catalogue, exchange and open data for a city "
    "(杭州市智慧经济促进条例).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
app.add_typer(catalog_app, name="catalog")
app.add_typer(audit_app, name="audit")
app.add_typer(data_app, name="data")
app.add_typer(privacy_app, name="privacy")
app.add_typer(exchange_app, name="exchange")
app.add_typer(workflow_app, name="workflow")
app.add_typer(requests_app, name="requests")

console = Console()


@app.command()
def init() -> None:
    """Create the home folder (ZHIHUI_HOME, default ./var), its secret key, the audit log's
    signing key, and the schema."""
    from zhihui.core.audit.note import load_key

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.data_root.mkdir(parents=True, exist_ok=True)
    _ = settings.session_secret  # made once, kept under home
    load_key(settings.home)  # var/audit_ed25519.pem, mode 600, made once
    upgrade(settings.sqlalchemy_url)
    console.print(f"[green]ready[/green]: {settings.home.resolve()} · {_safe_url(settings)}")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = get_settings()
    upgrade(settings.sqlalchemy_url, revision)
    console.print(f"[green]schema at {revision}[/green]: {_safe_url(settings)}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(1, min=1, max=64, help="worker processes"),
) -> None:
    """Serve the portal and the APIs."""
    import uvicorn

    console.print(f"zhihui on http://{host}:{port}/  (API: /api/v1/docs, CKAN: /api/3/action)")
    # H11NoDelay: with --workers uvicorn leaves Nagle on (+40 ms a request; web/serving.py).
    uvicorn.run("zhihui.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_level="info", http="zhihui.web.serving:H11NoDelay")


@app.command()
def demo(
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing if the demo is loaded"),
    seed: int = typer.Option(2015, help="random seed; the same seed gives the same city"),
    no_tables: bool = typer.Option(False, "--no-tables",
                                   help="catalogue only: do not load the resources' data"),
) -> None:
    """Load the demo city: organisations, users for every role, catalogue resources and the
    data of about seventy of them (timed)."""
    from zhihui.demo import demo_is_loaded, load_demo

    settings = get_settings()
    database = Database(settings.sqlalchemy_url)
    if if_empty and demo_is_loaded(database):
        console.print("demo city already loaded")
        return
    try:
        summary = load_demo(database, seed=seed, tables=not no_tables,
                            data_root=settings.data_root)
    except ZhihuiError as exc:
        fail(exc)
    console.print(f"[green]demo city loaded[/green]: {summary}")


def _safe_url(settings) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
