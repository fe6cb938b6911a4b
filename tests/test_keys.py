"""Several data keys: rotation re-encrypts everything under the newest; a wrong key fails
closed."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.crypto import DataKeyError, Vault, looks_encrypted
from bot.records import Lead
from bot.storage import Store
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
