"""A bot process killed (SIGKILL) while a staff card is on its way: the card still reaches the
staff chat, once, within seconds. On SQLite the restarted process hands back its own claim at
once; on PostgreSQL another instance takes the card over when the dead one's short claim lapses.
Real `python -m bot run` processes against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

from bot.storage.crypto import Vault
from bot.storage.store import Store
from tests.auxil.databases import LEAD, empty_postgresql
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import DATA_KEY, WEBHOOK_SECRET, free_port
from tests.auxil.processes import start_bot
from tests.conftest import FAQ_DIR, migrated

STAFF_CHAT = -100909
# The card is on its way this long: long enough to kill the sender in the middle of it.
SEND_SECONDS = 3.0
DELIVERED_WITHIN_SECONDS = 30.0


def _environment(api: FakeBotApi, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATABASE_URL": database_url,
        "BOT_DATA_KEY": DATA_KEY,
        "BOT_ADMIN_CHAT_IDS": str(STAFF_CHAT),
        "FAQ_DIR": str(FAQ_DIR),
        **extra,
    }


def _webhook(port: int) -> dict[str, str]:
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_PORT": str(port),
    }


async def _start(environment: dict[str, str]) -> asyncio.subprocess.Process:
    return await start_bot(environment, capture=False)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)


async def _lead_waiting(database_url: str) -> str:
    """A request committed with its staff card still to send, as a booking leaves it."""
    store = await Store.open(database_url, Vault(DATA_KEY))
    try:
        async with store.unit() as unit:
            await unit.save_lead(
                replace(LEAD, reference="C-CRASH1", name="Rosa Caida"),
                user_key="crash-person",
                update=False,
                notify_chat_ids=(STAFF_CHAT,),
            )
    finally:
        await store.close()
    return "C-CRASH1"


async def _card_on_its_way(api: FakeBotApi) -> None:
    deadline = time.monotonic() + 30
    while not any(
        method == "sendMessage" and str(params.get("chat_id")) == str(STAFF_CHAT)
        for method, params in api.calls
    ):
        assert time.monotonic() < deadline, "the card was never sent"
        await asyncio.sleep(0.05)


async def _killed_mid_send_then_delivered_once(
    api: FakeBotApi, first: dict[str, str], second: dict[str, str], reference: str
) -> float:
    """Kill the process sending the card; start `second`; return seconds until the card."""
    api.slow_sends_to[STAFF_CHAT] = SEND_SECONDS
    sender = await _start(first)
    survivor = None
    try:
        await _card_on_its_way(api)
        sender.send_signal(signal.SIGKILL)
        await sender.wait()
        killed_at = time.monotonic()
        api.slow_sends_to.clear()
        survivor = await _start(second)
        (card,) = await api.wait_for_messages(STAFF_CHAT, 1, timeout=DELIVERED_WITHIN_SECONDS + 15)
        took = time.monotonic() - killed_at
        assert reference in card.text
        await asyncio.sleep(1.0)
        assert len(api.messages_to(STAFF_CHAT)) == 1  # once
        return took
    finally:
        await _stop(sender)
        if survivor is not None:
            await _stop(survivor)


async def test_sqlite_a_process_killed_mid_send_sends_the_card_once_on_restart(
    api: FakeBotApi, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await migrated(database_url)
    reference = await _lead_waiting(database_url)
    environment = _environment(api, database_url)
    took = await _killed_mid_send_then_delivered_once(api, environment, environment, reference)
    # The restarted process took its own claim back at once (not after it lapsed).
    assert took < DELIVERED_WITHIN_SECONDS


async def test_postgresql_another_instance_takes_over_a_card_its_sender_died_with(
    api: FakeBotApi,
) -> None:
    database_url = await empty_postgresql()
    await migrated(database_url)
    reference = await _lead_waiting(database_url)
    first = _environment(api, database_url, **_webhook(free_port()))
    second = _environment(api, database_url, **_webhook(free_port()))
    took = await _killed_mid_send_then_delivered_once(api, first, second, reference)
    assert took < DELIVERED_WITHIN_SECONDS
