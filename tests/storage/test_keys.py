"""Several data keys: rotation re-encrypts everything under the newest; a wrong key fails
closed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.faq.knowledge import Knowledge
from bot.records import Lead
from bot.settings import Settings
from bot.staff.cards import staff_button_data
from bot.storage.crypto import DataKeyError, Vault, looks_encrypted
from bot.storage.sessions import create_engine
from bot.storage.store import LeadRow, Store, encrypted_columns
from tests.auxil.conversations import book, book_urgent, jobs_at, staff_card
from tests.auxil.databases import empty_postgresql
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import free_port, make_settings, sqlite_url
from tests.auxil.telegram_users import ANA, BEN, CARLA, MARIA, STAFF_CHAT_ID
from tests.auxil.web import TelegramAndWeb, Visitor
from tests.conftest import FAQ_DIR, PROJECT_ROOT, migrated

OLD = "old-key-0123456789-abcdefghijklmnopq"
NEW = "new-key-0123456789-abcdefghijklmnopq"
LEAD = Lead("C-KEYS01", "en", "Rosa Key", "+12135550147", None, "any", True, "topic", False)


async def _store(url: str, keys: str) -> Store:
    return await Store.open(url, Vault(keys))


async def _fill(url: str) -> str:
    store = await _store(url, OLD)
    try:
        async with store.unit() as unit:
            await unit.save_lead(LEAD, user_key="user", update=False, notify_chat_ids=())
            chat_key = store.vault.identifier("chat:42")
            await unit.lock_chat(chat_key)
            await unit.save_chat(chat_key, state="{}", outbox=None, draft_expires_at=None)
            await unit.add_unanswered("user", "en", "a kept question")
        return chat_key
    finally:
        await store.close()


async def test_rotation_moves_everything_to_the_newest_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.sqlite3'}"
    await migrated(url)
    chat_key = await _fill(url)
    both = await _store(url, f"{NEW},{OLD}")
    try:
        assert await both.rotate_keys() >= 5
    finally:
        await both.close()
    newest_only = await _store(url, NEW)
    try:
        (lead,) = await newest_only.all_leads()
        assert replace(lead, created_at=None, updated_at=None) == LEAD
        assert await newest_only.unanswered_texts() == [("en", "a kept question")]
        # People are still known by the same key after the rotation.
        assert newest_only.vault.identifier("chat:42") == chat_key
    finally:
        await newest_only.close()


def test_a_token_of_any_key_looks_encrypted_and_plain_text_does_not() -> None:
    for vault in (Vault(OLD), Vault(NEW)):
        assert looks_encrypted(vault.encrypt(""))
        assert looks_encrypted(vault.encrypt("Rosa Key " * 20))
        assert looks_encrypted(vault.encrypt_bytes(vault.identifier_key))
    for plain in (b"", b"2026-11-20", b"gAAAAA plain", "Peña".encode(), b"\x80\x00"):
        assert not looks_encrypted(plain)


async def test_a_wrong_key_fails_closed_at_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wrong.sqlite3'}"
    await migrated(url)
    await _fill(url)
    with pytest.raises(DataKeyError, match="cannot read this database"):
        await _store(url, NEW)


def test_keys_rotate_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    environment = {**os.environ, "DATABASE_URL": url, "FAQ_DIR": str(FAQ_DIR)}

    def run(*args: str, key: str, typed: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env={**environment, "BOT_DATA_KEY": key},
            input=typed,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert run("db", "upgrade", key=OLD).returncode == 0
    booked = run("chat", "--lang", "en", key=OLD, typed="how do I get a green card?\n")
    assert booked.returncode == 0, booked.stderr
    rotated = run("keys", "rotate", key=f"{NEW},{OLD}")
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted" in rotated.stdout
    refused = run("leads", "export", key=OLD)
    assert refused.returncode == 2
    assert "cannot read this database" in refused.stderr
    assert run("leads", "export", key=NEW).returncode == 0


# --- a database that has run the staff side for a day -------------------------------------------

ASKED = "How much does a fishing license cost in Nevada?"
TO_PERSON = "We can call you tomorrow at 10"
FROM_PERSON = "Yes, 10 is fine"
WEB_SAID = "Hola, tengo una pregunta sobre la ley santuario"


@pytest.fixture(params=["sqlite", "postgresql"])
async def staff_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = sqlite_url(tmp_path) if request.param == "sqlite" else await empty_postgresql()
    await migrated(url)
    return url


def _settings(api: FakeBotApi, url: str, key: str, web_port: int | None = None) -> Settings:
    return make_settings(
        api,
        url,
        bot_data_key=key,
        bot_admin_chat_ids=(STAFF_CHAT_ID,),
        staff_language="en",
        web_port=web_port,
    )


async def _booked_minutes_ago(url: str, reference: str, minutes: int) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(LeadRow)
                .where(LeadRow.reference == reference)
                .values(created_at=datetime.now(UTC) - timedelta(minutes=minutes))
            )
    finally:
        await engine.dispose()


async def _rows_by_table(url: str) -> dict[str, int]:
    """How many non-empty encrypted values each table holds."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: sum(
                    [
                        await connection.scalar(
                            select(func.count()).select_from(table).where(column.is_not(None))
                        )
                        or 0
                        for column in columns
                    ]
                )
                for table, columns in encrypted_columns()
            }
    finally:
        await engine.dispose()


async def _unreadable_under(url: str, vault: Vault) -> list[str]:
    """The encrypted columns holding a value `vault` cannot read."""
    engine = create_engine(url)
    unreadable = []
    try:
        async with engine.connect() as connection:
            for table, columns in encrypted_columns():
                for column in columns:
                    for stored in await connection.scalars(
                        select(column).where(column.is_not(None))
                    ):
                        try:
                            vault.decrypt_bytes(stored)
                        except DataKeyError:
                            unreadable.append(f"{table.name}.{column.name}")
                            break
    finally:
        await engine.dispose()
    return unreadable


def _cli(url: str, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "BOT_DATA_KEY": key,
            "FAQ_DIR": str(FAQ_DIR),
            "PYTHONIOENCODING": "utf-8",
        },
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.mark.clock
async def test_rotation_of_a_database_that_ran_the_staff_side_for_a_day(
    api: FakeBotApi, staff_database: str, knowledge: Knowledge
) -> None:
    """Issue: `keys rotate` stopped at the digest's plain day in `meta` and, without it, left
    owners, chats, history and relayed texts under the old key."""
    url = staff_database
    web_port = free_port()
    bot = TelegramAndWeb(api, url, knowledge, settings=_settings(api, url, OLD, web_port))
    await bot.start()
    web = httpx.AsyncClient(timeout=30)
    visitor = Visitor(bot.url, web)
    try:
        await visitor.open("es")
        await visitor.say(WEB_SAID)
        booked = datetime.now(UTC)
        reference = await book(bot, BEN, name="Ben Rotado")
        card = await staff_card(bot, reference)
        await bot.staff_press(MARIA, card, staff_button_data("take", reference))
        in_person_chat = len(api.messages_to(BEN.id))
        await bot.staff_reply(MARIA, card, TO_PERSON)
        await api.wait_for_messages(BEN.id, 1, after=in_person_chat)
        in_staff_chat = len(api.messages_to(STAFF_CHAT_ID))
        await bot.say(BEN, FROM_PERSON)
        await api.wait_until(
            "the person's answer in the staff chat",
            lambda: any(
                FROM_PERSON in m.text for m in api.messages_to(STAFF_CHAT_ID)[in_staff_chat:]
            ),
        )
        urgent = await book_urgent(bot, ANA)
        await staff_card(bot, urgent)
        await _booked_minutes_ago(url, urgent, 11)  # nobody took it in time
        await jobs_at(bot, lambda: datetime.now(UTC)).remind()
        await api.wait_until(
            "the reminder",
            lambda: sum(urgent in m.text for m in api.messages_to(STAFF_CHAT_ID)) == 2,
        )
        # The digest's day, from the booking (whatever the hour the test runs at): 13:00 on the
        # firm's first day that starts more than 24 hours after it.
        writer = bot.services.runtime.dialogue.writer
        day = writer.in_zone(booked + timedelta(hours=25)).date() + timedelta(days=1)
        local = datetime.combine(day, time(13)).replace(tzinfo=writer.in_zone(booked).tzinfo)
        await jobs_at(bot, lambda: local.astimezone(UTC)).open_digest()
        assert await bot.services.runtime.service.store.read_meta("open_digest_day")
        await bot.say(CARLA, ASKED)
    finally:
        await bot.stop()
    filled = await _rows_by_table(url)
    assert [table for table, values in filled.items() if not values] == []

    rotated = await asyncio.to_thread(_cli, url, f"{NEW},{OLD}", "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert await _unreadable_under(url, Vault(NEW)) == []

    bot.settings = _settings(api, url, NEW, web_port)  # the old key dropped
    await bot.start()
    try:
        assert WEB_SAID in [message["text"] for message in await visitor.history()]
        mydata = (await bot.say(BEN, "/mydata"))[0].text
        assert "Ben Rotado" in mydata
        assert knowledge.text("en", "status_claimed") in mydata
        toast = await bot.staff_press(MARIA, card, staff_button_data("unreached", reference))
        assert toast == knowledge.text("en", "staff_toast_unreached", count="1")
        await api.wait_until("the card rendered again", lambda: "Ben Rotado" in card.text)
        in_person_chat = len(api.messages_to(BEN.id))
        await bot.staff_reply(MARIA, card, "And again, after the rotation")
        (again,) = await api.wait_for_messages(BEN.id, 1, after=in_person_chat)
        assert "And again, after the rotation" in again.text
        in_staff_chat = len(api.messages_to(STAFF_CHAT_ID))
        (ack,) = await bot.say(BEN, "Thank you, still fine")
        assert ack.text == knowledge.text("en", "relay_sent", reference=reference)
        (back,) = await api.wait_for_messages(STAFF_CHAT_ID, 1, after=in_staff_chat)
        assert back.text == knowledge.text(
            "en", "staff_relay", reference=reference, text="Thank you, still fine"
        )
        kept = await bot.services.runtime.service.store.unanswered_texts()
        assert [text for _, text in kept] == [ASKED]
        assert api.errors == []
    finally:
        await bot.stop()
        await web.aclose()

    exported = await asyncio.to_thread(_cli, url, NEW, "leads", "export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    leads = {lead["reference"]: lead for lead in json.loads(exported.stdout)}
    assert (leads[reference]["name"], leads[reference]["owner"]) == ("Ben Rotado", "Maria")
    history = [(e["kind"], e["actor"], e["text"]) for e in leads[reference]["history"]]
    assert history == [
        ("claimed", "Maria", None),
        ("to_person", "Maria", TO_PERSON),
        ("from_person", None, FROM_PERSON),
        ("unreached", "Maria", None),
        ("to_person", "Maria", "And again, after the rotation"),
        ("from_person", None, "Thank you, still fine"),
    ]
    assert [e["kind"] for e in leads[urgent]["history"]] == ["reminded"]
