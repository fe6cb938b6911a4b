"""The outbox worker, with the real store and a sender that records what it was given."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.knowledge import Knowledge
from bot.notifier import DeliveryRefused, Notifier
from bot.records import Lead
from bot.reports import LeadWriter
from bot.storage import Store

STAFF = (-1, -2)


class RecordingSender:
    """Stands in for Telegram: records texts, fails or refuses on request, can be slow."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.failures: dict[int, int] = {}
        self.refused: set[int] = set()
        self.delay = 0.0

    async def send(self, chat_id: int, text: str) -> None:
        await asyncio.sleep(self.delay)
        if chat_id in self.refused:
            raise DeliveryRefused("Forbidden")
        if self.failures.get(chat_id, 0) > 0:
            self.failures[chat_id] -= 1
            raise ConnectionError("network down")
        self.sent.append((chat_id, text))


async def _lead(store: Store, reference: str = "C-NOTIFY") -> None:
    async with store.unit() as unit:
        lead = Lead(
            reference=reference,
            language="en",
            name="Nora Notify",
            phone="+12135550147",
            email=None,
            preferred_time="any",
            voicemail_ok=False,
            topic="",
            urgent=True,
        )
        await unit.save_lead(lead, user_key="user", update=False, notify_chat_ids=STAFF)


def _notifier(store: Store, sender: RecordingSender, knowledge: Knowledge, clock) -> Notifier:
    writer = LeadWriter(knowledge, "America/Los_Angeles")
    return Notifier(store, sender, writer, clock=clock, first_retry=timedelta(seconds=10))


async def test_each_chat_gets_the_lead_once(store: Store, knowledge: Knowledge) -> None:
    sender = RecordingSender()
    notifier = _notifier(store, sender, knowledge, lambda: datetime.now(UTC))
    await _lead(store)
    assert await notifier.deliver_due() == 2
    assert await notifier.deliver_due() == 0
    assert sorted(chat for chat, _ in sender.sent) == sorted(STAFF)
    assert all(
        text.startswith("🚨 URGENT New consultation request C-NOTIFY") for _, text in sender.sent
    )
    assert all("+12135550147" in text and "Nora Notify" in text for _, text in sender.sent)


async def test_failures_wait_and_retry_refusals_stop(store: Store, knowledge: Knowledge) -> None:
    now = [datetime.now(UTC)]
    sender = RecordingSender()
    sender.failures[-1] = 2
    sender.refused.add(-2)
    notifier = _notifier(store, sender, knowledge, lambda: now[0])
    await _lead(store)
    now[0] += timedelta(seconds=1)
    assert await notifier.deliver_due() == 0  # -1 failed once, -2 refused for good
    assert await notifier.deliver_due() == 0  # nothing due before the pause
    now[0] += timedelta(seconds=11)
    assert await notifier.deliver_due() == 0  # second failure: the pause doubles
    now[0] += timedelta(seconds=11)
    assert await notifier.deliver_due() == 0
    now[0] += timedelta(seconds=10)
    assert await notifier.deliver_due() == 1
    assert [chat for chat, _ in sender.sent] == [-1]


async def test_stopping_records_the_notification_being_sent(
    store: Store, knowledge: Knowledge
) -> None:
    sender = RecordingSender()
    sender.delay = 0.3
    notifier = _notifier(store, sender, knowledge, lambda: datetime.now(UTC))
    await _lead(store)
    notifier.start()
    notifier.wake()
    await asyncio.sleep(0.1)  # the first notification is on its way
    await notifier.stop()
    assert len(sender.sent) == 1
    rest = _notifier(store, RecordingSender(), knowledge, lambda: datetime.now(UTC))
    assert await rest.deliver_due() == 1  # the other one was handed back, not left claimed
