"""Building the long-lived parts once per process: knowledge, matcher, store, dialogue."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.crypto import DataKeyError, Vault, load_or_create_key_file
from bot.dialogue import Dialogue
from bot.knowledge import Knowledge, load_knowledge
from bot.matching import Matcher
from bot.service import ChatService
from bot.settings import Settings
from bot.storage import Store

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


async def open_runtime(settings: Settings, knowledge: Knowledge | None = None) -> Runtime:
    """Load the FAQ, open the database and build the dialogue and the chat service."""
    knowledge = knowledge or load_knowledge(settings.faq_dir)
    matcher = Matcher(knowledge)
    store = await Store.open(settings.database_url, Vault(resolve_data_key(settings)))
    dialogue = Dialogue(
        knowledge,
        matcher,
        retention_days=settings.lead_retention_days,
        booking_timeout=timedelta(minutes=settings.booking_timeout_minutes),
        default_region=settings.default_phone_region,
    )
    service = ChatService(
        dialogue,
        store,
        knowledge,
        admin_chat_ids=settings.bot_admin_chat_ids,
        staff_language=settings.staff_language,
    )
    return Runtime(settings, knowledge, matcher, store, dialogue, service)
