"""The Telegram bot: one `Application`, its handler, and the services opened around it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from telegram import BotCommand, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.dialogue import Reply
from bot.knowledge import LANGUAGES, Knowledge
from bot.language import parse_language
from bot.logs import quiet_library_loggers
from bot.notifier import DeliveryRefused, Notifier
from bot.runtime import Runtime, Startup, open_runtime
from bot.service import utc_now
from bot.settings import Settings
from bot.telegram_channel.mapping import outgoing_messages, to_incoming

logger = logging.getLogger(__name__)

COMMANDS = ("start", "help", "topics", "book", "cancel", "language", "privacy", "mydata", "forget")
PURGE_EVERY = timedelta(hours=1)
DEFAULT_BASE_URL = "https://api.telegram.org/bot"


class TelegramSender:
    """Sends staff notifications through the bot."""

    def __init__(self, application: Application) -> None:  # type: ignore[type-arg]
        self._application = application

    async def send(self, chat_id: int, text: str) -> None:
        """Send `text` to `chat_id`; raise `DeliveryRefused` when the chat will never accept."""
        try:
            for outgoing in outgoing_messages(Reply(text)):
                await self._application.bot.send_message(chat_id, **outgoing.arguments)
        except Forbidden as error:
            raise DeliveryRefused(type(error).__name__) from None
        except BadRequest as error:
            if "chat not found" in str(error).lower():
                raise DeliveryRefused("chat not found") from None
            raise


class BotServices:
    """The long-lived parts of the running bot, opened in post_init and closed in post_shutdown."""

    def __init__(self, settings: Settings, startup: Startup) -> None:
        self.settings = settings
        self._startup = startup
        self.runtime: Runtime | None = None
        self.notifier: Notifier | None = None
        self._purge_task: asyncio.Task[None] | None = None

    async def open(self, application: Application) -> None:  # type: ignore[type-arg]
        """Open the database, start the notifier and the purge loop, publish the commands."""
        runtime = await open_runtime(self.settings, self._startup)
        self.runtime = runtime
        self.notifier = Notifier(
            runtime.store,
            TelegramSender(application),
            runtime.dialogue.writer,
            clock=utc_now,
            first_retry=timedelta(seconds=self.settings.notify_retry_seconds),
        )
        runtime.service.on_lead = self.notifier.wake
        if not self.settings.bot_admin_chat_ids:
            logger.warning(
                "BOT_ADMIN_CHAT_IDS is not set: leads are kept in the database but no staff "
                "chat is notified (see `python -m bot leads export`)"
            )
        await _publish_commands(application, runtime.knowledge)
        self.notifier.start()
        self._purge_task = asyncio.create_task(self._purge_forever(), name="purge")

    async def close(self, _application: Application) -> None:  # type: ignore[type-arg]
        """Stop the background work and close the database."""
        if self._purge_task is not None:
            self._purge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge_task
        if self.notifier is not None:
            await self.notifier.stop()
        if self.runtime is not None:
            await self.runtime.close()

    async def _purge_forever(self) -> None:
        assert self.runtime is not None  # noqa: S101 - set before the task starts
        retention = timedelta(days=self.settings.lead_retention_days)
        while True:
            try:
                removed = await self.runtime.store.purge(utc_now() - retention)
                if removed:
                    logger.info("deleted %d leads past the retention period", removed)
            except Exception:
                logger.exception("purge failed")
            await asyncio.sleep(PURGE_EVERY.total_seconds())

    async def handle_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer one update of any kind."""
        if not isinstance(update, Update) or self.runtime is None:
            return
        incoming = to_incoming(update)
        if incoming is None:
            return
        toast: str | None = None
        bot = update.get_bot()
        service = self.runtime.service
        try:
            # The chat is held until its replies are sent, so they arrive in order.
            async with service.holding(incoming.chat_id):
                response = await service.handle(incoming)
                for reply in response.replies:
                    if reply.toast:
                        toast = reply.text
                        continue
                    for outgoing in outgoing_messages(reply):
                        sent = await bot.send_message(incoming.chat_id, **outgoing.arguments)
                        if outgoing.then_inline is not None:
                            await sent.edit_reply_markup(outgoing.then_inline)
        except Exception:
            # Never silence: say sorry (without the failed text), then let the error handler log.
            with contextlib.suppress(Exception):
                language = parse_language(incoming.language_code) or "en"
                apology = self.runtime.knowledge.text(language, "internal_error")
                for outgoing in outgoing_messages(Reply(apology)):
                    await bot.send_message(incoming.chat_id, **outgoing.arguments)
            raise
        finally:
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


def build_application(settings: Settings, startup: Startup) -> Application:  # type: ignore[type-arg]
    """Return the configured bot; its database and workers open when it starts."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    quiet_library_loggers()
    services = BotServices(settings, startup)
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url or DEFAULT_BASE_URL)
        .concurrent_updates(True)
        .post_init(services.open)
        .post_shutdown(services.close)
        .build()
    )
    # One handler sees every update: the chat service decides what each one means.
    application.add_handler(TypeHandler(Update, services.handle_update))
    application.add_error_handler(_on_error)
    application.bot_data["services"] = services
    return application


async def start_application(application: Application) -> None:  # type: ignore[type-arg]
    """Start the bot inside a running event loop (as `run_polling` does, without blocking)."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None  # noqa: S101 - the builder always creates one
    await application.updater.start_polling(
        poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES
    )


async def stop_application(application: Application) -> None:  # type: ignore[type-arg]
    """Stop a bot started with `start_application`."""
    assert application.updater is not None  # noqa: S101
    await application.updater.stop()
    await application.stop()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
    await application.shutdown()


def run_bot(settings: Settings, startup: Startup) -> None:
    """Run the bot until SIGINT or SIGTERM: long polling, or a webhook when WEBHOOK_URL is set."""
    application = build_application(settings, startup)
    if settings.webhook_url:
        path = settings.webhook_url.rstrip("/").rsplit("/", 1)[-1]
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
