"""Work that runs beside the app while it serves: the audit sequencer, workflow deadlines,
webhook deliveries. Each is a plain function of the database, run in a thread every few
seconds; any number of processes may run it (each job makes itself safe to run twice)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI

log = logging.getLogger(__name__)


def periodically(app: FastAPI, interval: float, job: Callable[[FastAPI], Any], what: str,
                 *, first: float | None = None) -> None:
    """Call ``job(app)`` in a thread every ``interval`` seconds from start-up to shutdown (the
    first time after ``first`` seconds, if given); a failing round is logged as ``what`` and
    the next round tries again."""

    async def loop(a: FastAPI) -> None:
        wait = interval if first is None else first
        while True:
            await asyncio.sleep(wait)
            wait = interval
            try:
                await asyncio.to_thread(job, a)
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("%s failed", what)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        task = asyncio.create_task(loop(a))
        try:
            async with inner(a) as state:
                yield state
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    app.router.lifespan_context = lifespan
