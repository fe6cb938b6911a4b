"""`python -m bot run`: the Telegram bot until SIGINT or SIGTERM, by long polling or, with
`WEBHOOK_URL` set, on the webhook's server (`bot.channels.telegram.webhook`), with the other
channels (the web chat) beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.channels.telegram.app import ALLOWED_UPDATES, build_application
from bot.channels.telegram.webhook import serve_webhook
from bot.host import Channel as HostChannel
from bot.host.runtime import Startup
from bot.settings import Settings


def _use_uvloop() -> None:
    """Run on uvloop where it is installed: the profile of a load run spends most of its time
    in the event loop and in HTTP, which uvloop makes cheaper (about a fifth more updates a
    second on the same machine, see the README)."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


class TelegramStartError(Exception):
    """Telegram could not be reached, or refused the token, when the bot started."""


def _start_error(error: TelegramError) -> TelegramStartError:
    if isinstance(error, InvalidToken):
        return TelegramStartError("Telegram refused TELEGRAM_BOT_TOKEN")
    # The error's own text may hold the API's address, and with it the token.
    return TelegramStartError(f"Telegram's Bot API did not answer ({type(error).__name__})")


def run_bot(settings: Settings, startup: Startup, *, channels: Sequence[HostChannel] = ()) -> None:
    """Run the bot until SIGINT or SIGTERM: long polling, or a webhook when WEBHOOK_URL is set.

    `channels` are served beside Telegram (the web chat): on the webhook's server, or with
    long polling on the host's own server at WEB_LISTEN:WEB_PORT.
    Raises TelegramStartError when Telegram cannot be reached or refuses the token at start.
    """
    _use_uvloop()
    serve = None
    if channels and not settings.webhook_url and settings.web_port is not None:
        serve = (settings.web_listen, settings.web_port)
    application = build_application(settings, startup, channels=channels, serve=serve)
    if settings.webhook_url:
        try:
            asyncio.run(serve_webhook(application, settings))
        except (NetworkError, InvalidToken) as error:
            raise _start_error(error) from None
        return
    # Initialised here, on the loop run_polling then uses, rather than by run_polling: its
    # retry loop logs a failed start with three chained tracebacks before raising.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(application.initialize())
    except (NetworkError, InvalidToken) as error:
        loop.close()
        raise _start_error(error) from None
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
