"""Runs the real host with the web chat on a loopback port, and visitors that talk to it over
real HTTP (httpx)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.channels.telegram import build_application, start_application, stop_application
from bot.channels.web import WebChannel, WebLimits
from bot.channels.web.serve import build_web_host
from bot.faq.knowledge import Knowledge
from bot.host import Host
from bot.host.runtime import prepare
from bot.settings import Settings
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import DATA_KEY, BotHarness, free_port, make_settings

PHONE_TYPED = "(213) 555-0147"


class Clock:
    """A clock the test moves by hand (nothing depends on the hour of day)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **period: float) -> None:
        self.now += timedelta(**period)


def web_settings(database_url: str, port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "bot_data_key": DATA_KEY,
        "web_port": port,
        **overrides,
    }
    return Settings(_env_file=None, **values)


class WebHost:
    """`python -m bot web` in this process: the host with the web chat alone."""

    def __init__(
        self,
        database_url: str,
        knowledge: Knowledge,
        *,
        clock: Callable[[], datetime] | None = None,
        limits: WebLimits | None = None,
        **overrides: Any,
    ) -> None:
        self.port = free_port()
        self.settings = web_settings(database_url, self.port, **overrides)
        self.url = f"http://127.0.0.1:{self.port}"
        self.channel = WebChannel(
            self.settings, **({"clock": clock} if clock else {}), limits=limits
        )
        self.host: Host = build_web_host(
            self.settings, prepare(self.settings, knowledge), self.channel
        )

    async def start(self) -> None:
        await self.host.open()

    async def stop(self) -> None:
        await self.host.close()


class TelegramAndWeb(BotHarness):
    """`python -m bot run` with WEB_PORT set (long polling): Telegram and the web chat on one
    host, against the fake Bot API."""

    def __init__(
        self,
        api: FakeBotApi,
        database_url: str,
        knowledge: Knowledge,
        *,
        settings: Settings | None = None,
        **overrides: Any,
    ):
        if settings is None:
            settings = make_settings(api, database_url, web_port=free_port(), **overrides)
        assert settings.web_port is not None
        super().__init__(api, settings, knowledge)
        self.port = settings.web_port
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.application = build_application(
            self.settings,
            prepare(self.settings, self.knowledge),
            chat_burst=self.chat_burst,
            channels=[WebChannel(self.settings)],
            serve=("127.0.0.1", self.port),
        )
        await start_application(self.application)

    async def stop(self) -> None:
        if self.application is not None:
            await stop_application(self.application)
            self.application = None


@dataclass
class Visitor:
    """One person in the web chat, over HTTP."""

    url: str
    client: httpx.AsyncClient
    token: str | None = None
    lang: str = "en"
    expires_in: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def open(self, lang: str = "en") -> None:
        answer = await self.client.post(f"{self.url}/chat/api/session", json={"lang": lang})
        assert answer.status_code == 201, answer.text
        self.token, self.expires_in, self.lang = (
            answer.json()["token"],
            answer.json()["expires_in"],
            lang,
        )

    def next_id(self) -> str:
        return f"m{next(self._ids)}"

    async def post_turn(self, **body: Any) -> httpx.Response:
        body.setdefault("client_msg_id", self.next_id())
        return await self.client.post(f"{self.url}/chat/api/turn", json=body, headers=self.headers)

    async def turn(self, **body: Any) -> list[dict[str, Any]]:
        answer = await self.post_turn(**body)
        assert answer.status_code == 200, answer.text
        replies: list[dict[str, Any]] = answer.json()["replies"]
        return replies

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.turn(text=text)

    async def press(self, reply: dict[str, Any], data: str) -> list[dict[str, Any]]:
        offered = [button["data"] for button in reply["buttons"]]
        assert data in offered, offered
        return await self.turn(button=data)

    async def history(self, after: int = 0) -> list[dict[str, Any]]:
        answer = await self.client.get(
            f"{self.url}/chat/api/history", params={"after": after}, headers=self.headers
        )
        assert answer.status_code == 200, answer.text
        messages: list[dict[str, Any]] = answer.json()["replies"]
        return messages

    async def book(self, *, name: str = "Ana Prueba", topic: str = "sanctuary law") -> str:
        """Go through the whole booking; return the request's reference."""
        consent = (await self.turn(command="book"))[-1]
        ask_contact = (await self.press(consent, "b:consent:yes"))[-1]
        assert "Share" not in ask_contact["text"]
        assert "Compartir" not in ask_contact["text"]
        await self.say(PHONE_TYPED)
        voicemail = (await self.say(name))[-1]
        summary = (await self.press(voicemail, "b:voicemail:no"))[-1]
        summary = (await self.say(topic))[-1]
        booked = (await self.press(summary, "b:confirm:yes"))[-1]
        found = re.search(r"C-[A-Z0-9]{6}", booked["text"])
        assert found, booked["text"]
        return found.group(0)


def sqlite_file_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}"
