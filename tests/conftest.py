"""Shared fixtures: the real FAQ, loaded once, and a clean environment for every test."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.dialogue import Dialogue
from bot.faq.knowledge import Knowledge
from bot.faq.loader import load_knowledge
from bot.host.turns import ChatService
from bot.matching.matcher import Matcher
from bot.storage.crypto import Vault
from bot.storage.migrations import upgrade
from bot.storage.sessions import create_engine
from bot.storage.store import Store
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import BotHarness, make_settings, sqlite_url
from tests.auxil.telegram_users import STAFF_CHAT_ID

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAQ_DIR = PROJECT_ROOT / "faq"


@pytest.fixture(autouse=True)
def _clean_environment() -> Iterator[None]:
    """Restore os.environ after each test, so no setting leaks into the next one."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return load_knowledge(FAQ_DIR)


@pytest.fixture(scope="session")
def matcher(knowledge: Knowledge) -> Matcher:
    return Matcher(knowledge)


@pytest.fixture(scope="session")
def dialogue(knowledge: Knowledge, matcher: Matcher) -> Dialogue:
    return Dialogue(knowledge, matcher)


@pytest.fixture
def faq_copy(tmp_path: Path) -> Path:
    """A writable copy of the real FAQ, for tests that break it on purpose."""
    target = tmp_path / "faq"
    shutil.copytree(FAQ_DIR, target)
    return target


TEST_SECRET = "unit-test-secret-0123456789-abcdefghij"
# The documented JSON object of `python -m bot ask --json`, keys in order (DESIGN.md).
ASK_JSON_KEYS = [
    "question",
    "language",
    "outcome",
    "entry_id",
    "score",
    "answer",
    "suggestions",
    "intent",
    "urgent",
]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """A fake Telegram Bot API server on 127.0.0.1, for end-to-end tests."""
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(api: FakeBotApi, tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[BotHarness]:
    """The bot, running against the fake Bot API, on SQLite, with one staff chat."""
    settings = make_settings(api, sqlite_url(tmp_path), bot_admin_chat_ids=(STAFF_CHAT_ID,))
    harness = BotHarness(api, settings, knowledge)
    await harness.start()
    yield harness
    await harness.stop()


async def migrated(url: str) -> None:
    """Bring the database at `url` to the current schema, as `python -m bot db upgrade` does."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A real SQLite database in a temporary folder, at the current schema."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    await migrated(url)
    opened = await Store.open(url, Vault(TEST_SECRET))
    yield opened
    await opened.close()


@pytest.fixture
def service(dialogue: Dialogue, store: Store, knowledge: Knowledge) -> ChatService:
    return ChatService(dialogue, store, admin_chat_ids=(-100,))
