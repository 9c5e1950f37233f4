"""``zhihui audit``: sign a checkpoint now, print the verifier key, verify the log."""

from __future__ import annotations

from pathlib import Path

import typer

from zhihui.core.audit import service
from zhihui.core.i18n import translate
from zhihui.db import Database
from zhihui.settings import get_settings

app = typer.Typer(help="The tamper-evident audit log (Art. 50).", no_args_is_help=True)


def _say(key: str, **params: object) -> str:
    return f"{translate(key, 'zh', **params)} / {translate(key, 'en', **params)}"


@app.command("checkpoint")
def checkpoint() -> None:
    """Integrate the waiting entries now and print the latest checkpoint (a signed note)."""
    settings = get_settings()
    database = Database(settings.sqlalchemy_url)
    with database.session() as s:
        cp = service.integrate(s, service.log_key(settings))
        note = cp.note
    typer.echo(note, nl=False)


@app.command("public-key")
def public_key() -> None:
    """Print the verifier key: <name>+<hex key id>+<base64(0x01 || public key)>."""
    settings = get_settings()
    database = Database(settings.sqlalchemy_url)
    with database.session() as s:
        typer.echo(str(service.verifier(s, service.log_key(settings))))


@app.command("verify")
def verify(
    checkpoint_file: Path | None = typer.Option(
        None, "--checkpoint", exists=True, dir_okay=False,
        help="a checkpoint saved earlier: is it consistent with today's log?"),
) -> None:
    """Rebuild the tree from the entries and check every stored checkpoint; or check a saved
    checkpoint against today's log. Exit code 1 when anything differs."""
    settings = get_settings()
    database = Database(settings.sqlalchemy_url)
    key = service.log_key(settings)
    with database.session() as s:
        if checkpoint_file is not None:
            report = service.verify_checkpoint(s, key, checkpoint_file.read_text("utf-8"))
        else:
            report = service.verify_log(s, key)
    for problem in report.problems:
        typer.echo(_say(problem.key, **problem.params), err=True)
    if report.first_bad_index is not None:
        typer.echo(_say("audit.verify.first_bad", index=report.first_bad_index,
                        id=report.first_bad_entry if report.first_bad_entry else "?"), err=True)
    if report.pending:
        typer.echo(_say("audit.verify.pending", count=report.pending))
    if not report.ok:
        raise typer.Exit(1)
    if checkpoint_file is not None:
        typer.echo(_say("audit.verify.checkpoint_ok", size=report.tree_size))
    else:
        typer.echo(_say("audit.verify.ok", size=report.tree_size,
                        checkpoints=report.checkpoints))
