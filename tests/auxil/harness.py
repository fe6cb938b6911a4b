"""Runs the real Application against the fake Bot API, and lets tests talk to it as users."""

from __future__ import annotations

import asyncio
import itertools
import socket
from pathlib import Path
from typing import Any

from bot.channels.telegram import build_application, start_application, stop_application
from bot.channels.telegram.webhook import WebhookServer
from bot.faq.knowledge import Knowledge
from bot.host import HEADER_TIMEOUT
from bot.host.runtime import prepare
from bot.settings import Settings
from tests.auxil.fake_bot_api import FakeBotApi, SentMessage
from tests.auxil.telegram_users import (
    TelegramUser,
    make_callback_update,
    make_contact_update,
    make_staff_callback_update,
    make_staff_reply_update,
    make_text_update,
)

DATA_KEY = "test-data-key-0123456789-abcdefghijklmnop"
SETTLE_SECONDS = 0.12
PROCESSING_TIMEOUT = 30


def make_settings(api: FakeBotApi, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": api.token,
        "telegram_api_base_url": api.base_url,
        "database_url": database_url,
        "bot_data_key": DATA_KEY,
        "bot_admin_chat_ids": (),
        **overrides,
    }
    return Settings(_env_file=None, **values)


class BotHarness:
    """One running bot and the users talking to it."""

    def __init__(
        self,
        api: FakeBotApi,
        settings: Settings,
        knowledge: Knowledge,
        *,
        chat_burst: int = 1000,
    ) -> None:
        self.api = api
        self.settings = settings
        self.knowledge = knowledge
        self.chat_burst = chat_burst
        self.application: Any = None
        self._queries = itertools.count(1)

    async def start(self) -> None:
        # Telegram's one-message-a-second per chat is emulated only where a test asks for it.
        self.application = build_application(
            self.settings, prepare(self.settings, self.knowledge), chat_burst=self.chat_burst
        )
        await start_application(self.application)

    async def stop(self) -> None:
        if self.application is not None:
            await stop_application(self.application)
            self.application = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def services(self) -> Any:
        return self.application.bot_data["services"]

    @property
    def host(self) -> Any:
        return self.application.bot_data["host"]

    async def _exchange(
        self, user: TelegramUser, update: dict[str, Any], *, expect: int = 1
    ) -> list[SentMessage]:
        before = len(self.api.messages_to(user.id))
        update_id = await self.api.push(update)
        async with asyncio.timeout(PROCESSING_TIMEOUT):
            await self.services.wait_processed(update_id)
        return await self.settle(user.id, before, expect=expect)

    async def settle(self, chat_id: int, before: int, *, expect: int = 1) -> list[SentMessage]:
        """Wait for at least `expect` new messages, then until no more arrive for a moment."""
        if expect:
            await self.api.wait_for_messages(chat_id, expect, after=before)
        count = -1
        while count != len(self.api.messages_to(chat_id)):
            count = len(self.api.messages_to(chat_id))
            await asyncio.sleep(SETTLE_SECONDS)
        return self.api.messages_to(chat_id)[before:]

    async def say(self, user: TelegramUser, text: str, *, expect: int = 1) -> list[SentMessage]:
        """Send a text as `user`; return what the bot answered."""
        update = make_text_update(user, self.api.next_message_id(), text)
        return await self._exchange(user, update, expect=expect)

    async def share_contact(
        self, user: TelegramUser, phone: str, owner_id: int | None
    ) -> list[SentMessage]:
        update = make_contact_update(user, self.api.next_message_id(), phone, owner_id)
        return await self._exchange(user, update)

    async def press(
        self, user: TelegramUser, message: SentMessage, data: str, *, expect: int = 1
    ) -> list[SentMessage]:
        """Press the button with callback `data` under `message`."""
        assert data in [button_data for _, button_data in message.buttons], message.buttons
        update = make_callback_update(user, message, data, f"q{next(self._queries)}")
        return await self._exchange(user, update, expect=expect)

    async def send_raw(self, user: TelegramUser, update: dict[str, Any]) -> list[SentMessage]:
        return await self._exchange(user, update)

    async def handled(self, update: dict[str, Any]) -> int:
        """Push an update and wait until the bot has handled it and sent its replies."""
        update_id = await self.api.push(update)
        async with asyncio.timeout(PROCESSING_TIMEOUT):
            await self.services.wait_processed(update_id)
        return update_id

    async def staff_press(self, member: TelegramUser, message: SentMessage, data: str) -> str:
        """Press a button under a staff-chat message as `member`; return the toast shown."""
        assert data in [button_data for _, button_data in message.buttons], message.buttons
        query_id = f"q{next(self._queries)}"
        await self.handled(
            make_staff_callback_update(message.chat_id, member, message, data, query_id)
        )
        (answer,) = [a for a in self.api.callback_answers if a["callback_query_id"] == query_id]
        return str(answer.get("text", ""))

    async def staff_reply(self, member: TelegramUser, message: SentMessage, text: str) -> int:
        """Answer a staff-chat message with Telegram's reply as `member`; return its id."""
        message_id = self.api.next_message_id()
        await self.handled(
            make_staff_reply_update(message.chat_id, member, message_id, text, message)
        )
        return message_id


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


WEBHOOK_SECRET = "webhook-secret-0123456789"


class WebhookHarness(BotHarness):
    """One bot serving its webhook on 127.0.0.1; the fake Bot API delivers updates to it."""

    def __init__(
        self,
        api: FakeBotApi,
        database_url: str,
        knowledge: Knowledge,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        **overrides: Any,
    ) -> None:
        port = free_port()
        settings = make_settings(
            api,
            database_url,
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            webhook_secret=WEBHOOK_SECRET,
            webhook_port=port,
            **overrides,
        )
        super().__init__(api, settings, knowledge)
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.header_timeout = header_timeout
        self.server: Any = None

    async def start(self) -> None:
        self.application = build_application(
            self.settings, prepare(self.settings, self.knowledge), chat_burst=self.chat_burst
        )
        self.server = WebhookServer(
            self.application, self.settings, header_timeout=self.header_timeout
        )
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None
            self.application = None
