"""``zhihui privacy``: a resource's privacy status, detection of old versions, policies from a
JSON file, k-anonymity reports. Thin wrappers over ``privacy.service``, as the operator."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zhihui.core.accounts.cli import CLI_ACTOR, database, fail
from zhihui.core.errors import ZhihuiError
from zhihui.privacy import cleanup, service
from zhihui.privacy.schemas import PolicyIn
from zhihui.settings import get_settings

app = typer.Typer(help="Privacy (隐私保护): classification, policies, k-anonymity.",
                  no_args_is_help=True)
console = Console()


@app.command()
def status(resource: str = typer.Argument(..., help="resource id or name")) -> None:
    """Grade, personal flag, each table's personal columns and what the public reads."""
    try:
        with database().session() as s:
            out = service.status(s, CLI_ACTOR, resource, data_root=get_settings().data_root)
    except ZhihuiError as exc:
        fail(exc)
        return
    console.print(f"{out['name']}: grade {out['grade']}, personal {out['personal']} "
                  f"(detected {out['detected']})")
    for t in out["tables"]:
        table = Table(title=f"{t['distribution_id']} v{t['version']} · public reads "
                            f"{t['public_reads']}")
        for name in ("column", "type", "personal", "sensitive", "source", "covered"):
            table.add_column(name)
        for c in t["columns"]:
            if c["personal"] or c["source"] == "confirmed":
                table.add_row(c["column"], str(c["type"] or ""), str(c["personal"]),
                              str(c["sensitive"]), c["source"], str(c["covered"]))
        console.print(table)


@app.command()
def detect(resource: str = typer.Argument(..., help="resource id or name")) -> None:
    """Classify the current versions that have no classification yet (made before the
    privacy module ran), and raise the resource's flags."""
    try:
        with database().session() as s:
            n = service.redetect(s, CLI_ACTOR, resource, data_root=get_settings().data_root)
    except ZhihuiError as exc:
        fail(exc)
        return
    console.print(f"[green]{n} version(s) classified[/green]")


@app.command()
def policy(
    resource: str = typer.Argument(..., help="resource id or name"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help='JSON: {"rules": [{"column", "method", …}], '
                                     '"quasi_identifiers": [], "k": 1}'),
) -> None:
    """Set the resource's de-identification policy from FILE and write protected copies."""
    try:
        data = PolicyIn.model_validate(json.loads(file.read_text(encoding="utf-8")))
        with database().session() as s:
            p = service.set_policy(s, CLI_ACTOR, resource, data,
                                   data_root=get_settings().data_root)
            console.print(f"[green]policy revision {p.revision}[/green]: "
                          f"{len(p.rules)} rules, k={p.k}")
    except ZhihuiError as exc:
        fail(exc)
    except ValueError as exc:  # JSON or shape
        console.print(f"[red]{str(exc).splitlines()[0][:300]}[/red]")
        raise typer.Exit(2) from None


@app.command()
def kanon(
    resource: str = typer.Argument(..., help="resource id or name"),
    columns: str = typer.Option("", help="quasi-identifiers, comma-separated; default: the "
                                         "policy's"),
    k: int = typer.Option(0, min=0, max=1000, help="k to report suppression for; default: "
                                                    "the policy's"),
) -> None:
    """k-anonymity of the quasi-identifiers as the protected copy shows them."""
    quasi = [c.strip() for c in columns.split(",") if c.strip()] or None
    try:
        with database().session() as s:
            out = service.kanon_report(s, CLI_ACTOR, resource, quasi=quasi, k=k or None,
                                       data_root=get_settings().data_root)
    except ZhihuiError as exc:
        fail(exc)
        return
    console.print(json.dumps(out, ensure_ascii=False, indent=2))


@app.command()
def prune(resource: str = typer.Argument("", help="resource id or name (default: all)"),
          grace_minutes: int = typer.Option(
              int(cleanup.GRACE.total_seconds() // 60), min=0,
              help="keep copies made unreachable less than this long ago")) -> None:
    """Remove protected copies that no view can serve any more (audited); the app also does
    it every hour."""
    from datetime import timedelta

    try:
        found = cleanup.prune(database(), get_settings().data_root, actor=CLI_ACTOR,
                              resource_id=resource or None,
                              grace=timedelta(minutes=grace_minutes))
    except ZhihuiError as exc:
        fail(exc)
        return
    for stale in found:
        console.print(f"{stale.resource_id}: removed {len(stale.removed)} "
                      f"(versions {', '.join(map(str, stale.versions)) or '—'}), "
                      f"waiting {len(stale.waiting)}")
    console.print(f"[green]{sum(len(s.removed) for s in found)} copie(s) removed[/green]")
