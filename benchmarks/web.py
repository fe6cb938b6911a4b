"""The web chat's turns under 200 concurrent visitors, beside a bare Starlette endpoint that
returns a canned reply, measured in the same run on the same machine.

Each server runs in a process of its own (uvicorn, one worker); the visitors run here, over
real HTTP (one keep-alive connection each). Each visitor opens a session, then sends its
turns one after another (a person waits for the answer before writing again). faqbot's turns
go through the whole stack: the token's lookup, the chat held across processes, the retry
check, the matcher, the dialogue, the encrypted state and transcript written in one
transaction. The bare endpoint does none of it.

    python benchmarks/web.py [--visitors 200] [--turns 20] [--database-url URL]

SQLite in a temporary folder by default; pass a PostgreSQL URL (an empty database brought up to
date with `python -m bot db upgrade`) to measure that instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ARRIVAL_SECONDS = 1.0
SCRIPT = str(Path(__file__).resolve())
ROOT = Path(SCRIPT).parent.parent
QUESTIONS = [
    "Is Los Angeles a sanctuary city?",
    "¿La policía de Los Ángeles ayuda a ICE?",
    "what is SB 54",
    "can the city share my information with ICE",
    "when was the law approved",
    "¿Qué es una ciudad santuario?",
]
CANNED = {
    "replies": [
        {
            "seq": 2,
            "text": "A canned answer of about the length of a real one. " * 6,
            "buttons": [],
            "lang": "en",
        }
    ]
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve_bare(port: int) -> None:
    """A bare Starlette app: a session route and a turn route returning a canned reply."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def session(_request: Request) -> JSONResponse:
        return JSONResponse({"token": "t" * 43, "expires_in": 1800}, status_code=201)

    async def turn(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(CANNED)

    app = Starlette(
        routes=[
            Route("/chat/api/session", session, methods=["POST"]),
            Route("/chat/api/turn", turn, methods=["POST"]),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_faqbot(port: int, database_url: str) -> None:
    """faqbot's web host, as `python -m bot web` runs it, with limits above the load's (the
    visitors all come from 127.0.0.1)."""
    from bot.channels.web import WebChannel, WebLimits
    from bot.channels.web.serve import build_web_host
    from bot.host.runtime import prepare
    from bot.logs import configure_logging
    from bot.settings import Settings

    configure_logging(logging.WARNING)
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        web_port=port,
        bot_data_key="benchmark-key-0123456789-abcdefghijkl",
        faq_dir=ROOT / "faq",
    )
    channel = WebChannel(
        settings,
        limits=WebLimits(
            session_turns=10_000, address_requests=10_000_000, window=timedelta(minutes=1)
        ),
    )
    host = build_web_host(settings, prepare(settings), channel)

    async def main() -> None:
        await host.open()
        try:
            await asyncio.Event().wait()
        finally:
            await host.close()

    asyncio.run(main())


async def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60.0
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.post(f"{url}/chat/api/session", json={"lang": "en"})
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


class Connection:
    """One visitor's keep-alive HTTP/1.1 connection, on bare asyncio streams: a client this
    thin costs little beside the servers measured (httpx alone tops out near their figures)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: dict[str, Any], token: str = "") -> tuple[int, Any]:
        """POST `body` as JSON; (status, the JSON answer)."""
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            + (f"Authorization: Bearer {token}\r\n" if token else "")
            + "\r\n"
        )
        self._writer.write(head.encode() + payload)
        await self._writer.drain()
        status_line = await self._reader.readline()
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        answer = await self._reader.readexactly(length)
        return int(status_line.split()[1]), json.loads(answer)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def load(port: int, visitors: int, turns: int) -> tuple[float, list[float], int]:
    """(seconds, each turn's latency, failures) of `visitors` each sending `turns` turns."""
    latencies: list[float] = []
    failures = 0

    async def visitor(number: int) -> None:
        nonlocal failures
        # Visitors arrive over a second, not in one burst of connections.
        await asyncio.sleep(number * ARRIVAL_SECONDS / visitors)
        connection = await Connection.open(port)
        try:
            _, opened = await connection.post("/chat/api/session", {"lang": "en"})
            for turn in range(turns):
                question = QUESTIONS[(number + turn) % len(QUESTIONS)]
                body = {"client_msg_id": f"v{number}-{turn}", "text": question}
                started = time.perf_counter()
                status, answer = await connection.post("/chat/api/turn", body, opened["token"])
                latencies.append(time.perf_counter() - started)
                if status != 200 or not answer["replies"]:
                    failures += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(visitor(number) for number in range(visitors)))
    return time.perf_counter() - started, latencies, failures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def start_server(command: list[str]) -> subprocess.Popen[bytes]:
    """A server process running this script with `command`."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, SCRIPT, *command], cwd=ROOT, env=environment)  # noqa: S603


async def measure(name: str, command: list[str], port: int, visitors: int, turns: int) -> str:
    server = start_server(command)
    try:
        await wait_up(f"http://127.0.0.1:{port}")
        await load(port, 20, 2)  # warm up
        seconds, latencies, failures = await load(port, visitors, turns)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rate = len(latencies) / seconds
    p50 = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    return (
        f"{name:<30} {rate:7.0f} turns/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"
        f"   failures {failures}"
    )


async def compare(visitors: int, turns: int, database_url: str) -> None:
    """Measure the bare endpoint, then faqbot's web chat, and print both."""
    bare_port, faqbot_port = free_port(), free_port()
    backend = database_url.split(":")[0]
    print(f"{visitors} concurrent visitors, {turns} turns each, {backend}")
    bare = ["--serve-bare", str(bare_port)]
    print(await measure("bare Starlette (canned reply)", bare, bare_port, visitors, turns))
    faqbot = ["--serve-faqbot", str(faqbot_port), "--database-url", database_url]
    print(await measure("faqbot web chat", faqbot, faqbot_port, visitors, turns))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-faqbot", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_bare:
        serve_bare(arguments.serve_bare)
    elif arguments.serve_faqbot:
        serve_faqbot(arguments.serve_faqbot, arguments.database_url)
    else:
        with tempfile.TemporaryDirectory() as folder:
            sqlite = f"sqlite+aiosqlite:///{Path(folder) / 'bot.sqlite3'}"
            asyncio.run(
                compare(arguments.visitors, arguments.turns, arguments.database_url or sqlite)
            )


if __name__ == "__main__":
    main()
