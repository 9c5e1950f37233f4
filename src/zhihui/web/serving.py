"""How ``zhihui serve`` talks HTTP: uvicorn's h11 protocol with Nagle's algorithm off.

With ``--workers N`` uvicorn binds the listening socket itself with ``proto`` 0; accepted
sockets inherit it, so asyncio does not set TCP_NODELAY, and every keep-alive request after the
first waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; measured by
``benchmarks/catalog_search.py``: 3 ms with one worker, 44 ms with two). Setting it on each
connection here makes both paths the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class H11NoDelay(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Not a TCP socket after all: only latency is at stake, so carry on.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
