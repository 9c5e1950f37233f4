"""Jinja2 set-up: every module's templates/ folder, autoescaping on, translation helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape

from zhihui import __version__
from zhihui.core.i18n import translate

ROOT = Path(__file__).resolve().parents[1]


@pass_context
def _t(ctx: Any, key: str, **params: Any) -> str:
    return translate(key, ctx.get("lang", "zh"), **params)


@pass_context
def _pick(ctx: Any, zh: str, en: str = "") -> str:
    """The English text when the page is in English and one exists, else the Chinese."""
    return en if ctx.get("lang") == "en" and en else zh


def make_templates() -> Jinja2Templates:
    folders = [ROOT / "web" / "templates"] + sorted(
        p for p in ROOT.glob("*/templates") if p.parent.name != "web"
    ) + sorted(ROOT.glob("*/*/templates"))  # core/*, privacy/requests
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(t=_t, pick=_pick, version=__version__)
    return Jinja2Templates(env=env)
