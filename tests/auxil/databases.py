"""The test databases: PostgreSQL from TEST_DATABASE_URL (never skipped in CI), emptied for a
test, and the request the storage tests save."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.records import Lead

LEAD = Lead(
    reference="C-000000",
    language="es",
    name="Rosa Contract",
    phone="+12135550147",
    email=None,
    preferred_time="morning",
    voicemail_ok=True,
    topic="contract topic",
    urgent=False,
)


def _postgresql_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("TEST_DATABASE_URL must be set in CI: PostgreSQL tests may not be skipped")
        pytest.skip("TEST_DATABASE_URL is not set")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    return url


async def empty_postgresql() -> str:
    """The test PostgreSQL database, emptied."""
    url = _postgresql_url()
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return url
