"""In-process events: one module announces what happened, the modules that care react in the
same transaction. The datastore announces ``datastore.version_published``; privacy scans the new
version, exchange tells its subscribers. The announcing module never imports the listeners.

A listener is ``fn(session, **payload)``, registered with ``@on(name)`` in a module listed in
``LISTENERS``; they are imported on the first ``emit`` so every process has them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

# modules whose import registers listeners (each module adds its own line)
LISTENERS: list[str] = [
    "zhihui.privacy.handlers",  # first: the narrowers after it see the protected view
    "zhihui.exchange.handlers",
    "zhihui.privacy.requests.service",  # the disputed marks follow the records
    "zhihui.datastore.index",  # row and text indexes of large versions, after the commit
]

_handlers: dict[str, list[Callable[..., None]]] = {}
_loaded = False


def on(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        if fn not in _handlers.setdefault(name, []):
            _handlers[name].append(fn)
        return fn
    return register


def load_listeners() -> None:
    global _loaded
    if not _loaded:
        for module in LISTENERS:
            importlib.import_module(module)
        _loaded = True


def emit(session: Session, name: str, **payload: Any) -> None:
    """Call every listener of ``name`` in registration order, inside the caller's transaction:
    a listener that raises undoes the change it was told about."""
    load_listeners()
    for fn in _handlers.get(name, []):
        fn(session, **payload)
