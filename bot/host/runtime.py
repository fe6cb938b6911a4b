"""Building the long-lived parts once per process: knowledge, matcher, store, dialogue."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.chats import WEB
from bot.dialogue import Dialogue
from bot.faq.knowledge import Knowledge
from bot.faq.loader import load_knowledge
from bot.host.turns import ChatService
from bot.matching.matcher import Matcher
from bot.metrics import Metrics
from bot.settings import Settings
from bot.storage.crypto import DataKeyError, Vault, load_or_create_key_file
from bot.storage.migrations import schema_status, upgrade
from bot.storage.sessions import create_engine
from bot.storage.store import Store

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a channel needs, opened once."""

    settings: Settings
    knowledge: Knowledge
    matcher: Matcher
    store: Store
    dialogue: Dialogue
    service: ChatService

    async def close(self) -> None:
        """Release the database."""
        await self.store.close()


def resolve_data_key(settings: Settings) -> str:
    """Return the secret that encrypts contact data: BOT_DATA_KEY, or a key file for SQLite."""
    if settings.bot_data_key:
        return settings.bot_data_key
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise DataKeyError(
            "BOT_DATA_KEY is required with this DATABASE_URL (a key file is only generated "
            "beside a SQLite database file)"
        )
    key_path = Path(url.database).with_suffix(".key")
    secret, created = load_or_create_key_file(key_path)
    if created:
        logger.warning("generated a new data key in %s (mode 0600); back it up", key_path)
    else:
        logger.info("data key read from %s", key_path)
    return secret


@dataclass(frozen=True)
class Startup:
    """What start-up builds once per process: the FAQ, its matcher and the data key."""

    knowledge: Knowledge
    matcher: Matcher
    data_key: str


def prepare(settings: Settings, knowledge: Knowledge | None = None) -> Startup:
    """Load the FAQ (unless given), build its matcher and resolve the data key, once."""
    knowledge = knowledge or load_knowledge(settings.faq_dir)
    return Startup(knowledge, Matcher(knowledge), resolve_data_key(settings))


async def open_store(settings: Settings, data_key: str) -> Store:
    """Open the database, checking its schema and the data key.

    A new SQLite database (no tables yet) is created at the current schema, so that the bot
    runs with two commands; any other database must be brought up to date with `db upgrade`.
    """
    engine = create_engine(settings.database_url)
    try:
        status = await schema_status(engine)
        if status.empty and engine.dialect.name == "sqlite":
            logger.info("creating the database tables")
            await upgrade(engine)
    finally:
        await engine.dispose()
    return await Store.open(settings.database_url, Vault(data_key))


async def open_runtime(
    settings: Settings,
    startup: Startup,
    *,
    metrics: Metrics | None = None,
    on_lead: Callable[[], None] | None = None,
    on_forgotten: Callable[[], Awaitable[None]] | None = None,
    on_owed: Callable[[str], None] | None = None,
) -> Runtime:
    """Open the database and build the dialogue and the chat service around `startup`.

    `on_lead` wakes whoever posts to the staff chats, `on_forgotten` waits for them to clear a
    forgotten person, `on_owed` delivers what a chat is owed beside a staff member's turn.
    """
    knowledge, matcher = startup.knowledge, startup.matcher
    store = await open_store(settings, startup.data_key)

    def dialogue_for(words: Knowledge, *, phone_share: bool = True) -> Dialogue:
        return Dialogue(
            words,
            matcher,
            retention_days=settings.lead_retention_days,
            booking_timeout=timedelta(minutes=settings.booking_timeout_minutes),
            default_region=settings.default_phone_region,
            time_zone=settings.firm_timezone,
            staff_language=settings.staff_language,
            phone_share=phone_share,
        )

    dialogue = dialogue_for(knowledge)
    service = ChatService(
        dialogue,
        store,
        admin_chat_ids=settings.bot_admin_chat_ids,
        staff_language=settings.staff_language,
        booking_timeout=timedelta(minutes=settings.booking_timeout_minutes),
        flood_limit=settings.flood_limit_per_minute,
        metrics=metrics,
        deduplicate=settings.webhook_url is not None,
        relay_for=timedelta(hours=settings.relay_hours),
        on_lead=on_lead,
        on_forgotten=on_forgotten,
        on_owed=on_owed,
        # The web chat's phone is typed: it has no one-tap "share my phone number".
        dialogues={WEB: dialogue_for(knowledge.for_channel(WEB), phone_share=False)},
    )
    return Runtime(settings, knowledge, matcher, store, dialogue, service)
