"""The database going away under a running bot, and coming back: every person is told once,
and every update is answered afterwards (long polling retries it; a webhook answers 503 so
that Telegram delivers it again). PostgreSQL sits behind a TCP proxy that the test cuts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.faq.knowledge import Knowledge, Language
from tests.auxil.databases import empty_postgresql
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import BotHarness, WebhookHarness, make_settings
from tests.auxil.outage import DatabaseProxy
from tests.auxil.telegram_users import ANA, BEN, make_text_update
from tests.conftest import migrated

OUTAGE_SECONDS = 1.5


@pytest.fixture
async def proxy() -> AsyncIterator[DatabaseProxy]:
    url = await empty_postgresql()
    await migrated(url)
    database = DatabaseProxy(url)
    await database.start()
    yield database
    await database.stop()


async def _outage_then_answers(bot: BotHarness, proxy: DatabaseProxy) -> list[int]:
    """Cut the database, send two people's questions, restore it: what each was told."""
    (warm,) = await bot.say(BEN, "sb54?")  # connections are open before the cut
    assert warm.text.startswith("The article says")
    await proxy.cut()
    update_ids = []
    for user in (BEN, ANA):
        before = len(bot.api.messages_to(user.id))
        update_ids.append(
            await bot.api.push(make_text_update(user, bot.api.next_message_id(), "sb54?"))
        )
        (apology,) = await bot.api.wait_for_messages(user.id, 1, after=before)
        language: Language = "es" if user is ANA else "en"
        assert apology.text == bot.knowledge.text(language, "temporary_problem")
    await asyncio.sleep(OUTAGE_SECONDS)
    told = {user.id: len(bot.api.messages_to(user.id)) for user in (BEN, ANA)}
    await proxy.restore()
    for user, opening in ((BEN, "The article says"), (ANA, "El artículo dice")):
        (answer,) = await bot.api.wait_for_messages(user.id, 1, after=told[user.id], timeout=30)
        assert answer.text.startswith(opening), answer.text
    return update_ids


async def test_polling_an_outage_is_told_and_every_message_answered_after(
    api: FakeBotApi, proxy: DatabaseProxy, knowledge: Knowledge
) -> None:
    bot = BotHarness(api, make_settings(api, proxy.url), knowledge)
    await bot.start()
    try:
        await _outage_then_answers(bot, proxy)
        # Each was answered once, after the one notice.
        for user in (BEN, ANA):
            texts = [m.text for m in await bot.settle(user.id, 0, expect=0)]
            assert (
                sum(
                    t == bot.knowledge.text("es" if user is ANA else "en", "temporary_problem")
                    for t in texts
                )
                == 1
            )
    finally:
        await bot.stop()


async def test_webhook_an_outage_answers_503_and_telegram_delivers_again(
    api: FakeBotApi, proxy: DatabaseProxy, knowledge: Knowledge
) -> None:
    hook = WebhookHarness(api, proxy.url, knowledge)
    await hook.start()
    try:
        update_ids = await _outage_then_answers(hook, proxy)
        statuses = [status for update_id, status in api.deliveries if update_id in update_ids]
        assert 503 in statuses
        assert 500 not in statuses
        for update_id in update_ids:
            await api.wait_until_delivered(update_id)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{hook.url}/healthz")).status_code == 200
    finally:
        await hook.stop()
