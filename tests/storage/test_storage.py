"""One storage contract, run against SQLite and PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, text
from sqlalchemy.exc import StatementError

from bot.storage.crypto import DataKeyError, Vault, looks_encrypted
from bot.storage.store import Base, Store, UnansweredRow, encrypted_columns
from tests.auxil.databases import LEAD, empty_postgresql
from tests.conftest import TEST_SECRET, migrated

STAFF = (-100, -200)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.sqlite3'}"
    else:
        url = await empty_postgresql()
    await migrated(url)
    opened = await Store.open(url, Vault(TEST_SECRET))
    yield opened
    await opened.close()


async def _save_lead(
    store: Store, reference: str, user_key: str, *, update: bool = False, **changes: object
) -> bool:
    lead = replace(LEAD, reference=reference, **changes)  # type: ignore[arg-type]
    async with store.unit() as unit:
        return await unit.save_lead(lead, user_key=user_key, update=update, notify_chat_ids=STAFF)


async def _person(store: Store, user_key: str) -> tuple[list[str], int]:
    async with store.unit() as unit:
        records = await unit.person_records(user_key)
    return [stored.lead.reference for stored in records.leads], records.unanswered


class TestStoreContract:
    async def test_state_is_created_locked_and_saved(self, store: Store) -> None:
        async with store.unit() as unit:
            assert (await unit.lock_chat("chat-a")).state is None
            await unit.save_chat(
                "chat-a", state='{"step": "name"}', outbox="owed", draft_expires_at=None
            )
        async with store.unit() as unit:
            row = await unit.lock_chat("chat-a")
            assert (row.state, row.outbox) == ('{"step": "name"}', "owed")

    async def test_a_failed_turn_changes_nothing(self, store: Store) -> None:
        async def crash_before_commit() -> None:
            async with store.unit() as unit:
                await unit.lock_chat("chat-b")
                await unit.save_chat("chat-b", state="x", outbox=None, draft_expires_at=None)
                raise RuntimeError("crash before commit")

        with pytest.raises(RuntimeError):
            await crash_before_commit()
        async with store.unit() as unit:
            assert (await unit.lock_chat("chat-b")).state is None

    async def test_turns_of_one_chat_never_lose_an_update(self, store: Store) -> None:
        async def increment() -> None:
            async with store.unit() as unit:
                count = int((await unit.lock_chat("counter")).state or "0")
                await asyncio.sleep(0.01)
                await unit.save_chat(
                    "counter", state=str(count + 1), outbox=None, draft_expires_at=None
                )

        await asyncio.gather(*(increment() for _ in range(10)))
        async with store.unit() as unit:
            assert (await unit.lock_chat("counter")).state == "10"

    @pytest.mark.clock
    async def test_lead_notifications_are_delivered_once(self, store: Store) -> None:
        assert await _save_lead(store, "C-AAAAAA", "user-1") is False
        now = datetime.now(UTC)
        first = await store.claim_deliveries(now)
        assert sorted(d.chat_id for d in first) == sorted(STAFF)
        assert {d.lead.name for d in first} == {"Rosa Contract"}
        assert await store.claim_deliveries(now) == []  # claimed by the first caller
        await store.mark_sent([delivery.outbox_id for delivery in first], now)
        assert await store.claim_deliveries(now + timedelta(hours=1)) == []
        assert await store.next_delivery_at() is None

    @pytest.mark.clock
    async def test_updated_lead_is_notified_as_an_update(self, store: Store) -> None:
        await _save_lead(store, "C-BBBBBB", "user-2")
        assert await _save_lead(store, "C-BBBBBB", "user-2", update=True, name="Rosa Updated")
        kinds = sorted(d.kind for d in await store.claim_deliveries(datetime.now(UTC)))
        assert kinds == ["new", "new", "updated", "updated"]
        (lead,) = await store.all_leads()
        assert lead.name == "Rosa Updated"

    @pytest.mark.clock
    async def test_retry_and_give_up(self, store: Store) -> None:
        await _save_lead(store, "C-CCCCCC", "user-3")
        now = datetime.now(UTC)
        retried, refused = await store.claim_deliveries(now)
        await store.retry_later([retried.outbox_id], 1, now + timedelta(minutes=5))
        await store.mark_failed([refused.outbox_id], "Forbidden")
        assert await store.claim_deliveries(now + timedelta(minutes=1)) == []
        (again,) = await store.claim_deliveries(now + timedelta(minutes=6))
        assert (again.outbox_id, again.attempts) == (retried.outbox_id, 1)

    @pytest.mark.clock
    async def test_forget_removes_one_user_only(self, store: Store) -> None:
        await _save_lead(store, "C-DDDDDD", "user-4")
        await _save_lead(store, "C-EEEEEE", "user-5")
        async with store.unit() as unit:
            await unit.lock_chat("chat-4")
            await unit.save_chat("chat-4", state="{}", outbox=None, draft_expires_at=None)
            await unit.add_unanswered("user-4", "en", "what about visas")
            await unit.add_unanswered("user-5", "es", "y las visas")
        async with store.unit() as unit:
            await unit.forget("chat-4", "user-4")
        async with store.unit() as unit:
            assert (await unit.lock_chat("chat-4")).state is None
        assert await _person(store, "user-4") == ([], 0)
        assert await _person(store, "user-5") == (["C-EEEEEE"], 1)
        deliveries = await store.claim_deliveries(datetime.now(UTC))
        assert {d.lead.reference for d in deliveries} == {"C-EEEEEE"}

    async def test_stats_and_unanswered(self, store: Store) -> None:
        for outcome, language in (("answer", "en"), ("fallback", "es"), ("answer", "es")):
            store.count_question(outcome, language)
        async with store.unit() as unit:
            await unit.add_unanswered("user-6", "es", "¿visa?")
        await _save_lead(store, "C-FFFFFF", "user-6", urgent=True)
        stats = await store.stats()
        assert stats.questions == 3
        assert stats.by_outcome == {"answer": 2, "fallback": 1}
        assert stats.by_language == {"en": 1, "es": 2}
        assert (stats.leads, stats.urgent_leads) == (1, 1)
        assert await store.unanswered_texts() == [("es", "¿visa?")]

    @pytest.mark.clock
    async def test_purge_deletes_what_is_past_retention(self, store: Store) -> None:
        await _save_lead(store, "C-GGGGGG", "user-7")
        assert await store.purge(datetime.now(UTC) - timedelta(days=1)) == 0
        assert await store.purge(datetime.now(UTC) + timedelta(seconds=1)) == 1
        assert await store.all_leads() == []
        assert await store.claim_deliveries(datetime.now(UTC)) == []

    async def test_contact_data_is_encrypted_at_rest(self, store: Store) -> None:
        await _save_lead(store, "C-HHHHHH", "user-8")
        async with store.unit() as unit:
            await unit.add_unanswered("user-8", "en", "plaintext question")
        engine = store.engine  # a raw look at the rows, as a stolen database would show
        async with engine.connect() as connection:
            rows = (await connection.execute(text("select name, phone, topic from leads"))).all()
            questions = (await connection.execute(text("select text from unanswered"))).all()
        raw = b"".join(bytes(value) for row in [*rows, *questions] for value in row)
        for secret in (b"Rosa", b"2135550147", b"contract topic", b"plaintext"):
            assert secret not in raw

    async def test_an_urgent_callback_may_have_no_name(self, store: Store) -> None:
        await _save_lead(store, "C-KKKKKK", "user-10", name=None, urgent=True)
        (lead,) = await store.all_leads()
        assert (lead.name, lead.phone, lead.urgent) == (None, "+12135550147", True)

    async def test_an_encrypted_column_refuses_a_plain_value(self, store: Store) -> None:
        with pytest.raises(StatementError) as refused:
            async with store.transaction() as session:
                session.add(
                    UnansweredRow(
                        user_key="user-11",
                        language="en",
                        text=b"plaintext question",
                        created_at=datetime.now(UTC),
                    )
                )
        assert "not encrypted" in str(refused.value)
        assert "plaintext" not in str(refused.value)
        assert await store.unanswered_texts() == []

    async def test_the_bots_own_values_are_plain_and_meta_holds_only_encrypted(
        self, store: Store
    ) -> None:
        await store.write_meta("open_digest_day", "2026-11-20")
        await store.write_meta("open_digest_day", "2026-11-21")
        assert await store.read_meta("open_digest_day") == "2026-11-21"
        assert await store.read_meta("never_written") is None
        async with store.engine.connect() as connection:
            values = (await connection.execute(text("select value from meta"))).scalars().all()
        assert values
        assert all(looks_encrypted(bytes(value)) for value in values)

    async def test_another_key_cannot_read_the_data(self, store: Store) -> None:
        await _save_lead(store, "C-JJJJJJ", "user-9")
        other = Store(store.engine, Vault("another-secret-0123456789-abcdefghij"))
        with pytest.raises(DataKeyError):
            await other.all_leads()


def test_every_binary_column_is_encrypted() -> None:
    """A new column of bytes is encrypted, and so rotated, unless someone decides otherwise
    here: `Store.rotate_keys` re-encrypts exactly the `Encrypted` columns."""
    binary = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, LargeBinary)
        or isinstance(getattr(column.type, "impl", None), LargeBinary)
    ]
    encrypted = [
        f"{table.name}.{column.name}"
        for table, columns in encrypted_columns()
        for column in columns
    ]
    assert binary == encrypted
    assert "leads.owner" in encrypted  # the walk finds what the hand-written list forgot
    assert "meta.value" in encrypted


async def test_many_chats_held_at_once_never_exhaust_the_connections(store: Store) -> None:
    """Each held chat needs a connection for its lock and another for its turn: more chats at
    once than the pool holds must queue, not wait for each other's connections forever."""

    async def turn(number: int) -> None:
        chat_key = f"crowd-{number}"
        async with store.chat_guard(chat_key):
            async with store.unit() as unit:
                await unit.lock_chat(chat_key)
                await unit.save_chat(chat_key, state="{}", outbox=None, draft_expires_at=None)
            await asyncio.sleep(0.05)  # the replies on their way, the chat still held

    async with asyncio.timeout(20):  # the pool's own timeout is 30 s: a deadlock fails here
        await asyncio.gather(*(turn(number) for number in range(100)))
    async with store.unit() as unit:
        assert (await unit.lock_chat("crowd-99")).state is not None


async def test_instances_opening_a_new_database_at_once_all_start_and_agree_on_names() -> None:
    """Two instances started together on a new PostgreSQL database both kept their own key
    for naming people; one failed on the duplicate and exited."""
    url = await empty_postgresql()
    await migrated(url)
    stores = await asyncio.gather(*(Store.open(url, Vault(TEST_SECRET)) for _ in range(4)))
    try:
        assert len({store.vault.identifier("user:5550001") for store in stores}) == 1
    finally:
        for store in stores:
            await store.close()
