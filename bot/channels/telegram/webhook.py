"""The webhook: a route on the host's server (Starlette on uvicorn, as in python-telegram-bot's
custom-webhook example) that takes Telegram's updates, beside the host's health check, metrics
and the other channels' routes (the web chat).

- `POST <path of WEBHOOK_URL>`: an update, accepted only with the right
  `X-Telegram-Bot-Api-Secret-Token` (compared in constant time; 403 otherwise, and nothing of
  the body is read or logged); 400 for a body that is not an update (not JSON, or an integer
  beyond 64 bits, which Telegram never sends); 413 for a body over `MAX_UPDATE_BYTES`,
  refused before it is read, and 408 for one that takes longer than `BODY_TIMEOUT` to come.
  It is handled before the answer: 200 when handled (or already handled: Telegram delivers
  again an update whose webhook did not answer in time), 503 when the database could not be
  reached, so that Telegram delivers it again.
- `GET /healthz`, `GET /metrics`: the host's (`bot.host.server`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.channels.telegram.app import ALLOWED_UPDATES, BotServices, host_of, services_of
from bot.host import HEADER_TIMEOUT, BodyTooLargeError, HttpServer, read_capped_body
from bot.settings import Settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_CONNECTIONS = 40
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


def webhook_route(
    application: Application,  # type: ignore[type-arg]
    services: BotServices,
    *,
    path: str,
    secret: str,
) -> Route:
    """Return the route Telegram posts its updates to."""
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

    return Route(path, telegram, methods=["POST"])


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
        self.host = host_of(application)
        route = webhook_route(
            application,
            self.services,
            path=webhook_path(settings.webhook_url),
            secret=settings.webhook_secret,
        )
        self._server = HttpServer(
            self.host.app([route]),
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            header_timeout=header_timeout,
            trusted_proxies=settings.web_trusted_proxies,
        )

    async def start(self) -> None:
        """Open the host, register the webhook with Telegram and start serving."""
        application, settings = self._application, self._settings
        await application.initialize()
        await self.host.open()
        await application.bot.set_webhook(
            url=settings.webhook_url or "",
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
            max_connections=MAX_CONNECTIONS,
        )
        await application.start()
        await self._server.start()
        logger.info("serving the webhook on %s:%d", settings.webhook_listen, settings.webhook_port)

    async def stop(self) -> None:
        """Stop serving, then the bot and its host (pending work stays stored)."""
        await self._server.stop()
        application = self._application
        if application.running:
            await application.stop()
        await self.host.close()
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
