"""The workflow's settings: ``ZHIHUI_WORKFLOW__<NAME>`` environment variables over the
``[workflow]`` table of ``zhihui.toml``, over the defaults each process declares.

Read at each use (cheaply), so an operator's change applies to the next case opened without a
restart, and tests can set them per test. Examples::

    ZHIHUI_WORKFLOW__CORRECTION_DAYS=15     # Art. 50 requests: working days to answer
    ZHIHUI_WORKFLOW__SHARING_DAYS=10        # Art. 46 sharing applications
    ZHIHUI_WORKFLOW__HOLIDAYS_FILE=/etc/zhihui/holidays.toml
    ZHIHUI_WORKFLOW__ATTACHMENT_MAX_BYTES=2097152
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "ZHIHUI_WORKFLOW__"
ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024  # under max_request_bytes' default with the form
ESCALATION_INTERVAL = 300.0  # seconds between two deadline checks in a running app


def _toml_table() -> dict[str, Any]:
    path = Path(os.environ.get("ZHIHUI_CONFIG", "zhihui.toml"))
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        table = tomllib.load(f).get("workflow", {})
    return table if isinstance(table, dict) else {}


def setting(name: str, default: Any = None) -> Any:
    """One setting by its lower-case name, as text from the environment or as TOML gave it."""
    env = os.environ.get(PREFIX + name.upper())
    if env is not None and env.strip():
        return env.strip()
    return _toml_table().get(name.lower(), default)


def _int(name: str, default: int, minimum: int = 0) -> int:
    value = setting(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{PREFIX}{name.upper()} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{PREFIX}{name.upper()} must be at least {minimum}")
    return number


@dataclass(frozen=True)
class WorkflowSettings:
    holidays_file: str | None
    attachment_max_bytes: int
    escalation_interval: float

    def days(self, name: str, default: int) -> int:
        """Working days allowed for a state, e.g. ``days("correction_days", 15)``."""
        return _int(name, default, minimum=1)


def workflow_settings() -> WorkflowSettings:
    holidays = setting("holidays_file")
    return WorkflowSettings(
        holidays_file=str(holidays) if holidays else None,
        attachment_max_bytes=_int("attachment_max_bytes", ATTACHMENT_MAX_BYTES, minimum=1),
        escalation_interval=float(setting("escalation_interval", ESCALATION_INTERVAL)),
    )
