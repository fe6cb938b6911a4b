"""A web chat's requests reach the staff chat as Telegram's do, and the staff's replies come
back to the web person: `run` with WEB_PORT, the fake Bot API as Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.faq.knowledge import Knowledge
from tests.auxil.conversations import staff_card
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import sqlite_url
from tests.auxil.telegram_users import MARIA, STAFF_CHAT_ID
from tests.auxil.web import TelegramAndWeb, Visitor

FROM_WEB = "From the chat on the firm's website"


async def firm_messages(visitor: Visitor, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The firm's messages in the web chat's history, once there is one (as the page polls)."""
    async with asyncio.timeout(timeout):
        while True:
            found = [m for m in await visitor.history() if m["from"] == "firm"]
            if found:
                return found
            await asyncio.sleep(0.05)


@pytest.fixture
async def both(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> AsyncIterator[TelegramAndWeb]:
    harness = TelegramAndWeb(
        api, sqlite_url(tmp_path), knowledge, bot_admin_chat_ids=(STAFF_CHAT_ID,)
    )
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def visitor(both: TelegramAndWeb) -> AsyncIterator[Visitor]:
    async with httpx.AsyncClient(timeout=30) as client:
        person = Visitor(both.url, client)
        await person.open("es")
        yield person


async def test_a_web_request_reaches_the_staff_chat_once_saying_it_came_from_the_website(
    both: TelegramAndWeb, visitor: Visitor
) -> None:
    reference = await visitor.book(name="Rosa Web", topic="permiso de trabajo")
    card = await staff_card(both, reference)
    assert FROM_WEB in card.text
    assert "Rosa Web" in card.text
    await both.settle(STAFF_CHAT_ID, 0, expect=0)
    cards = [m for m in both.api.messages_to(STAFF_CHAT_ID) if reference in m.text]
    assert len(cards) == 1


async def test_a_staff_reply_reaches_the_web_person_and_their_answer_the_staff(
    both: TelegramAndWeb, visitor: Visitor
) -> None:
    reference = await visitor.book(name="Rosa Web")
    card = await staff_card(both, reference)
    toast = await both.staff_press(MARIA, card, f"s:take:{reference}")
    assert toast
    await both.staff_reply(MARIA, card, "Rosa, la llamamos el lunes")
    found = await firm_messages(visitor)
    assert len(found) == 1
    assert "Rosa, la llamamos el lunes" in str(found[0]["text"])
    assert found[0]["lang"] == "es"
    # The person's answer goes to the staff, not to the FAQ.
    await visitor.say("El lunes está bien, mi primo Teodoro estará conmigo")
    await both.api.wait_until(
        "the person's answer in the staff chat",
        lambda: any("Teodoro" in m.text for m in both.api.messages_to(STAFF_CHAT_ID)),
    )
    # Telegram's chats are not confused with the web's: nothing went to a Telegram chat of
    # the same number as the web session.
    assert both.api.messages_to(1) == []
