"""Load: simulated users through the fake Bot API, faqbot against a bare bot in the same run.

Run: `python benchmarks/load.py` (from the project root, after installing the project with its
test extra). Options: `--users 200`, `--latency 5 20` (the fake's latency range in ms),
`--flood` (emulate Telegram's flood limits), `--postgres` (also two faqbot instances in webhook
mode on one PostgreSQL database, TEST_DATABASE_URL or the local server).

Each user asks three questions, then books a consultation (six more updates: /book, consent,
phone, name, voicemail, confirm), waiting for the
bot's replies and `--think` seconds (default 1) before the next message, as a person would:
Telegram allows about one message a second per chat, so the bot paces its replies to one
person, and users who answer faster than that measure the pacing, not the bot. Each bot runs
as its own process (`python -m bot run` on SQLite, `benchmarks/bare_bot.py`); the fake Bot
API and the users run in this one. Printed per bot: updates handled per second, reply latency
p50/p99, Bot API calls per update, the bot's CPU time per update (start-up excluded), its peak
memory, the updates and Bot API calls of one booking (from /book to the confirmation: the
replies and button answers in the person's chat, and the staff chat's messages shared out over
the bookings), whether every lead reached the staff chat exactly once and how long after the last
user the staff had the last one (a group takes 20 messages a minute); then faqbot's ratios to
the bare bot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.matching.evaluation import percentile  # noqa: E402
from tests.auxil.fake_bot_api import Conditions, FakeBotApi, SentMessage  # noqa: E402
from tests.auxil.telegram_users import (  # noqa: E402
    TelegramUser,
    make_callback_update,
    make_text_update,
)

DATA_KEY = "load-benchmark-key-0123456789-abcdefghij"
STAFF = -100999
STAFF_WAIT_SECONDS = 300
SECRET = "load-benchmark-webhook-secret"  # noqa: S105 - a test value
# (kind, what, how many replies the step gets)
SCRIPT = [
    ("text", "sb54?", 1),
    ("text", "can the LAPD help ICE?", 1),
    ("text", "who reported this?", 1),
    ("text", "/book", 1),
    ("press", "b:consent:yes", 1),
    ("text", "(213) 555-0147", 1),
    ("text", "NAME", 1),
    ("press", "b:voicemail:yes", 1),
    ("press", "b:confirm:yes", 1),
]
BOOKING_STARTS = next(n for n, (_, what, _) in enumerate(SCRIPT) if what == "/book")
_NOT_REPLIES = frozenset(
    {"getUpdates", "getMe", "setMyCommands", "deleteWebhook", "setWebhook", "getWebhookInfo"}
)
_REFERENCE = re.compile(r"C-[A-Z0-9]{6}")


@dataclass
class Result:
    """What one run measured."""

    name: str
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    api_calls: int = 0
    peak_memory_mb: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    staff_seconds: float = 0.0
    leads_once: bool = False
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    booking_calls: int = 0
    bookings: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        memory = " + ".join(f"{value:.0f}" for value in self.peak_memory_mb)
        return (
            f"{self.name:<28} {self.rate:8.1f} updates/s   latency p50 "
            f"{statistics.median(self.latencies) * 1000:7.1f} ms p99 "
            f"{percentile(self.latencies, 99) * 1000:7.1f} ms   "
            f"{self.api_calls / max(self.updates, 1):.2f} Bot API calls/update   "
            f"{self.cpu_seconds * 1000 / max(self.updates, 1):.2f} ms CPU/update   peak memory "
            f"{memory} MB   every lead to staff once: {'yes' if self.leads_once else 'NO'} "
            f"(the last {self.staff_seconds:.0f} s after the last user)"
            + (f"   users failed: {self.failures}" if self.failures else "")
            + f"\n{'':<28} per booking: {len(SCRIPT) - BOOKING_STARTS} updates, "
            f"{self.booking_calls / max(self.bookings, 1):.2f} Bot API calls"
        )


def _peak_memory_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    high_water = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(high_water.split()[1]) / 1024


async def _user(
    api: FakeBotApi,
    user: TelegramUser,
    latencies: list[float],
    think: float,
    booking_from: dict[int, int],
) -> str | None:
    """One person's conversation; returns the reference of their request."""
    received = 0
    last: SentMessage | None = None
    for step, (kind, what, replies) in enumerate(SCRIPT):
        if step == BOOKING_STARTS:
            booking_from[user.id] = len(api.calls)
        if last is not None:
            await asyncio.sleep(think)  # reading the reply before answering
        if kind == "text":
            text = f"User {user.first_name}" if what == "NAME" else what
            update = make_text_update(user, api.next_message_id(), text)
        else:
            if last is None or what not in [data for _, data in last.buttons]:
                raise RuntimeError(f"no button {what} under the last reply")
            update = make_callback_update(user, last, what, f"q{api.next_message_id()}")
        started = time.monotonic()
        await api.push(update)
        messages = await api.wait_for_messages(user.id, replies, after=received, timeout=300)
        latencies.append(time.monotonic() - started)
        received += len(messages)
        last = messages[-1]
    found = _REFERENCE.search(last.text) if last else None
    return found.group(0) if found else None


async def _drive(api: FakeBotApi, users: int, result: Result, think: float) -> None:
    people = [TelegramUser(6_000_000 + n, f"{n}", "en") for n in range(users)]
    calls_before = sum(1 for method, _ in api.calls if method not in _NOT_REPLIES)
    started = time.monotonic()
    booking_from: dict[int, int] = {}
    outcomes = await asyncio.gather(
        *(_user(api, person, result.latencies, think, booking_from) for person in people),
        return_exceptions=True,
    )
    result.seconds = time.monotonic() - started
    result.updates = len(people) * len(SCRIPT)
    references = [outcome for outcome in outcomes if isinstance(outcome, str)]
    result.failures = len(people) - len(references)
    result.errors = [repr(outcome)[:300] for outcome in outcomes if not isinstance(outcome, str)]
    # The staff notifications follow the confirmations; a group takes 20 messages a minute, so
    # faqbot gathers waiting leads into digests, and the last ones may take a while.
    deadline = time.monotonic() + STAFF_WAIT_SECONDS
    while time.monotonic() < deadline:
        staff = "\n".join(message.text for message in api.messages_to(STAFF))
        if all(reference in staff for reference in references):
            break
        await asyncio.sleep(0.1)
    result.staff_seconds = time.monotonic() - started - result.seconds
    await asyncio.sleep(1.0)
    staff = "\n".join(message.text for message in api.messages_to(STAFF))
    result.leads_once = bool(references) and all(
        staff.count(reference) == 1 for reference in references
    )
    result.api_calls = (
        sum(1 for method, _ in api.calls if method not in _NOT_REPLIES) - calls_before
    )
    result.bookings = len(references)
    result.booking_calls = _booking_calls(api, booking_from, calls_before)


def _booking_calls(api: FakeBotApi, booking_from: dict[int, int], calls_before: int) -> int:
    """The Bot API calls of the bookings: those in each person's chat from their /book on,
    every answer to a button press (each press of the script is a booking's), and every call
    to the staff chat."""
    total = 0
    for index, (method, params) in enumerate(api.calls[calls_before:], calls_before):
        if method in _NOT_REPLIES:
            continue
        chat = params.get("chat_id")
        if method == "answerCallbackQuery" or (chat is not None and int(chat) == STAFF):
            total += 1
        elif chat is not None and int(chat) in booking_from:
            total += index >= booking_from[int(chat)]
    return total


def _environment(api: FakeBotApi, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "BOT_ADMIN_CHAT_IDS": str(STAFF),
        "BOT_DATA_KEY": DATA_KEY,
        "FAQ_DIR": str(ROOT / "faq"),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


async def _start(
    command: list[str], environment: dict[str, str], log: Path
) -> asyncio.subprocess.Process:
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=environment, stdout=output, stderr=output
        )


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (start-up included)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _stop(process: asyncio.subprocess.Process, result: Result) -> None:
    if process.returncode is None:
        result.peak_memory_mb.append(_peak_memory_mb(process.pid))
        result.cpu_seconds += _cpu_seconds(process.pid)
    process.terminate()
    await asyncio.wait_for(process.wait(), timeout=60)


async def _polling_run(
    name: str,
    command: list[str],
    extra: dict[str, str],
    users: int,
    think: float,
    conditions: Conditions,
    folder: Path,
) -> Result:
    api = FakeBotApi(conditions=conditions)
    await api.start()
    result = Result(name)
    process = await _start(command, _environment(api, **extra), folder / f"{name}.log")
    try:
        while not any(method == "getUpdates" for method, _ in api.calls):
            if process.returncode is not None:
                raise RuntimeError(f"{name} stopped: see {folder / f'{name}.log'}")
            await asyncio.sleep(0.05)
        result.cpu_seconds -= _cpu_seconds(process.pid)  # start-up is not counted
        await _drive(api, users, result, think)
    finally:
        await _stop(process, result)
        await api.stop()
    return result


async def _two_instances_on_postgresql(
    users: int, think: float, conditions: Conditions, folder: Path
) -> Result:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    from sqlalchemy import text

    from bot.storage.sessions import create_engine

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    api = FakeBotApi(conditions=conditions)
    await api.start()
    subprocess.run(  # noqa: ASYNC221 - once, before the instances start
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=ROOT,
        env=_environment(api, DATABASE_URL=url),
        check=True,
        capture_output=True,
    )
    ports = [_free_port(), _free_port()]
    api.webhook_targets = [f"http://127.0.0.1:{port}/telegram" for port in ports]
    result = Result("faqbot, 2 instances, PostgreSQL")
    processes = [
        await _start(
            [sys.executable, "-m", "bot", "run"],
            _environment(
                api,
                DATABASE_URL=url,
                WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                WEBHOOK_SECRET=SECRET,
                WEBHOOK_PORT=str(port),
                **_limits(conditions.flood_limits),
            ),
            folder / f"postgresql-{port}.log",
        )
        for port in ports
    ]
    try:
        async with httpx.AsyncClient() as client:
            for port in ports:
                for _ in range(600):
                    try:
                        if (
                            await client.get(f"http://127.0.0.1:{port}/healthz")
                        ).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
        result.cpu_seconds -= sum(_cpu_seconds(process.pid) for process in processes)
        await _drive(api, users, result, think)
    finally:
        for process in processes:
            await _stop(process, result)
        await api.stop()
    return result


def _limits(flood: bool) -> dict[str, str]:
    """faqbot keeps to Telegram's 30 messages a second; without --flood the fake Bot API has no
    such limit, and neither has the bare bot, so faqbot is measured without it as well."""
    return {} if flood else {"TELEGRAM_MESSAGES_PER_SECOND": "0"}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def main(arguments: argparse.Namespace) -> None:
    conditions = Conditions(
        latency=(arguments.latency[0] / 1000, arguments.latency[1] / 1000),
        flood_limits=arguments.flood,
    )
    print(
        f"{arguments.users} users x {len(SCRIPT)} updates, {arguments.think} s between a reply "
        f"and the next message; fake Bot API latency "
        f"{arguments.latency[0]}-{arguments.latency[1]} ms; flood limits "
        f"{'on' if arguments.flood else 'off'}"
    )
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        bare = await _polling_run(
            "bare python-telegram-bot",
            [sys.executable, str(ROOT / "benchmarks" / "bare_bot.py")],
            {"BARE_RATE_LIMITER": "1"} if arguments.flood else {},
            arguments.users,
            arguments.think,
            conditions,
            folder,
        )
        print(bare.line())
        faqbot = await _polling_run(
            "faqbot, SQLite",
            [sys.executable, "-m", "bot", "run"],
            {
                "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'load.sqlite3'}",
                **_limits(arguments.flood),
            },
            arguments.users,
            arguments.think,
            conditions,
            folder,
        )
        print(faqbot.line())
        print(
            f"faqbot / bare: updates per second {faqbot.rate / bare.rate:.2f}, median latency "
            f"{statistics.median(faqbot.latencies) / statistics.median(bare.latencies):.2f}"
        )
        if arguments.postgres:
            two = await _two_instances_on_postgresql(
                arguments.users, arguments.think, conditions, folder
            )
            print(two.line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--latency", type=float, nargs=2, default=(5.0, 20.0), metavar=("MIN", "MAX")
    )
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="seconds a user takes to read a reply before the next message (default 1)",
    )
    parser.add_argument("--flood", action="store_true", help="emulate Telegram's flood limits")
    parser.add_argument("--postgres", action="store_true", help="also two instances on PostgreSQL")
    arguments = parser.parse_args()
    try:  # the simulated users and the fake Bot API share one process: spare it what we can
        import uvloop
    except ImportError:
        asyncio.run(main(arguments))
    else:
        uvloop.run(main(arguments))
