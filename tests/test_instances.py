"""Several bot processes behind a load balancer, sharing one PostgreSQL database.

Each instance is a real `python -m bot run` in webhook mode on its own port; the test plays
Telegram and the load balancer, posting each update to one instance or the other.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.auxil.databases import empty_postgresql
from tests.auxil.fake_bot_api import FakeBotApi, SentMessage
from tests.auxil.harness import DATA_KEY, WEBHOOK_SECRET, free_port
from tests.auxil.telegram_users import (
    ANA,
    BEN,
    LUIS,
    MARIA,
    TelegramUser,
    make_callback_update,
    make_staff_callback_update,
    make_staff_reply_update,
    make_text_update,
)
from tests.conftest import FAQ_DIR, PROJECT_ROOT

STAFF = -100321
PHONE = "(213) 555-0147"


@dataclass
class Instance:
    process: asyncio.subprocess.Process
    url: str


@dataclass
class Cluster:
    """Two instances, and the update ids Telegram would give."""

    api: FakeBotApi
    instances: list[Instance]
    ids: itertools.count[int]

    async def post(self, instance: Instance, update: dict[str, Any], update_id: int) -> None:
        body = json.dumps({"update_id": update_id, **update})
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with httpx.AsyncClient(timeout=60) as client:
            answered = await client.post(f"{instance.url}/telegram", content=body, headers=headers)
        assert answered.status_code == 200, answered.text

    async def say(self, instance: Instance, user: TelegramUser, text: str) -> SentMessage:
        before = len(self.api.messages_to(user.id))
        update = make_text_update(user, self.api.next_message_id(), text)
        await self.post(instance, update, next(self.ids))
        return (await self.api.wait_for_messages(user.id, 1, after=before))[-1]

    async def press(
        self, instance: Instance, user: TelegramUser, message: SentMessage, data: str
    ) -> SentMessage:
        assert data in [button for _, button in message.buttons], message.buttons
        before = len(self.api.messages_to(user.id))
        update = make_callback_update(user, message, data, f"q{next(self.ids)}")
        await self.post(instance, update, next(self.ids))
        return (await self.api.wait_for_messages(user.id, 1, after=before))[-1]


def _environment(api: FakeBotApi, database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "DATABASE_URL": database_url,
        "BOT_DATA_KEY": DATA_KEY,
        "BOT_ADMIN_CHAT_IDS": str(STAFF),
        "FAQ_DIR": str(FAQ_DIR),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_PORT": str(port),
    }


async def _healthy(instance: Instance) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if instance.process.returncode is not None:
                break
            try:
                if (await client.get(f"{instance.url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    ended = ""
    if instance.process.returncode is not None and instance.process.stderr is not None:
        ended = (await instance.process.stderr.read()).decode()[-3000:]
    raise AssertionError(f"{instance.url} never became healthy\n{ended}")


@pytest.fixture
async def cluster(api: FakeBotApi) -> AsyncIterator[Cluster]:
    database_url = await empty_postgresql()
    upgraded = subprocess.run(  # noqa: ASYNC221 - once, before the instances start
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "BOT_DATA_KEY": DATA_KEY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    instances = []
    for _ in range(2):
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=PROJECT_ROOT,
            env=_environment(api, database_url, port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        instances.append(Instance(process, f"http://127.0.0.1:{port}"))
    try:
        for instance in instances:
            await _healthy(instance)
        yield Cluster(api, instances, itertools.count(1))
    finally:
        # Every instance still running is stopped, even when another has already exited (a
        # stray instance on the test database would take the next test's work).
        for instance in instances:
            if instance.process.returncode is None:
                instance.process.send_signal(signal.SIGTERM)
        for instance in instances:
            _, stderr = await asyncio.wait_for(instance.process.communicate(), timeout=30)
            assert instance.process.returncode == 0, stderr.decode()


async def _book(cluster: Cluster, user: TelegramUser, name: str, first: int) -> str:
    """A whole booking, each update posted to the other instance than the one before."""
    alternate = itertools.cycle(cluster.instances[first:] + cluster.instances[:first])
    consent = await cluster.say(next(alternate), user, "/book")
    contact_prompt = await cluster.press(next(alternate), user, consent, "b:consent:yes")
    assert contact_prompt.asks_for_contact
    name_prompt = await cluster.say(next(alternate), user, PHONE)
    assert "name" in name_prompt.text.lower() or "nombre" in name_prompt.text.lower()
    voicemail = await cluster.say(next(alternate), user, name)
    summary = await cluster.press(next(alternate), user, voicemail, "b:voicemail:yes")
    assert name in summary.text
    booked = await cluster.press(next(alternate), user, summary, "b:confirm:yes")
    found = re.search(r"C-[A-Z0-9]{6}", booked.text)
    assert found, booked.text
    return found.group(0)


async def test_two_instances_behave_as_one_bot(cluster: Cluster) -> None:
    first, second = await asyncio.gather(
        _book(cluster, ANA, "Ana Cluster", 0), _book(cluster, BEN, "Ben Cluster", 1)
    )
    await cluster.api.wait_for_messages(STAFF, 1, timeout=30)
    for _ in range(100):  # both leads, alone or together in one digest
        staff = "\n".join(notice.text for notice in cluster.api.messages_to(STAFF))
        if first in staff and second in staff:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # nothing more arrives
    staff = "\n".join(notice.text for notice in cluster.api.messages_to(STAFF))
    assert staff.count(first) == 1
    assert staff.count(second) == 1
    for user in (ANA, BEN):
        texts = [message.text for message in cluster.api.messages_to(user.id)]
        # One reply per update of the six-action booking, none twice, no "OK." in between.
        assert len(texts) == 6
        assert len(set(texts)) == 6

    # The same update, delivered to both instances and again: one reply.
    before = len(cluster.api.messages_to(BEN.id))
    update = make_text_update(BEN, cluster.api.next_message_id(), "sb54?")
    update_id = next(cluster.ids)
    await asyncio.gather(
        *(cluster.post(instance, update, update_id) for instance in cluster.instances),
        cluster.post(cluster.instances[0], update, update_id),
    )
    await asyncio.sleep(0.5)
    assert len(cluster.api.messages_to(BEN.id)) == before + 1


async def test_the_staff_side_across_instances(cluster: Cluster) -> None:
    """On PostgreSQL, with each update going to either instance: two staff members take the
    same request at once (one wins), a reply reaches the person and theirs comes back, and
    /forget clears the staff chat."""
    reference = await _book(cluster, ANA, "Ana Instancias", 0)
    await cluster.api.wait_until(
        "the card", lambda: any(reference in m.text for m in cluster.api.messages_to(STAFF))
    )
    card = next(m for m in cluster.api.messages_to(STAFF) if reference in m.text)
    take = f"s:take:{reference}"
    presses = [
        cluster.post(
            instance,
            make_staff_callback_update(STAFF, member, card, take, f"race-{member.id}"),
            next(cluster.ids),
        )
        for instance, member in zip(cluster.instances, (MARIA, LUIS), strict=True)
    ]
    await asyncio.gather(*presses)
    toasts = [answer.get("text", "") for answer in cluster.api.callback_answers]
    assert sum(toast.startswith("It's yours") for toast in toasts) == 1, toasts
    assert sum("already has" in toast for toast in toasts) == 1, toasts
    await cluster.api.wait_until("the card shows its owner", lambda: "is handling it" in card.text)

    before = len(cluster.api.messages_to(ANA.id))
    reply = make_staff_reply_update(
        STAFF, MARIA, cluster.api.next_message_id(), "Le llamamos el lunes", card
    )
    await cluster.post(cluster.instances[1], reply, next(cluster.ids))
    (relayed,) = await cluster.api.wait_for_messages(ANA.id, 1, after=before)
    assert "Le llamamos el lunes" in relayed.text
    await cluster.say(cluster.instances[0], ANA, "El lunes me queda bien")
    await cluster.api.wait_until(
        "the answer in the staff chat",
        lambda: any("me queda bien" in m.text for m in cluster.api.messages_to(STAFF)),
    )

    confirm = await cluster.say(cluster.instances[1], ANA, "/forget")
    await cluster.press(cluster.instances[0], ANA, confirm, "b:forget:yes")
    await cluster.api.wait_until(
        "the staff chat cleared",
        lambda: (
            not any(
                detail in m.text
                for m in cluster.api.messages_to(STAFF)
                for detail in ("Ana Instancias", "0147", "me queda bien")
            )
        ),
        timeout=30,
    )
