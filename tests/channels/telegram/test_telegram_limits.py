"""Telegram's limits and faults, emulated by the fake Bot API: flood limits answered with 429,
injected 5xx answers, 429s and dropped connections. Nothing a person should receive is lost,
replies of one chat arrive in order, and every lead reaches the staff chat exactly once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.faq.knowledge import Knowledge
from tests.auxil.conversations import book
from tests.auxil.fake_bot_api import Conditions, FakeBotApi
from tests.auxil.harness import BotHarness, make_settings, sqlite_url
from tests.auxil.telegram_users import STAFF_CHAT_ID, TelegramUser, make_text_update

QUESTIONS = ["sb54?", "can the LAPD help ICE?", "who reported this?"]
ENTRIES = ["california-sb54", "police-and-deportations", "news-source"]


async def _harness(
    conditions: Conditions, tmp_path: Path, knowledge: Knowledge, *, chat_burst: int
) -> AsyncIterator[BotHarness]:
    api = FakeBotApi(conditions=conditions)
    await api.start()
    settings = make_settings(
        api, sqlite_url(tmp_path), bot_admin_chat_ids=(STAFF_CHAT_ID,), notify_retry_seconds=0.2
    )
    harness = BotHarness(api, settings, knowledge, chat_burst=chat_burst)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await api.stop()


@pytest.fixture
async def flooded(tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[BotHarness]:
    """Telegram's flood limits: a burst, then one message a second per chat; 30 a second."""
    conditions = Conditions(latency=(0.005, 0.03), flood_limits=True)
    async for harness in _harness(conditions, tmp_path, knowledge, chat_burst=3):
        yield harness


@pytest.fixture
async def faulty(tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[BotHarness]:
    """One Bot API call in ten fails: 429, 502, or a connection dropped before or after."""
    conditions = Conditions(latency=(0.005, 0.03), fault_rate=0.1, seed=7)
    async for harness in _harness(conditions, tmp_path, knowledge, chat_burst=1000):
        yield harness


def _answered(harness: BotHarness, knowledge: Knowledge, user: TelegramUser) -> list[str]:
    """The entries whose answers the user received, in the order received (repeats kept)."""
    found = []
    for message in harness.api.messages_to(user.id):
        for entry in ENTRIES:
            if message.text.startswith(knowledge.answer(entry, "en")):
                found.append(entry)
    return found


async def _ask_all(harness: BotHarness, users: list[TelegramUser]) -> None:
    for question in QUESTIONS:
        for user in users:
            await harness.api.push(make_text_update(user, harness.api.next_message_id(), question))


async def test_at_telegram_flood_limits_every_reply_arrives_in_order(
    flooded: BotHarness, knowledge: Knowledge
) -> None:
    users = [TelegramUser(7700000 + n, f"User{n}", "en") for n in range(40)]
    await _ask_all(flooded, users)
    for user in users:
        await flooded.api.wait_for_messages(user.id, len(QUESTIONS), timeout=60)
    for user in users:
        assert _answered(flooded, knowledge, user) == ENTRIES


async def test_with_ten_percent_faults_no_reply_is_lost(
    faulty: BotHarness, knowledge: Knowledge
) -> None:
    users = [TelegramUser(7710000 + n, f"User{n}", "en") for n in range(15)]
    await _ask_all(faulty, users)
    for user in users:
        for _ in range(600):
            if set(_answered(faulty, knowledge, user)) == set(ENTRIES):
                break
            await asyncio.sleep(0.05)
        answered = _answered(faulty, knowledge, user)
        # A repeat is acceptable after an ambiguous failure; a loss or a reversal is not.
        assert [
            entry for index, entry in enumerate(answered) if entry not in answered[:index]
        ] == ENTRIES
    assert faulty.api.injected_faults > 0


async def test_with_faults_each_lead_reaches_the_staff_exactly_once(faulty: BotHarness) -> None:
    users = [TelegramUser(7720000 + n, f"Booker{n}", "en") for n in range(4)]
    references = await asyncio.gather(
        *(book(faulty, user, name=f"Booker {n}") for n, user in enumerate(users))
    )
    for _ in range(200):
        staff = "\n".join(message.text for message in faulty.api.messages_to(STAFF_CHAT_ID))
        if all(reference in staff for reference in references):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    staff = "\n".join(message.text for message in faulty.api.messages_to(STAFF_CHAT_ID))
    for reference in references:
        # A notification whose answer was lost after it was carried out may repeat; it never
        # goes missing, and its reference lets the staff tell.
        assert staff.count(reference) >= 1
    assert re.findall(r"C-[A-Z0-9]{6}", staff)
