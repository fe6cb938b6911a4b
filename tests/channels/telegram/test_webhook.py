"""Webhook mode: the real Application behind the Starlette app on uvicorn, fed by the fake
Bot API over HTTP as Telegram does (secret header, retries of failed deliveries)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from sqlalchemy.ext.asyncio import create_async_engine
from telegram.constants import MessageLimit

from bot.faq.knowledge import Knowledge
from bot.staff.cards import staff_button_data
from bot.storage.sessions import InlineSessions
from bot.storage.store import Store
from tests.auxil.conversations import book, staff_card
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import WEBHOOK_SECRET, WebhookHarness, sqlite_url
from tests.auxil.telegram_users import (
    ANA,
    BEN,
    MARIA,
    STAFF_CHAT_ID,
    make_callback_update,
    make_staff_callback_update,
    make_staff_reply_update,
    make_text_update,
)


@pytest.fixture
async def hook(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> AsyncIterator[WebhookHarness]:
    harness = WebhookHarness(
        api, sqlite_url(tmp_path), knowledge, bot_admin_chat_ids=(STAFF_CHAT_ID,)
    )
    await harness.start()
    yield harness
    await harness.stop()


def _update(update_id: int, text: str, message_id: int) -> dict[str, object]:
    return {"update_id": update_id, **make_text_update(BEN, message_id, text)}


async def test_the_webhook_is_registered_with_its_secret_and_update_types(
    hook: WebhookHarness,
) -> None:
    webhook = hook.api.webhook
    assert webhook is not None
    assert webhook["url"] == f"{hook.url}/telegram"
    assert webhook["secret_token"] == WEBHOOK_SECRET
    assert set(webhook["allowed_updates"]) == {"message", "edited_message", "callback_query"}


async def test_updates_delivered_by_telegram_are_answered(hook: WebhookHarness) -> None:
    (reply,) = await hook.say(BEN, "sb54?")
    assert reply.text.startswith("The article says")


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_runs(
    hook: WebhookHarness, secret: str | None
) -> None:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    calls_before = len(hook.api.calls)
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            f"{hook.url}/telegram",
            content=json.dumps(_update(9001, "sb54?", 77)),
            headers=headers,
        )
    assert refused.status_code == 403
    assert hook.api.calls[calls_before:] == []
    assert hook.api.messages_to(BEN.id) == []


async def test_the_same_update_posted_three_times_gets_one_reply(hook: WebhookHarness) -> None:
    body = json.dumps(_update(9002, "sb54?", 78))
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with httpx.AsyncClient() as client:
        for _ in range(3):
            answered = await client.post(f"{hook.url}/telegram", content=body, headers=headers)
            assert answered.status_code == 200
    assert len(hook.api.messages_to(BEN.id)) == 1
    assert "faqbot_updates_duplicate_total 2.0" in await _metrics(hook)


async def test_a_staff_chats_update_delivered_again_is_handled_once(
    hook: WebhookHarness,
) -> None:
    reference = await book(hook, BEN, name="Ben Doble")
    card = await staff_card(hook, reference)
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    reply = {
        "update_id": 9101,
        **make_staff_reply_update(
            STAFF_CHAT_ID, MARIA, hook.api.next_message_id(), "We will call at 10", card
        ),
    }
    press = {
        "update_id": 9102,
        **make_staff_callback_update(
            STAFF_CHAT_ID, MARIA, card, staff_button_data("unreached", reference), "q-twice"
        ),
    }
    in_person_chat = len(hook.api.messages_to(BEN.id))
    async with httpx.AsyncClient() as client:
        for update in (reply, reply, press, press):
            answered = await client.post(
                f"{hook.url}/telegram", content=json.dumps(update), headers=headers
            )
            assert answered.status_code == 200
    relayed = await hook.settle(BEN.id, in_person_chat)
    assert [m.text.count("We will call at 10") for m in relayed] == [1]
    unreached = hook.knowledge.text("en", "staff_unreached", count="1")
    await hook.api.wait_until("the card counts one try", lambda: unreached in card.text)
    leads = await hook.services.runtime.store.newest_leads()
    assert [stored.unreached for stored in leads] == [1]


async def test_a_malformed_body_is_refused_without_being_logged(
    hook: WebhookHarness, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            f"{hook.url}/telegram", content=b"{not json: Secretname}", headers=headers
        )
    assert refused.status_code == 400
    assert "Secretname" not in caplog.text


async def _metrics(hook: WebhookHarness) -> str:
    async with httpx.AsyncClient() as client:
        answered = await client.get(f"{hook.url}/metrics")
    assert answered.status_code == 200
    return answered.text


async def _health_command(hook: WebhookHarness) -> int:
    """The exit status of `python -m bot health`, the container's health check, for `hook`."""
    environment = {
        **os.environ,
        "WEBHOOK_URL": hook.settings.webhook_url or "",
        "WEBHOOK_PORT": str(hook.settings.webhook_port),
        "WEBHOOK_LISTEN": "0.0.0.0",  # noqa: S104 - as in the image: the check asks 127.0.0.1
        "DATABASE_URL": hook.settings.database_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "health",
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


async def test_health_and_metrics(hook: WebhookHarness) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{hook.url}/healthz")).status_code == 200
    assert await _health_command(hook) == 0
    await hook.say(BEN, "sb54?")
    await hook.say(BEN, "ICE took my brother this morning")
    metrics = await _metrics(hook)
    assert 'faqbot_updates_received_total{kind="TextMessage"} 2.0' in metrics
    assert 'faqbot_questions_answered_total{language="en",outcome="answer"} 1.0' in metrics
    assert "faqbot_urgent_messages_total 1.0" in metrics
    assert "faqbot_turn_seconds_count 2.0" in metrics
    assert "5550002" not in metrics  # no chat ids in labels


@contextlib.asynccontextmanager
async def _unreachable(store: Store) -> AsyncIterator[None]:
    """The database stops answering (engines whose every connection fails), then comes back."""

    def refuse() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    working_engine, working_inline = store._engine, store._inline
    store._engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    store._inline = InlineSessions(sqlalchemy.create_engine("sqlite://", creator=refuse))
    try:
        yield
    finally:
        await store._engine.dispose()
        store._engine, store._inline = working_engine, working_inline


async def test_when_the_database_is_down_telegram_delivers_again_and_nothing_is_lost(
    hook: WebhookHarness, tmp_path: Path
) -> None:
    store = hook.services.runtime.store
    async with _unreachable(store):
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{hook.url}/healthz")).status_code == 503
        assert await _health_command(hook) == 1
        update_id = await hook.api.push(make_text_update(BEN, hook.api.next_message_id(), "sb54?"))
        apology = (await hook.api.wait_for_messages(BEN.id, 1))[0]
        assert apology.text == hook.knowledge.text("en", "temporary_problem")
        assert not hook.api.delivered(update_id)  # answered 503: Telegram will try again
    await hook.api.wait_until_delivered(update_id)
    replies = await hook.api.wait_for_messages(BEN.id, 1, after=1)
    assert replies[0].text.startswith("The article says")
    assert await _health_command(hook) == 0


# Within the fake Telegram's retries of a webhook delivery (3 s in all).
LOCK_HELD_SECONDS = 2.0
ANSWERED_WITHIN_SECONDS = 1.0


async def test_a_locked_sqlite_file_leaves_the_loop_free_and_health_says_503(
    hook: WebhookHarness, tmp_path: Path
) -> None:
    """Issue 8: another process holding the write lock froze the whole process."""
    await hook.say(BEN, "sb54?")
    other = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as the sqlite3 shell or a backup would
    locked_at = time.monotonic()
    try:
        sent = time.monotonic()
        ben = await hook.api.push(make_text_update(BEN, hook.api.next_message_id(), "sb54?"))
        ana = await hook.api.push(make_text_update(ANA, hook.api.next_message_id(), "hola"))
        # No turn can be stored while the file is locked: each person is told at once.
        (told_ben,) = await hook.api.wait_for_messages(BEN.id, 1, after=1)
        (told_ana,) = await hook.api.wait_for_messages(ANA.id, 1)
        assert time.monotonic() - sent < 2 * ANSWERED_WITHIN_SECONDS
        assert told_ben.text == hook.knowledge.text("en", "temporary_problem")
        assert told_ana.text == hook.knowledge.text("es", "temporary_problem")
        async with httpx.AsyncClient() as client:
            asked = time.monotonic()
            health = await client.get(f"{hook.url}/healthz")
            metrics = await client.get(f"{hook.url}/metrics")
            answered = time.monotonic()
        assert health.status_code == 503
        assert metrics.status_code == 200
        assert answered - asked < ANSWERED_WITHIN_SECONDS
        assert answered - locked_at < LOCK_HELD_SECONDS  # not after the lock was given back
        assert not hook.api.delivered(ben)  # 503: Telegram delivers it again
        await asyncio.sleep(LOCK_HELD_SECONDS - (time.monotonic() - locked_at))
    finally:
        other.execute("ROLLBACK")
        other.close()
    await hook.api.wait_until_delivered(ben)
    await hook.api.wait_until_delivered(ana)
    (reply,) = await hook.api.wait_for_messages(BEN.id, 1, after=2)
    assert reply.text.startswith("The article says")
    assert await hook.api.wait_for_messages(ANA.id, 1, after=1)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{hook.url}/healthz")).status_code == 200


# Digits that `str.isdigit` accepts and `int` refuses (a superscript) or reads (Arabic-Indic),
# a number longer than `int` converts, and data no Telegram button can carry (over 64 bytes):
# each gets the old-button answer and a 200, never a 503 that Telegram would deliver again.
CRAFTED_BUTTONS = [
    "topics:\u00b2",
    "topics:\u0661",
    "topics:" + "9" * 5000,
    "topics:1 ",
    "b:consent:" + "y" * 100,
    "lang:\u00b2",
]


@pytest.mark.parametrize("data", CRAFTED_BUTTONS)
async def test_issue_a_crafted_button_data_gets_the_old_button_answer_not_a_retry_loop(
    hook: WebhookHarness, knowledge: Knowledge, data: str
) -> None:
    (menu,) = await hook.say(BEN, "/start")
    update = make_callback_update(BEN, menu, data, "q-crafted")
    update_id = await hook.api.push(update)
    (reply,) = await hook.api.wait_for_messages(BEN.id, 1, after=1)
    assert reply.text == knowledge.texts["en"]["stale_button"]
    await hook.api.wait_until_delivered(update_id)
    assert all(status == 200 for u, status in hook.api.deliveries if u == update_id)


# Beyond the signed 64 bits of the `handled_updates.update_id` column (and of every id Telegram
# sends): once stored, `OverflowError` in the turn, 503, and Telegram's retries for ever.
@pytest.mark.parametrize("update_id", [2**64, 2**63, -(2**63) - 1])
async def test_issue_b_an_update_id_beyond_64_bits_is_refused_with_400(
    hook: WebhookHarness, caplog: pytest.LogCaptureFixture, update_id: int
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            f"{hook.url}/telegram",
            content=json.dumps(_update(update_id, "sb54?", 79)),
            headers=headers,
        )
    assert refused.status_code == 400
    assert "Traceback" not in caplog.text
    assert hook.api.messages_to(BEN.id) == []
    (reply,) = await hook.say(BEN, "sb54?")  # the chat is not blocked
    assert reply.text.startswith("The article says")


SHORT_HEADER_TIMEOUT = 0.5


@pytest.fixture
async def impatient_hook(
    api: FakeBotApi, tmp_path: Path, knowledge: Knowledge
) -> AsyncIterator[WebhookHarness]:
    harness = WebhookHarness(
        api, sqlite_url(tmp_path), knowledge, header_timeout=SHORT_HEADER_TIMEOUT
    )
    await harness.start()
    yield harness
    await harness.stop()


async def _closed_by_the_server(reader: asyncio.StreamReader, within: float) -> bool:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while await reader.read(1024):
                pass
            return True
    return False


@pytest.mark.parametrize(
    "partial",
    [b"POST /tele", b"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"],
)
async def test_issue_c_a_connection_that_never_finishes_its_headers_is_closed(
    impatient_hook: WebhookHarness, partial: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient_hook.port)
    try:
        writer.write(partial)
        await writer.drain()
        assert await _closed_by_the_server(reader, within=SHORT_HEADER_TIMEOUT + 3)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_issue_c_the_header_clock_starts_again_after_each_answer(
    impatient_hook: WebhookHarness,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient_hook.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(SHORT_HEADER_TIMEOUT / 2)
        writer.write(b"GET /heal")  # stops uvicorn's own keep-alive clock
        await writer.drain()
        assert await _closed_by_the_server(reader, within=SHORT_HEADER_TIMEOUT + 3)
    finally:
        writer.close()
        await writer.wait_closed()


TEN_MEGABYTES = 10 * 1024 * 1024
SECRET_LINE = f"X-Telegram-Bot-Api-Secret-Token: {WEBHOOK_SECRET}\r\n"


async def _status_of_raw_post(hook: WebhookHarness, head: bytes, body: bytes) -> bytes:
    """Send a request's head and part of its body; return the status line of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    try:
        writer.write(head + body)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_issue_d_a_declared_10_mb_body_is_refused_with_413_before_it_is_read(
    hook: WebhookHarness,
) -> None:
    head = (
        f"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_LINE}"
        f"Content-Type: application/json\r\nContent-Length: {TEN_MEGABYTES}\r\n\r\n"
    ).encode()
    status = await _status_of_raw_post(hook, head, b'{"update_id": 1, "message": {"text": "')
    assert status.startswith(b"HTTP/1.1 413")
    assert hook.api.messages_to(BEN.id) == []


async def test_issue_d_an_undeclared_10_mb_body_is_refused_with_413(hook: WebhookHarness) -> None:
    head = (
        f"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_LINE}"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = 64 * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (chunk, b"a" * chunk) for _ in range(TEN_MEGABYTES // chunk))
    status = await _status_of_raw_post(hook, head, body)
    assert status.startswith(b"HTTP/1.1 413")


async def test_issue_d_a_webhook_text_is_kept_no_longer_than_telegram_allows(
    hook: WebhookHarness,
) -> None:
    long_text = "zqx " * 5000  # 20,000 characters: more than a Telegram message can hold
    await hook.say(BEN, long_text)
    kept = await hook.services.runtime.store.unanswered_texts()
    assert kept
    assert all(len(text) <= MessageLimit.MAX_TEXT_LENGTH for _, text in kept)


async def test_a_fault_of_the_bot_is_told_without_a_promise_and_not_delivered_again(
    hook: WebhookHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn that fails for a reason of the bot's own would fail on every redelivery: the
    person is asked to write again (not promised an answer), and Telegram gets a 200."""

    async def broken(_incoming: object) -> None:
        raise ValueError("a fault of the bot's own")

    monkeypatch.setattr(hook.services.runtime.service, "handle", broken)
    update_id = await hook.api.push(make_text_update(BEN, hook.api.next_message_id(), "sb54?"))
    (told,) = await hook.api.wait_for_messages(BEN.id, 1)
    assert told.text == hook.knowledge.text("en", "internal_problem")
    await hook.api.wait_until_delivered(update_id)
    assert [status for u, status in hook.api.deliveries if u == update_id] == [200]
