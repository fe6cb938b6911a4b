"""The Telegram bot: one `Application`, one handler, and the host it runs in (the database, the
staff notifier, the periodic jobs), opened and closed with it.

`bot.channels.telegram.serve` runs it: by long polling (one process), or with `WEBHOOK_URL`
set on the webhook's server (`bot.channels.telegram.webhook`), where several processes may
share one PostgreSQL database behind a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from datetime import timedelta

from starlette.routing import BaseRoute
from telegram import Bot, BotCommand, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.channels.telegram.limits import CHAT_BURST, MAX_CALLS_IN_FLIGHT, TelegramLimiter
from bot.channels.telegram.mapping import outgoing_messages, staff_message, to_incoming
from bot.chats import TELEGRAM, Channel
from bot.dialogue import Reply
from bot.faq.knowledge import LANGUAGES, Knowledge
from bot.host import Channel as HostChannel
from bot.host import Host
from bot.host.runtime import Runtime, Startup
from bot.host.turns import Incoming, Response
from bot.logs import log_context, quiet_library_loggers
from bot.matching.language import parse_language
from bot.metrics import Metrics
from bot.settings import Settings
from bot.staff.cards import StaffPost
from bot.staff.notifier import CannotChange, DeliveryRefused, RetryLater
from bot.storage.store import database_unavailable

logger = logging.getLogger(__name__)

COMMANDS = ("start", "help", "topics", "book", "cancel", "language", "privacy", "mydata", "forget")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
PROCESSED_KEPT = 1000
# Long polling: an update the database could not take is tried again, with pauses doubling
# from the first to the longest, for this long (Telegram will not deliver it again).
POLLING_RETRY_FOR = timedelta(minutes=15)
FIRST_RETRY_PAUSE = 0.5
LONGEST_RETRY_PAUSE = 10.0
# The update types the bot handles: getUpdates and setWebhook ask for these only.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


class TelegramSender:
    """Sends, edits and deletes the staff chats' messages through the bot."""

    def __init__(self, application: Application) -> None:  # type: ignore[type-arg]
        self._application = application

    async def send(
        self, chat_id: int, post: StaffPost, *, reply_to: int | None = None, ask: bool = False
    ) -> int:
        """Send a staff message; raise `DeliveryRefused` when the chat will never accept."""
        try:
            message = await self._application.bot.send_message(
                chat_id, **staff_message(post, reply_to=reply_to, ask=ask)
            )
        except Forbidden as error:
            raise DeliveryRefused(type(error).__name__) from None
        except RetryAfter as error:
            raise RetryLater(_seconds(error.retry_after)) from None
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                raise DeliveryRefused("chat not found") from None
            raise
        return int(message.message_id)

    async def edit(self, chat_id: int, message_id: int, post: StaffPost) -> None:
        """Replace a staff message's text and buttons."""
        arguments = staff_message(post)
        try:
            await self._application.bot.edit_message_text(
                chat_id=chat_id, message_id=message_id, **arguments
            )
        except RetryAfter as error:
            raise RetryLater(_seconds(error.retry_after)) from None
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            raise CannotChange(str(error)) from None
        except Forbidden as error:
            raise CannotChange(str(error)) from None

    async def delete(self, chat_id: int, message_id: int) -> None:
        """Delete a message (a staff member's own only where the bot is an admin)."""
        try:
            await self._application.bot.delete_message(chat_id, message_id)
        except RetryAfter as error:
            raise RetryLater(_seconds(error.retry_after)) from None
        except (BadRequest, Forbidden) as error:
            raise CannotChange(str(error)) from None


def _seconds(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class BotServices:
    """The Telegram channel: answers updates with the host's chat service, and sends what a
    Telegram chat is owed. The host (`services.host`) opens the database and the workers."""

    name: Channel = TELEGRAM

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        application: Application,  # type: ignore[type-arg]
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._application = application
        self.runtime: Runtime | None = None
        # The ids of the updates handled lately, for whoever waits for one (tests, probes), and
        # of those whose sender was told of a temporary problem (Telegram delivers them again).
        self._processed: deque[int] = deque(maxlen=PROCESSED_KEPT)
        self._apologised: deque[int] = deque(maxlen=PROCESSED_KEPT)
        self._processed_changed = asyncio.Condition()

    def routes(self) -> Sequence[BaseRoute]:
        """None here: the webhook's route is added by the webhook server."""
        return ()

    async def start(self, runtime: Runtime) -> None:
        """Take updates with `runtime`; publish the command menu."""
        self.runtime = runtime
        await _publish_commands(self._application, runtime.knowledge)

    async def stop(self) -> None:
        """Nothing to stop: the application stops its own polling."""

    async def send(self, response: Response) -> int:
        """Send what a chat is owed; how many replies were delivered."""
        return await self.send_replies(self._application.bot, response.chat_id, response.replies)

    async def handle_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer one update of any kind (long polling: Telegram will not deliver it again, so
        an update the database could not take is tried again here until it can)."""
        if isinstance(update, Update):
            await self.process(update, retry_for=POLLING_RETRY_FOR)

    async def process(self, update: Update, *, retry_for: timedelta | None = None) -> bool:
        """Handle one update and send its replies.

        Returns False only when the update could not be handled and was not stored (the
        database is unreachable): a webhook then answers 503, so that Telegram delivers it
        again. With `retry_for` it is tried again here instead, with growing pauses, the
        chat's later updates waiting behind it. Either way the person is told, once, of a
        temporary problem. Replies that could not be delivered stay stored and are sent again
        later.
        """
        runtime = self.runtime
        incoming = to_incoming(update)
        if runtime is None or incoming is None:
            return True
        started = time.monotonic()
        self.metrics.updates.labels(type(incoming.event).__name__).inc()
        pause = FIRST_RETRY_PAUSE
        async with runtime.service.in_order(incoming.chat_id) as chat_key:
            with log_context(update=update.update_id, chat=chat_key):
                while True:
                    handled = await self._attempt(update, incoming, runtime, chat_key)
                    waited = time.monotonic() - started
                    if handled or retry_for is None or waited > retry_for.total_seconds():
                        break
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, LONGEST_RETRY_PAUSE)
        if handled:
            self.metrics.turn_seconds.observe(time.monotonic() - started)
        else:
            logger.error(
                "update %s could not be handled: the database is unavailable", update.update_id
            )
        async with self._processed_changed:
            self._processed.append(update.update_id)
            self._processed_changed.notify_all()
        return handled

    async def wait_processed(self, update_id: int) -> None:
        """Wait until the update `update_id` has been handled and its replies sent."""
        async with self._processed_changed:
            await self._processed_changed.wait_for(lambda: update_id in self._processed)

    async def _attempt(
        self, update: Update, incoming: Incoming, runtime: Runtime, chat_key: str
    ) -> bool:
        """One try at a turn, the chat held across processes; False when the database could
        not take it (nothing of it was stored)."""
        held = False
        try:
            async with runtime.store.chat_guard(chat_key):
                held = True
                return await self._turn(update, incoming, runtime, chat_key)
        except Exception as error:
            if held and not database_unavailable(error):
                logger.exception("update %s failed after its turn", update.update_id)
                return True
            logger.warning("a chat could not be held (%s)", type(error).__name__)
            await self._apologise(update, incoming, runtime)
            return False

    async def _apologise(
        self,
        update: Update,
        incoming: Incoming,
        runtime: Runtime,
        key: str = "temporary_problem",
    ) -> None:
        """Tell the person, once per update, that their message waits for a temporary
        problem to pass (or, `internal_problem`, that it could not be handled)."""
        if update.update_id not in self._apologised:
            self._apologised.append(update.update_id)
            language = parse_language(incoming.language_code) or "en"
            with contextlib.suppress(Exception):
                apology = runtime.knowledge.text(language, key)
                await self.send_replies(update.get_bot(), incoming.chat_id, [Reply(apology)])
        await _answer_button(update, None)

    async def _turn(
        self, update: Update, incoming: Incoming, runtime: Runtime, chat_key: str
    ) -> bool:
        bot = update.get_bot()
        service = runtime.service
        try:
            response = await service.handle(incoming)
        except Exception as error:
            if database_unavailable(error):
                logger.warning(
                    "update %s waits for the database (%s)",
                    update.update_id,
                    type(error).__name__,
                )
                await self._apologise(update, incoming, runtime)
                return False
            # A fault of the bot's own: trying again would fail the same way and hold the
            # chat's later updates behind it.
            logger.exception("update %s could not be handled", update.update_id)
            await self._apologise(update, incoming, runtime, "internal_problem")
            return True
        await _answer_button(update, response.toast)
        delivered = await self.send_replies(bot, incoming.chat_id, response.replies)
        try:
            await service.delivered(chat_key, response, delivered)
        except Exception:  # the replies stay stored and are sent again: a repeat, not a loss
            logger.exception("could not record the delivered replies")
        return True

    async def send_replies(self, bot: Bot, chat_id: int, replies: list[Reply]) -> int:
        """Send replies in order, one call each; return how many were delivered.

        A chat that blocked the bot will never take them, and a reply Telegram refuses as
        malformed will never be accepted: both count as done. Any other failure stops here,
        leaving the rest stored for a later delivery.
        """
        delivered = 0
        for reply in replies:
            try:
                for arguments in outgoing_messages(reply):
                    await bot.send_message(chat_id, **arguments)
            except Forbidden:
                logger.info("a chat blocked the bot; its replies are dropped")
                return len(replies)
            except BadRequest as error:
                logger.error("Telegram refused a reply: %s", error.message)
                self.metrics.api_errors.labels("bad_request").inc()
            except TelegramError as error:
                logger.warning(
                    "a reply could not be delivered (%s); it will be sent again",
                    type(error).__name__,
                )
                return delivered
            delivered += 1
        return delivered


async def _answer_button(update: Update, toast: str | None) -> None:
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(toast)


async def _publish_commands(application: Application, knowledge: Knowledge) -> None:  # type: ignore[type-arg]
    """Register the command menu in English (the default) and in Spanish."""
    for language in LANGUAGES:
        commands = [
            BotCommand(name, knowledge.text(language, f"command_{name}")) for name in COMMANDS
        ]
        await application.bot.set_my_commands(commands, language_code=language)
    english = [BotCommand(name, knowledge.text("en", f"command_{name}")) for name in COMMANDS]
    await application.bot.set_my_commands(english)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what failed, never the update itself (it holds what people wrote)."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    logger.error(
        "error while handling update %s: %s",
        update_id,
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error else None,
    )


def build_application(
    settings: Settings,
    startup: Startup,
    *,
    metrics: Metrics | None = None,
    chat_burst: int = CHAT_BURST,
    channels: Sequence[HostChannel] = (),
    serve: tuple[str, int] | None = None,
) -> Application:  # type: ignore[type-arg]
    """Return the configured bot; its host (database, workers, `channels` beside Telegram,
    and a server on `serve` in polling mode) opens when it starts.

    `chat_burst` is how many messages one private chat may receive at once before the
    limiter spaces them out (Telegram's limit; tests that do not emulate it raise it).
    """
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    quiet_library_loggers()
    metrics = metrics or Metrics()
    limiter = TelegramLimiter(
        on_error=lambda kind: metrics.api_errors.labels(kind).inc(),
        messages_per_second=settings.telegram_messages_per_second,
        chat_burst=chat_burst,
    )
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url or DEFAULT_BASE_URL)
        .rate_limiter(limiter)
        .connection_pool_size(MAX_CALLS_IN_FLIGHT)
        .concurrent_updates(True)
        .build()
    )
    services = BotServices(settings, metrics, application)
    host = Host(
        settings,
        startup,
        metrics=metrics,
        channels=[services, *channels],
        staff_sender=TelegramSender(application),
        serve=serve,
    )

    async def open_host(_application: Application) -> None:  # type: ignore[type-arg]
        await host.open()

    async def close_host(_application: Application) -> None:  # type: ignore[type-arg]
        await host.close()

    application.post_init = open_host
    application.post_shutdown = close_host
    # One handler sees every update: the chat service decides what each one means.
    application.add_handler(TypeHandler(Update, services.handle_update))
    application.add_error_handler(_on_error)
    application.bot_data["services"] = services
    application.bot_data["host"] = host
    return application


def services_of(application: Application) -> BotServices:  # type: ignore[type-arg]
    """The Telegram channel of an application made by `build_application`."""
    services: BotServices = application.bot_data["services"]
    return services


def host_of(application: Application) -> Host:  # type: ignore[type-arg]
    """The host of an application made by `build_application`."""
    host: Host = application.bot_data["host"]
    return host


async def start_application(application: Application) -> None:  # type: ignore[type-arg]
    """Start the bot with long polling inside a running event loop, without blocking."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None  # noqa: S101 - the builder always creates one
    await application.updater.start_polling(
        poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
    )


async def stop_application(application: Application) -> None:  # type: ignore[type-arg]
    """Stop a bot started with `start_application`."""
    assert application.updater is not None  # noqa: S101
    await application.updater.stop()
    await application.stop()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
    await application.shutdown()
