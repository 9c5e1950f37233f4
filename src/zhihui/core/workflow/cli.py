"""``zhihui workflow``: check deadlines now, list a user's tasks, count working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import typer
from rich.console import Console
from rich.table import Table

from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.cli import database, fail
from zhihui.core.errors import ZhihuiError
from zhihui.core.workflow import service
from zhihui.core.workflow.calendar import CHINA, default_calendar

app = typer.Typer(help="Approval workflows: deadlines, escalation, tasks, working days.",
                  no_args_is_help=True)
console = Console()


@app.command("escalate")
def escalate() -> None:
    """Escalate every overdue case to the operator now (the app also does it periodically)."""
    with database().session() as s:
        done = service.escalate(s)
        rows = [(c.id, c.process, c.title, c.due) for c in done]
    console.print(f"[green]{len(rows)} case(s) escalated[/green]")
    for case_id, process, title, due in rows:
        console.print(f"  {case_id}  {process}  {title}  due {due:%Y-%m-%d}")


@app.command("tasks")
def tasks(user: str = typer.Argument(..., help="user name or id")) -> None:
    """What waits for USER, soonest deadline first."""
    try:
        with database().session() as s:
            actor = accounts.actor_for(s, accounts.get_user(s, user))
            found = [service.case_dict(c, actor) for c in service.tasks_for(s, actor)]
    except ZhihuiError as exc:
        fail(exc)
    table = Table("case", "process", "title", "state", "due", "escalated")
    for c in found:
        table.add_row(c["id"], c["process"], c["title"], c["state"], (c["due"] or "-")[:10],
                      "yes" if c["escalated"] else "")
    console.print(table)


@app.command("due")
def due(
    start: str = typer.Argument(..., help="the day a case starts, YYYY-MM-DD (China time)"),
    days: int = typer.Argument(..., min=0, help="working days allowed"),
) -> None:
    """When a case started on START with DAYS working days is due, and why each day counts."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter("START must be YYYY-MM-DD") from None
    cal = default_calendar()
    moment = datetime.combine(first, datetime.min.time(), tzinfo=CHINA).astimezone(UTC)
    deadline = cal.deadline(moment, days).astimezone(CHINA)
    day = first
    table = Table("date", "weekday", "kind", "counted")
    n = 0
    while day < deadline.date():
        day += timedelta(days=1)
        counted = cal.is_working_day(day)
        n += counted
        table.add_row(day.isoformat(), day.strftime("%a"), cal.why(day), str(n) if counted else "")
    console.print(table)
    console.print(f"due 截止: [bold]{deadline:%Y-%m-%d %H:%M:%S}[/bold] (China time)")


@app.command("calendar")
def calendar() -> None:
    """The years the holiday calendar covers and the notice each comes from."""
    cal = default_calendar()
    table = Table("year", "days off on weekdays", "make-up working days", "source")
    for year, source in sorted(cal.years.items()):
        off = sum(1 for d in cal.holidays if d.year == year and d.weekday() < 5)
        work = sum(1 for d in cal.workdays if d.year == year)
        table.add_row(str(year), str(off), str(work), source)
    console.print(table)
    console.print("years not listed count Monday to Friday (docs/workflow.md)")
