"""The host's one HTTP server: Starlette on uvicorn, with `/healthz`, `/metrics` and the routes
of each channel that has some (Telegram's webhook, the web chat).

uvicorn's h11 protocol is given a clock on request headers, and the server is stopped by our
own signal handlers so that the host can close its services cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.metrics import CONTENT_TYPE, Metrics

logger = logging.getLogger(__name__)

# A client sends a request's headers at once; one that has not sent its own this long after
# connecting (or after its previous answer) is holding a connection, not making a request.
HEADER_TIMEOUT = 10.0
# Far above Telegram's connections, the probes and a busy web chat, below the common limit of
# 1024 open files: past it uvicorn answers 503 instead of running out.
CONNECTION_LIMIT = 500


class BodyTooLargeError(Exception):
    """A request body over the limit."""


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The request's body; raises BodyTooLargeError as soon as it is known to exceed `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError
    return bytes(body)


def build_host_app(
    *,
    healthy: Callable[[], Awaitable[bool]],
    metrics: Metrics,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Return the ASGI app: the channels' `routes`, the health check and the metrics."""

    async def healthz(_request: Request) -> Response:
        ok = await healthy()
        return PlainTextResponse("ok" if ok else "unavailable", status_code=200 if ok else 503)

    async def exposition(_request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            *routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", exposition, methods=["GET"]),
        ]
    )


class _HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers do not come in time.

    uvicorn (0.54) times only the idle wait between requests, and stops that clock at the first
    byte: a client that sends half a request line holds its connection for ever.
    """

    header_timeout = HEADER_TIMEOUT
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_clock()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def _start_header_clock(self) -> None:
        self._stop_header_clock()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        waiting_for_headers = self.cycle is None or self.cycle.response_complete
        if waiting_for_headers and not self.transport.is_closing():
            self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a clock of `seconds` on each request's headers."""
    return type("HeaderTimeoutProtocol", (_HeaderTimeoutProtocol,), {"header_timeout": seconds})


class _Server(uvicorn.Server):
    """uvicorn's server, stopped by our signal handlers so the host can close cleanly.

    uvicorn raises a captured SIGTERM again once it has stopped, which would end the process
    before the notifier and the database are closed.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """One ASGI app served on `listen:port` in the running event loop."""

    def __init__(
        self,
        app: Starlette,
        *,
        listen: str,
        port: int,
        header_timeout: float = HEADER_TIMEOUT,
        trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1"),
    ) -> None:
        """`trusted_proxies`: the addresses whose X-Forwarded-For is taken as the client's
        (WEB_TRUSTED_PROXIES); an empty tuple trusts none."""
        self.listen, self.port = listen, port
        self._server = _Server(
            uvicorn.Config(
                app,
                host=listen,
                port=port,
                access_log=False,
                log_level="warning",
                lifespan="off",
                http=protocol_with_header_timeout(header_timeout),
                limit_concurrency=CONNECTION_LIMIT,
                forwarded_allow_ips=list(trusted_proxies),
            )
        )
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start serving; return once the port is open (raise when it cannot be)."""
        self._serving = asyncio.create_task(self._server.serve(), name="http-server")
        while not self._server.started:
            if self._serving.done():
                await self._serving  # it failed to start: raise its error
                raise OSError(f"could not serve on {self.listen}:{self.port}")
            await asyncio.sleep(0.01)
        logger.info("serving HTTP on %s:%d", self.listen, self.port)

    async def stop(self) -> None:
        """Stop serving (requests in progress are finished first)."""
        self._server.should_exit = True
        if self._serving is not None:
            await self._serving
            self._serving = None
