"""The docs say what the code does: every command and every right is documented."""

from pathlib import Path

import typer.main

from zhihui.cli import app
from zhihui.core.authz import ACTIONS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    click_group = typer.main.get_command(group)
    names = []
    for name, cmd in click_group.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):
            names += [f"{prefix}{name} {sub}" for sub in cmd.commands]
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_command_is_in_the_operating_guide():
    text = (DOCS / "operating.md").read_text(encoding="utf-8")
    missing = [c for c in _commands(app) if f"`zhihui {c}" not in text]
    assert missing == []


def test_every_right_is_in_the_rights_page():
    text = (DOCS / "rights.md").read_text(encoding="utf-8")
    assert [a for a in ACTIONS if f"`{a}`" not in text] == []
