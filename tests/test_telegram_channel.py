"""End to end: the real python-telegram-bot Application, over real HTTP, against our fake
Bot API server; tests act as users and staff and assert on what they receive and on what
the database holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.knowledge import Knowledge
from tests.auxil.fake_bot_api import FakeBotApi, SentMessage
from tests.auxil.harness import BotHarness, make_settings, sqlite_url
from tests.auxil.telegram_users import ANA, BEN, STAFF_CHAT_ID

PHONE_TYPED = "(213) 555-0147"
PHONE_DIGITS = "2135550147"
EMAIL = "ben.tester@example.org"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(api: FakeBotApi, tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[BotHarness]:
    settings = make_settings(api, sqlite_url(tmp_path), bot_admin_chat_ids=(STAFF_CHAT_ID,))
    harness = BotHarness(api, settings, knowledge)
    await harness.start()
    yield harness
    await harness.stop()


def last(messages: list[SentMessage]) -> SentMessage:
    assert messages, "the bot sent nothing"
    return messages[-1]


async def test_start_in_spanish_and_english(bot: BotHarness, knowledge: Knowledge) -> None:
    (spanish,) = await bot.say(ANA, "/start")
    assert knowledge.texts["es"]["welcome"] in spanish.text
    assert [data for _, data in spanish.buttons] == ["ask", "topics", "book", "lang"]
    (english,) = await bot.say(BEN, "/start")
    assert knowledge.texts["en"]["welcome"] in english.text
    assert bot.api.errors == []


async def test_commands_menu_is_published_in_both_languages(bot: BotHarness) -> None:
    assert {c["command"] for c in bot.api.commands["es"]} >= {"start", "book", "forget"}
    assert bot.api.commands["es"][0]["description"] != bot.api.commands["en"][0]["description"]
    assert bot.api.commands[""] == bot.api.commands["en"]


async def test_booking_by_phone_reaches_the_staff_once(
    bot: BotHarness, knowledge: Knowledge
) -> None:
    consent = last(await bot.say(BEN, "I want to talk to a lawyer"))
    name_prompt = last(await bot.press(BEN, consent, "b:consent:yes"))
    assert name_prompt.text == knowledge.texts["en"]["ask_name"]
    method = last(await bot.say(BEN, "Ben <b>Tester</b> & co"))
    phone_prompt = last(await bot.press(BEN, method, "b:method:phone"))
    assert phone_prompt.asks_for_contact
    time_prompt = last(await bot.say(BEN, PHONE_TYPED))
    voicemail = last(await bot.press(BEN, time_prompt, "b:time:morning"))
    topic = last(await bot.press(BEN, voicemail, "b:voicemail:yes"))
    summary = last(await bot.say(BEN, "questions about SB 54"))
    assert "Ben <b>Tester</b> & co" in summary.text
    assert "+12135550147" in summary.text
    staff_before = len(bot.api.messages_to(STAFF_CHAT_ID))
    booked = last(await bot.press(BEN, summary, "b:confirm:yes"))
    assert "C-" in booked.text
    reference = booked.text.split("C-", 1)[1][:6]
    (notice,) = await bot.settle(STAFF_CHAT_ID, staff_before)
    assert f"C-{reference}" in notice.text
    assert "+12135550147" in notice.text
    assert "Ben <b>Tester</b> & co" in notice.text
    assert bot.api.errors == []
