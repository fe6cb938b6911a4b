"""The outbox worker, with the real store and a sender that records what it was given."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.faq.knowledge import Knowledge
from bot.records import Lead
from bot.reports import LeadWriter
from bot.staff.cards import StaffDesk, StaffPost
from bot.staff.notifier import MAX_ATTEMPTS, CannotChange, DeliveryRefused, Notifier, RetryLater
from bot.storage.store import Store

STAFF = (-1, -2)


class RecordingSender:
    """Stands in for Telegram: records texts, fails or refuses on request, can be slow."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self.failures: dict[int, int] = {}
        self.refused: set[int] = set()
        self.delay = 0.0
        self.retry_after: timedelta | None = None
        self._arrived = asyncio.Event()
        self.edited: list[tuple[int, int, str]] = []

    async def wait_for(self, count: int) -> None:
        while len(self.sent) < count:
            self._arrived.clear()
            await self._arrived.wait()

    async def send(
        self, chat_id: int, post: StaffPost, *, reply_to: int | None = None, ask: bool = False
    ) -> int:
        text = post.text
        await asyncio.sleep(self.delay)
        if self.retry_after is not None:
            after, self.retry_after = self.retry_after, None
            raise RetryLater(after)
        if chat_id in self.refused:
            raise DeliveryRefused("Forbidden")
        if self.failures.get(chat_id, 0) > 0:
            self.failures[chat_id] -= 1
            raise ConnectionError("network down")
        self.sent.append((chat_id, text))
        self._arrived.set()
        return len(self.sent)

    async def edit(self, chat_id: int, message_id: int, post: StaffPost) -> None:
        self.edited.append((chat_id, message_id, post.text))

    async def delete(self, chat_id: int, message_id: int) -> None:
        raise CannotChange("not an admin")


async def _lead(store: Store, reference: str = "C-NOTIFY", *, urgent: bool = True) -> None:
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
            urgent=urgent,
        )
        await unit.save_lead(lead, user_key="user", update=False, notify_chat_ids=STAFF)


def _notifier(
    store: Store,
    sender: RecordingSender,
    knowledge: Knowledge,
    clock: Callable[[], datetime],
    *,
    idle_check: timedelta = timedelta(seconds=30),
) -> Notifier:
    writer = LeadWriter(knowledge, "America/Los_Angeles")
    return Notifier(
        store,
        sender,
        StaffDesk(writer),
        clock=clock,
        first_retry=timedelta(seconds=10),
        idle_check=idle_check,
    )


@pytest.mark.clock
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


@pytest.mark.clock
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


@pytest.mark.clock
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


@pytest.mark.clock
async def test_leads_waiting_together_go_out_as_one_digest_urgent_first(
    store: Store, knowledge: Knowledge
) -> None:
    for reference, urgent in (("C-AAAAAA", False), ("C-BBBBBB", False), ("C-CCCCCC", True)):
        await _lead(store, reference, urgent=urgent)
    sender = RecordingSender()
    notifier = _notifier(store, sender, knowledge, lambda: datetime.now(UTC))
    assert await notifier.deliver_due() == 6  # three leads, two staff chats
    assert sorted(chat for chat, _ in sender.sent) == sorted(STAFF)  # one message per chat
    for _, digest in sender.sent:
        assert digest.startswith("🚨 3 consultation requests, 1 URGENT")
        positions = [digest.index(reference) for reference in ("C-CCCCCC", "C-AAAAAA", "C-BBBBBB")]
        assert positions == sorted(positions)
    assert await notifier.deliver_due() == 0


@pytest.mark.clock
async def test_retries_stop_after_a_bounded_number_and_the_lead_stays_listed(
    store: Store, knowledge: Knowledge
) -> None:
    now = [datetime.now(UTC)]
    sender = RecordingSender()
    sender.failures[-1] = 1000
    notifier = _notifier(store, sender, knowledge, lambda: now[0])
    await _lead(store)
    attempts = 0
    while await store.next_delivery_at() is not None and attempts < 3 * MAX_ATTEMPTS:
        await notifier.deliver_due()
        now[0] += timedelta(hours=1)
        attempts += 1
    assert await store.next_delivery_at() is None  # nothing left to try
    assert sender.failures[-1] == 1000 - MAX_ATTEMPTS
    assert [chat for chat, _ in sender.sent] == [-2]
    assert [stored.lead.reference for stored in await store.newest_leads()] == ["C-NOTIFY"]


@pytest.mark.clock
async def test_telegrams_retry_after_is_honoured(store: Store, knowledge: Knowledge) -> None:
    now = [datetime.now(UTC)]
    sender = RecordingSender()
    sender.retry_after = timedelta(seconds=40)
    notifier = _notifier(store, sender, knowledge, lambda: now[0])
    await _lead(store)
    now[0] = datetime.now(UTC)
    assert await notifier.deliver_due() == 1  # the first chat was asked to wait
    now[0] += timedelta(seconds=20)  # past the first pause (10 s), not past retry_after
    assert await notifier.deliver_due() == 0
    now[0] += timedelta(seconds=21)
    assert await notifier.deliver_due() == 1
    assert sorted(chat for chat, _ in sender.sent) == sorted(STAFF)


@pytest.mark.clock
async def test_a_wake_up_during_a_scan_is_not_lost(store: Store, knowledge: Knowledge) -> None:
    sender = RecordingSender()
    sender.delay = 0.2
    notifier = _notifier(
        store, sender, knowledge, lambda: datetime.now(UTC), idle_check=timedelta(minutes=10)
    )
    notifier.start()
    try:
        await _lead(store, "C-FIRST1")
        notifier.wake()
        await asyncio.sleep(0.1)  # the first lead is being sent
        await _lead(store, "C-SECOND")
        notifier.wake()
        async with asyncio.timeout(5):  # far less than the ten-minute idle check
            await sender.wait_for(4)
    finally:
        await notifier.stop()
    assert sum("C-SECOND" in text for _, text in sender.sent) == 2


@pytest.mark.clock
async def test_a_lead_that_cannot_be_read_does_not_hold_back_the_others(
    store: Store, knowledge: Knowledge
) -> None:
    await _lead(store, "C-BROKEN")
    await _lead(store, "C-HEALTH")
    async with store.engine.begin() as connection:  # as a damaged row or a lost key would
        await connection.execute(
            text("update leads set phone = :junk where reference = 'C-BROKEN'"),
            {"junk": b"not a token"},
        )
    sender = RecordingSender()
    notifier = _notifier(store, sender, knowledge, lambda: datetime.now(UTC))
    assert await notifier.deliver_due() == 2
    assert all("C-HEALTH" in text and "C-BROKEN" not in text for _, text in sender.sent)
    assert await notifier.deliver_due() == 0
    assert await store.next_delivery_at() is None
