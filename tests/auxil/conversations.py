"""Conversations the tests hold with the bot as people and as staff, and a raw look at its
SQLite file."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.host.jobs import Jobs, StaffJobs
from bot.staff.cards import StaffDesk
from bot.storage.crypto import DataKeyError, Vault
from tests.auxil.fake_bot_api import SentMessage
from tests.auxil.harness import BotHarness
from tests.auxil.telegram_users import STAFF_CHAT_ID, TelegramUser

PHONE_TYPED = "(213) 555-0147"
PHONE_DIGITS = "2135550147"
EMAIL = "ben.tester@example.org"


def text_for(bot: BotHarness, user: TelegramUser, key: str, **values: str) -> str:
    """A text as `user` reads it (Spanish for a Spanish speaker)."""
    return bot.knowledge.text("es" if user.language_code == "es" else "en", key, **values)


async def staff_card(bot: BotHarness, reference: str) -> SentMessage:
    """The staff chat's message about a request, once it has arrived."""
    await bot.api.wait_until(
        f"the staff's message about {reference}",
        lambda: any(reference in m.text for m in bot.api.messages_to(STAFF_CHAT_ID)),
    )
    return next(m for m in bot.api.messages_to(STAFF_CHAT_ID) if reference in m.text)


def reference_in(message: SentMessage) -> str:
    """The request reference a message gives (C-XXXXXX)."""
    match = re.search(r"C-[A-Z0-9]{6}", message.text)
    assert match, message.text
    return match.group(0)


def last(messages: list[SentMessage]) -> SentMessage:
    assert messages, "the bot sent nothing"
    return messages[-1]


async def book(
    bot: BotHarness,
    user: TelegramUser,
    *,
    contact: str = "phone",
    name: str = "Ana Prueba",
    topic: str | None = "sanctuary law",
    phone: str = PHONE_TYPED,
) -> str:
    """Go through the whole booking as `user`; return the lead reference."""
    consent = last(await bot.say(user, "/book"))
    summary = await fill_form(
        bot, user, consent, contact=contact, name=name, topic=topic, phone=phone
    )
    return reference_in(last(await bot.press(user, summary, "b:confirm:yes")))


CRISIS = {"en": "ICE took my husband this morning", "es": "ICE se llevó a mi esposo esta mañana"}


async def book_urgent(bot: BotHarness, user: TelegramUser) -> str:
    """Ask for an urgent callback from a crisis message, as `user`; return the reference."""
    crisis = last(await bot.say(user, CRISIS["es" if user.language_code == "es" else "en"]))
    consent = last(await bot.press(user, crisis, "urgent"))
    last(await bot.press(user, consent, "b:consent:yes"))
    voicemail = last(await bot.say(user, PHONE_TYPED))
    summary = last(await bot.press(user, voicemail, "b:voicemail:no"))
    return reference_in(last(await bot.press(user, summary, "b:confirm:yes")))


async def fill_form(
    bot: BotHarness,
    user: TelegramUser,
    consent: SentMessage,
    *,
    contact: str = "phone",
    name: str = "Ana Prueba",
    topic: str | None = "sanctuary law",
    phone: str = PHONE_TYPED,
) -> SentMessage:
    """Agree under `consent` and answer every question; return the summary to confirm.

    The order of the form: the phone or email, the name, the voicemail (a phone only), and the
    topic typed on the summary when there is one."""
    await bot.press(user, consent, "b:consent:yes")
    if contact == "email":
        await bot.say(user, EMAIL)
    elif contact == "shared":
        await bot.share_contact(user, "+1 213 555 0147", user.id)
    else:
        await bot.say(user, phone)
    summary = last(await bot.say(user, name))
    if contact != "email":
        summary = last(await bot.press(user, summary, "b:voicemail:no"))
    if topic is not None:
        summary = last(await bot.say(user, topic))
    return summary


def db_rows(tmp_path: Path, query: str, *params: object) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as connection:
        return connection.execute(query, params).fetchall()


def db_write(tmp_path: Path, statement: str, *params: object) -> None:
    """Change the bot's SQLite file behind its back (to make a row older, say)."""
    with contextlib.closing(sqlite3.connect(tmp_path / "bot.sqlite3")) as connection:
        connection.execute(statement, params)
        connection.commit()


# A Fernet token as stored: version byte 0x80 and a timestamp, in base64url ("gAAAAA...").
FERNET_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_-]+=*")


def openable_in_files(tmp_path: Path, vault: Vault) -> list[bytes]:
    """Every value the data key opens in the SQLite file and its write-ahead log, read as raw
    bytes (free space and older copies of pages included), as anyone with the key file could."""
    opened = []
    for path in (tmp_path / "bot.sqlite3", tmp_path / "bot.sqlite3-wal"):
        raw = path.read_bytes() if path.exists() else b""
        for token in FERNET_TOKEN.findall(raw):
            with contextlib.suppress(DataKeyError):
                opened.append(vault.decrypt_bytes(token))
    return opened


def jobs_at(bot: BotHarness, clock: Callable[[], datetime]) -> Jobs:
    """The running bot's periodic jobs, run by hand at the time `clock` gives."""
    services, host = bot.services, bot.host
    return Jobs(
        services.runtime.service,
        retention=timedelta(days=bot.settings.lead_retention_days),
        redeliver=host.redeliver,
        clock=clock,
        staff=StaffJobs(
            chat_ids=(STAFF_CHAT_ID,),
            posts=StaffDesk(services.runtime.dialogue.writer),
            post=_poster(bot),
            wake=host.notifier.wake,
            remind_after=timedelta(minutes=bot.settings.urgent_reminder_minutes),
            open_after_hours=bot.settings.open_leads_digest_hours,
        ),
    )


def _poster(bot: BotHarness) -> Callable[[int, str], Awaitable[None]]:
    async def post(chat_id: int, text: str) -> None:
        await bot.application.bot.send_message(chat_id, text)

    return post
