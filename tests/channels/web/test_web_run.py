"""`python -m bot web`, and `python -m bot run` with WEB_PORT, as an operator starts them: real
processes, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from bot.faq.loader import load_knowledge
from tests.auxil.fake_bot_api import FakeBotApi
from tests.auxil.harness import DATA_KEY, free_port
from tests.conftest import FAQ_DIR, PROJECT_ROOT

# The answer to "can lapd help ICE?", as the FAQ gives it.
_POLICE_ANSWER = load_knowledge(FAQ_DIR).answer("police-and-deportations", "en")


async def _start(command: str, environment: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


async def _chat_answers(url: str) -> str:
    """Wait for the chat at `url`, ask it one question; return the answer's text."""
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(300):
            try:
                health = await client.get(f"{url}/healthz")
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        page = await client.get(f"{url}/chat")
        assert page.status_code == 200
        assert "Quick exit" in page.text
        opened = await client.post(f"{url}/chat/api/session", json={"lang": "en"})
        token = opened.json()["token"]
        answer = await client.post(
            f"{url}/chat/api/turn",
            json={"client_msg_id": "1", "text": "can lapd help ICE?"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        metrics = await client.get(f"{url}/metrics")
        assert metrics.status_code == 200
        return str(answer.json()["replies"][0]["text"])


async def test_web_serves_the_chat_alone_without_a_telegram_token(tmp_path: Path) -> None:
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TELEGRAM")
    }
    environment |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}",
        "FAQ_DIR": str(FAQ_DIR),
        "WEB_PORT": str(port),
    }
    process = await _start("web", environment)
    try:
        text = await _chat_answers(f"http://127.0.0.1:{port}")
    finally:
        log = await _stop(process)
    assert text.startswith(_POLICE_ANSWER)
    assert "can lapd help" not in log


def _run_environment(api: FakeBotApi, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.sqlite3'}",
        "BOT_DATA_KEY": DATA_KEY,
        "FAQ_DIR": str(FAQ_DIR),
        **extra,
    }


async def test_run_serves_the_chat_beside_telegram_when_web_port_is_set(
    api: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    process = await _start("run", _run_environment(api, tmp_path, WEB_PORT=str(port)))
    try:
        text = await _chat_answers(f"http://127.0.0.1:{port}")
    finally:
        await _stop(process)
    assert text.startswith(_POLICE_ANSWER)


async def test_run_by_webhook_serves_the_chat_on_the_webhook_s_server(
    api: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    environment = _run_environment(
        api,
        tmp_path,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram-hook",
        WEBHOOK_SECRET="webhook-secret-123",
        WEBHOOK_PORT=str(port),
        WEB_PORT=str(free_port()),
    )
    process = await _start("run", environment)
    try:
        text = await _chat_answers(f"http://127.0.0.1:{port}")
    finally:
        await _stop(process)
    assert text.startswith(_POLICE_ANSWER)
