"""The base of every input model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


def has_nul(value: Any) -> bool:
    """True if any string inside ``value`` holds a NUL character, which no text column (and
    no PostgreSQL text value) can store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class Input(BaseModel):
    """Input models refuse NUL characters anywhere, so they fail as a 4xx, not in the
    database as a 5xx."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("text may not contain NUL characters (\\x00)")
        return data
