"""The webhook server: an ASGI app (Starlette on uvicorn, as in python-telegram-bot's
custom-webhook example) that takes Telegram's updates and answers health checks and metrics.

- `POST <path of WEBHOOK_URL>`: an update, accepted only with the right
  `X-Telegram-Bot-Api-Secret-Token` (compared in constant time; 403 otherwise, and nothing of
  the body is read or logged); 400 for a body that is not an update (not JSON, or an integer
  beyond 64 bits, which Telegram never sends); 413 for a body over `MAX_UPDATE_BYTES`,
  refused before it is read, and 408 for one that takes longer than `BODY_TIMEOUT` to come.
  It is handled before the answer: 200 when handled (or already handled: Telegram delivers
  again an update whose webhook did not answer in time), 503 when the database could not be
  reached, so that Telegram delivers it again.
- `GET /healthz`: 200 when the database answers (on SQLite, when a write can take its lock),
  503 otherwise.
- `GET /metrics`: Prometheus text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.metrics import CONTENT_TYPE
from bot.settings import Settings
from bot.telegram_channel.app import ALLOWED_UPDATES, BotServices, services_of

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_CONNECTIONS = 40
# Telegram sends a request's headers at once; a client that has not sent its own this long
# after connecting (or after its previous answer) is holding a connection, not making a request.
HEADER_TIMEOUT = 10.0
# Far above Telegram's MAX_CONNECTIONS and the probes, below the common limit of 1024 open
# files: past it uvicorn answers 503 (Telegram delivers again) instead of running out.
CONNECTION_LIMIT = 500
# An update carries at most a 4096-character text and the message it answers, a few tens of
# kilobytes of JSON; a larger body is refused before it is read, so it costs no memory.
MAX_UPDATE_BYTES = 256 * 1024
# Time to send the body once the headers are in; Telegram sends it at once.
BODY_TIMEOUT = 10.0
# Telegram's ids all fit in a signed 64-bit integer, as the columns that store them do; a larger
# one is a forged body, and storing it would raise `OverflowError` in every retry.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def webhook_path(webhook_url: str) -> str:
    """The path Telegram posts to: the path of `WEBHOOK_URL`."""
    return urlsplit(webhook_url).path or "/"


def _parse_int64(digits: str) -> int:
    value = int(digits)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("an integer beyond 64 bits")
    return value


def parse_update_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body; raises ValueError when it is not one or an integer
    in it does not fit in 64 bits."""
    parsed = json.loads(body, parse_int=_parse_int64)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


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


def build_webhook_app(
    application: Application,  # type: ignore[type-arg]
    services: BotServices,
    *,
    path: str,
    secret: str,
) -> Starlette:
    """Return the ASGI app of the webhook, health check and metrics."""
    expected = secret.encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse("forbidden", status_code=403)
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                body = await read_capped_body(request, MAX_UPDATE_BYTES)
        except BodyTooLargeError:
            logger.warning("a webhook body over %d bytes was refused", MAX_UPDATE_BYTES)
            return PlainTextResponse("too large", status_code=413)
        except TimeoutError:
            return PlainTextResponse("timeout", status_code=408)
        try:
            update = Update.de_json(parse_update_body(body), application.bot)
        except Exception as error:
            logger.warning("a webhook body could not be read (%s)", type(error).__name__)
            return PlainTextResponse("bad request", status_code=400)
        handled = await services.process(update)
        return PlainTextResponse("ok" if handled else "retry", status_code=200 if handled else 503)

    async def healthz(_request: Request) -> Response:
        runtime = services.runtime
        healthy = runtime is not None and await runtime.store.healthy()
        return PlainTextResponse(
            "ok" if healthy else "unavailable", status_code=200 if healthy else 503
        )

    async def metrics(_request: Request) -> Response:
        return Response(services.metrics.exposition(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route(path, telegram, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
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


def _protocol_with_header_timeout(seconds: float) -> type[H11Protocol]:
    return type("HeaderTimeoutProtocol", (_HeaderTimeoutProtocol,), {"header_timeout": seconds})


class _Server(uvicorn.Server):
    """uvicorn's server, stopped by our signal handlers so the bot can close cleanly.

    uvicorn raises a captured SIGTERM again once it has stopped, which would end the process
    before the notifier and the database are closed.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebhookServer:
    """The bot, its services and the webhook server, started and stopped together."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        settings: Settings,
        *,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        if not settings.webhook_url or not settings.webhook_secret:
            raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
        self._application = application
        self._settings = settings
        self.services = services_of(application)
        app = build_webhook_app(
            application,
            self.services,
            path=webhook_path(settings.webhook_url),
            secret=settings.webhook_secret,
        )
        self._server = _Server(
            uvicorn.Config(
                app,
                host=settings.webhook_listen,
                port=settings.webhook_port,
                access_log=False,
                log_level="warning",
                lifespan="off",
                http=_protocol_with_header_timeout(header_timeout),
                limit_concurrency=CONNECTION_LIMIT,
            )
        )
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the services, register the webhook with Telegram and start serving."""
        application, settings = self._application, self._settings
        await application.initialize()
        await self.services.open(application)
        await application.bot.set_webhook(
            url=settings.webhook_url or "",
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
            max_connections=MAX_CONNECTIONS,
        )
        await application.start()
        self._serving = asyncio.create_task(self._server.serve(), name="webhook-server")
        while not self._server.started:
            if self._serving.done():
                await self._serving  # it failed to start: raise its error
            await asyncio.sleep(0.01)
        logger.info("serving the webhook on %s:%d", settings.webhook_listen, settings.webhook_port)

    async def stop(self) -> None:
        """Stop serving, then the bot and its services (pending work stays stored)."""
        self._server.should_exit = True
        if self._serving is not None:
            await self._serving
        application = self._application
        if application.running:
            await application.stop()
        await self.services.close()
        await application.shutdown()


async def serve_webhook(application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Serve the webhook until SIGINT or SIGTERM, with the bot and its services running."""
    server = WebhookServer(application, settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(stop_signal, stopping.set)
    await server.start()
    try:
        await stopping.wait()
    finally:
        await server.stop()
