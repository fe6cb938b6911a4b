"""Alembic migrations: every step up and down, data kept through an upgrade, the models in
step with the migrations, and a database behind the code refused at start."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from bot.storage.crypto import Vault
from bot.storage.migrations import alembic_config, downgrade, head_revision, schema_status, upgrade
from bot.storage.sessions import create_engine
from bot.storage.store import Base, SchemaError, Store
from tests.auxil.databases import empty_postgresql
from tests.conftest import FAQ_DIR, PROJECT_ROOT, TEST_SECRET

OLD_KEY = "old-key-0123456789-abcdefghijklmnopq"
NEW_KEY = "new-key-0123456789-abcdefghijklmnopq"
REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
    else:
        yield await empty_postgresql()


async def test_stairway_every_migration_up_and_down(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert (await schema_status(engine)).empty
        previous = "base"
        for revision in REVISIONS:
            await upgrade(engine, revision)
            await downgrade(engine, previous)
            await upgrade(engine, revision)
            assert (await schema_status(engine)).revision == revision
            previous = revision
        assert (await schema_status(engine)).current
    finally:
        await engine.dispose()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [
        difference
        for difference in compare_metadata(context, Base.metadata)
        if not (isinstance(difference, tuple) and difference[0] == "remove_table")
        or difference[1].name != "alembic_version"
    ]


async def test_the_models_match_the_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_data_of_the_first_schema_survives_the_upgrade(database_url: str) -> None:
    vault = Vault(TEST_SECRET)
    engine = create_engine(database_url)
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    try:
        await upgrade(engine, REVISIONS[0])
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO leads (reference, user_key, language, name, phone, email, topic,"
                    " preferred_time, voicemail_ok, urgent, created_at, updated_at) VALUES"
                    " ('C-OLD001', 'user-old', 'es', :name, :phone, NULL, :topic, 'morning',"
                    " :yes, :no, :now, :now)"
                ),
                {
                    "name": vault.encrypt("Rosa Antigua"),
                    "phone": vault.encrypt("+12135550147"),
                    "topic": vault.encrypt("old topic"),
                    "yes": True,
                    "no": False,
                    "now": now,
                },
            )
            for outcome in ("answer", "answer", "fallback"):
                await connection.execute(
                    text(
                        "INSERT INTO question_stats (outcome, language, created_at)"
                        " VALUES (:outcome, 'es', :now)"
                    ),
                    {"outcome": outcome, "now": now},
                )
        await upgrade(engine)
    finally:
        await engine.dispose()
    store = await Store.open(database_url, vault)
    try:
        (lead,) = await store.all_leads()
        assert (lead.reference, lead.name, lead.phone, lead.topic) == (
            "C-OLD001",
            "Rosa Antigua",
            "+12135550147",
            "old topic",
        )
        stats = await store.stats()
        assert stats.by_outcome == {"answer": 2, "fallback": 1}
        assert stats.by_language == {"es": 3}
    finally:
        await store.close()


async def test_a_plain_value_of_meta_moves_out_and_the_database_can_be_rotated(
    database_url: str,
) -> None:
    """Before 0004 the open digest wrote its day to `meta` as plain text, beside the encrypted
    identifier key; `keys rotate` stopped at it."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0003")
        old = await Store.open(database_url, Vault(OLD_KEY), check_schema=False)
        await old.close()  # it kept the identifier key, encrypted
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO meta (key, value) VALUES ('open_digest_day', :day)"),
                {"day": b"2026-11-20"},
            )
        await upgrade(engine)
    finally:
        await engine.dispose()
    both = await Store.open(database_url, Vault(f"{NEW_KEY},{OLD_KEY}"))
    try:
        assert await both.rotate_keys() == 1
    finally:
        await both.close()
    newest_only = await Store.open(database_url, Vault(NEW_KEY))
    try:
        assert await newest_only.read_meta("open_digest_day") == "2026-11-20"
    finally:
        await newest_only.close()
    engine = create_engine(database_url)
    try:
        await downgrade(engine, "0003")
        async with engine.connect() as connection:
            kept = await connection.scalar(
                text("SELECT value FROM meta WHERE key = 'open_digest_day'")
            )
        assert bytes(kept) == b"2026-11-20"
    finally:
        await engine.dispose()


async def test_a_database_made_before_migrations_is_recognised(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    try:
        await upgrade(engine, REVISIONS[0])
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE alembic_version"))
        status = await schema_status(engine)
        assert (status.revision, status.current) == (None, False)
        await upgrade(engine)
        assert (await schema_status(engine)).revision == head_revision()
    finally:
        await engine.dispose()


async def test_a_store_refuses_a_database_behind_the_code(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, REVISIONS[0])
    await engine.dispose()
    with pytest.raises(SchemaError, match="python -m bot db upgrade"):
        await Store.open(url, Vault(TEST_SECRET))


def _cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BOT_DATA_KEY": TEST_SECRET,
        "FAQ_DIR": str(FAQ_DIR),
        "TELEGRAM_BOT_TOKEN": "123456:not-used",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_run_refuses_a_database_behind_and_db_upgrade_brings_it_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, REVISIONS[0])
    await engine.dispose()
    refused = _cli("run", database_url=url)
    assert refused.returncode == 2
    assert "python -m bot db upgrade" in refused.stderr
    assert "Traceback" not in refused.stderr
    upgraded = _cli("db", "upgrade", database_url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"0001 -> {head_revision()}" in upgraded.stdout


async def test_a_new_sqlite_database_is_created_by_the_first_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}"
    chat = subprocess.run(  # noqa: ASYNC221 - the bot runs first, then its database is read
        [sys.executable, "-m", "bot", "chat"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url, "BOT_DATA_KEY": TEST_SECRET},
        input="hola\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert chat.returncode == 0, chat.stderr
    engine = create_engine(url)
    try:
        assert (await schema_status(engine)).current
    finally:
        await engine.dispose()
