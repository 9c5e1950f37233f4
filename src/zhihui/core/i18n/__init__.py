"""Message catalogues: Simplified Chinese first (zh), English second (en).

Each language is a folder of TOML files (``zh/*.toml``, ``en/*.toml``, one per area)
of ``key = "text {param}"`` in sections; a test keeps the languages in step.
``translate`` falls back to Chinese, then to the key itself, never raising."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


@cache
def catalogue(lang: str) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(key, v)
            else:
                flat[key] = str(v)

    for path in sorted((Path(__file__).parent / lang).glob("*.toml")):
        with path.open("rb") as f:
            walk("", tomllib.load(f))
    return flat


def normalise_language(value: str | None) -> str:
    if not value:
        return DEFAULT_LANGUAGE
    value = value.strip().lower()
    for lang in LANGUAGES:
        if value == lang or value.startswith(lang + "-") or value.startswith(lang + "_"):
            return lang
    return DEFAULT_LANGUAGE


def pick_language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header, else Chinese."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        for lang in LANGUAGES:
            if tag == lang or tag.startswith(lang + "-"):
                return lang
    return DEFAULT_LANGUAGE


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    text = catalogue(normalise_language(lang)).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    if params:
        try:
            return text.format_map(params)
        except (KeyError, IndexError, ValueError):
            return text
    return text
