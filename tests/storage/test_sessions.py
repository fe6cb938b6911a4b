"""The SQLite sessions: the inline writer never waits for another process's lock, and deleted
rows leave nothing the data key opens in the database file or its write-ahead log."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.records import Lead
from bot.storage.crypto import Vault
from bot.storage.sessions import InlineSessions, WriteLockedError
from bot.storage.store import Store, database_unavailable
from tests.auxil.conversations import openable_in_files
from tests.conftest import TEST_SECRET

LEAD = Lead(
    reference="C-000000",
    language="en",
    name="Nobody Yet",
    phone=None,
    email=None,
    preferred_time="morning",
    voicemail_ok=True,
    topic="asylum",
    urgent=False,
)
LOOP_TICK_SECONDS = 0.02


@contextlib.contextmanager
def write_lock_held(database: Path) -> Iterator[None]:
    """Another connection holds the file's write lock, as `sqlite3` or a backup would."""
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


async def _book(store: Store, user_key: str, reference: str, name: str) -> None:
    lead = replace(LEAD, reference=reference, name=name, phone=f"+1213555{reference[-4:]}")
    async with store.unit() as unit:
        await unit.save_lead(lead, user_key=user_key, update=False, notify_chat_ids=(-100,))


async def test_a_forgotten_person_between_others_leaves_nothing_the_key_opens(
    store: Store, tmp_path: Path
) -> None:
    await _book(store, "before", "C-000001", "Alma Antes")
    await _book(store, "forgotten", "C-000002", "Rosa Olvida")
    await _book(store, "after", "C-000003", "Bruno Despues")
    vault = Vault(TEST_SECRET)
    assert any(b"Rosa Olvida" in value for value in openable_in_files(tmp_path, vault))
    async with store.unit() as unit:
        await unit.forget("chat-of-forgotten", "forgotten")
    opened = openable_in_files(tmp_path, vault)
    assert not any(b"Rosa Olvida" in value or b"0002" in value for value in opened)
    assert any(b"Alma Antes" in value for value in opened)
    assert any(b"Bruno Despues" in value for value in opened)


async def test_a_write_under_another_process_s_lock_fails_soon_without_holding_the_loop(
    store: Store, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(LOOP_TICK_SECONDS)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        with write_lock_held(database):
            started = asyncio.get_running_loop().time()
            with pytest.raises(WriteLockedError) as refused:
                await _book(store, "waiting", "C-000004", "Paciente Espera")
            waited = asyncio.get_running_loop().time() - started
            assert waited < 1.5  # a moment's patience, then a temporary problem
            assert ticks >= 10  # the loop went on meanwhile
            assert database_unavailable(refused.value)
            assert not await store.healthy()
            # While the file stays locked, the next writer does not wait at all.
            ticks_before = ticks
            with pytest.raises(WriteLockedError):
                await _book(store, "waiting", "C-000005", "Paciente Espera")
            assert ticks - ticks_before <= 2
        await _book(store, "waiting", "C-000004", "Paciente Espera")
        assert await store.healthy()
    finally:
        ticker.cancel()
    assert any(
        b"Paciente Espera" in value for value in openable_in_files(tmp_path, Vault(TEST_SECRET))
    )


async def test_the_inline_writer_says_at_once_that_the_file_is_locked(
    store: Store, tmp_path: Path
) -> None:
    inline = store._inline
    assert isinstance(inline, InlineSessions)
    assert inline.can_write()
    with write_lock_held(tmp_path / "bot.sqlite3"):
        assert not inline.can_write()
    assert inline.can_write()
