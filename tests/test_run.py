"""`python -m bot run` as an operator starts it: a real process, polling or by webhook, against
the fake Bot API server, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest

from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import DATA_KEY
from tests.auxil.processes import start_bot
from tests.auxil.telegram_users import BEN, make_text_update
from tests.conftest import FAQ_DIR

STAFF = "-100555"


def _environment(api: FakeBotApi, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.sqlite3'}",
        "BOT_DATA_KEY": DATA_KEY,
        "BOT_ADMIN_CHAT_IDS": STAFF,
        "FAQ_DIR": str(FAQ_DIR),
        **extra,
    }


async def _start(environment: dict[str, str]) -> asyncio.subprocess.Process:
    return await start_bot(environment)


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


async def test_run_polls_answers_and_stops_on_sigterm(api: FakeBotApi, tmp_path: Path) -> None:
    process = await _start(_environment(api, tmp_path))
    try:
        await api.push(make_text_update(BEN, api.next_message_id(), "can lapd help ICE?"))
        (reply,) = await api.wait_for_messages(BEN.id, 1, timeout=60)
        assert reply.text.startswith("The article says")
    finally:
        log = await _stop(process)
    assert "Application started" in log
    assert api.token not in log
    assert "can lapd help" not in log
    assert {"en", "es", ""} <= set(api.commands)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_by_webhook(api: FakeBotApi, tmp_path: Path) -> None:
    port = _free_port()
    secret = "webhook-secret-123"
    environment = _environment(
        api,
        tmp_path,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram-hook",
        WEBHOOK_SECRET=secret,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    process = await _start(environment)
    try:
        for _ in range(600):
            if api.webhook is not None:
                break
            await asyncio.sleep(0.05)
        assert api.webhook is not None
        assert api.webhook["url"] == f"http://127.0.0.1:{port}/telegram-hook"
        update = {"update_id": 1, **make_text_update(BEN, api.next_message_id(), "/start")}
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    forged = await client.post(
                        f"http://127.0.0.1:{port}/telegram-hook",
                        content=json.dumps(update),
                        headers={"Content-Type": "application/json"},
                    )
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert forged.status_code == 403  # no secret: refused
            accepted = await client.post(
                f"http://127.0.0.1:{port}/telegram-hook",
                content=json.dumps(update),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": secret,
                },
            )
            assert accepted.status_code == 200
        (reply,) = await api.wait_for_messages(BEN.id, 1, timeout=30)
        assert reply.text.startswith("Hi! I am the automated assistant")
    finally:
        await _stop(process)
    assert [call for call, _ in api.calls].count("getUpdates") == 0


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_issue_e_run_with_telegram_unreachable_says_so_in_one_line_and_exits_2(
    api: FakeBotApi, tmp_path: Path, mode: str
) -> None:
    closed = _free_port()
    webhook: dict[str, str] = {}
    if mode == "webhook":
        port = _free_port()
        webhook = {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram-hook",
            "WEBHOOK_SECRET": "webhook-secret-123",
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
    environment = _environment(
        api, tmp_path, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{closed}/bot", **webhook
    )
    process = await _start(environment)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = stderr.decode()
    assert process.returncode == 2, log
    assert "Traceback" not in log
    (reason,) = [line for line in log.splitlines() if line.startswith("Cannot start")]
    assert "Telegram" in reason
    assert api.token not in log
