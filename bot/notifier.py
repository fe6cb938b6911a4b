"""Delivery of lead notifications to the staff chats, from the outbox.

A lead and its notifications are committed together first; this worker then sends them and
records each delivery. When several leads wait for one staff chat they go out together in one
digest (a group takes 20 messages a minute), urgent ones first. A failure is retried with
growing pauses, honouring Telegram's `retry_after`, and given up after `MAX_ATTEMPTS`; a chat
that blocked the bot or no longer exists is given up at once. Given-up leads stay in /leads and
the export. Only a crash between sending and recording can send one notification twice, and
every notification carries the lead's reference, so staff can tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.metrics import Metrics
from bot.reports import LeadWriter
from bot.storage import Delivery, Store

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=30)
IDLE_CHECK = timedelta(seconds=30)
MAX_ATTEMPTS = 8


class DeliveryRefused(Exception):
    """The chat will never accept the message (blocked the bot, deleted, bot removed)."""


class RetryLater(Exception):
    """Telegram asked to wait before sending again."""

    def __init__(self, after: timedelta) -> None:
        super().__init__(f"retry after {after}")
        self.after = after


class Sender(Protocol):
    """Sends one text to one chat; raises `DeliveryRefused` when retrying is pointless."""

    async def send(self, chat_id: int, text: str) -> None: ...


class Notifier:
    """Sends due staff notifications; `wake()` after a lead is stored to send it at once."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        writer: LeadWriter,
        *,
        clock: Callable[[], datetime],
        first_retry: timedelta = FIRST_RETRY,
        idle_check: timedelta = IDLE_CHECK,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._writer = writer
        self._clock = clock
        self._first_retry = first_retry
        self._idle_check = idle_check
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for due notifications now."""
        self._wake.set()

    def start(self) -> None:
        """Run the delivery loop in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="staff-notifier")

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop the delivery loop; pending notifications stay in the outbox.

        A notification being sent is given `grace` seconds to be recorded, so that a normal
        shutdown never leaves one sent but unrecorded (which would send it again later).
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=grace)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def deliver_due(self) -> int:
        """Send every due notification once (several for one chat as one digest).

        Returns how many notifications reached their chat.
        """
        by_chat: dict[int, list[Delivery]] = {}
        for delivery in await self._store.claim_deliveries(self._clock()):
            by_chat.setdefault(delivery.chat_id, []).append(delivery)
        sent = 0
        for chat_id, deliveries in by_chat.items():
            if self._stopping:
                # Hand the rest back at once rather than leave them claimed.
                for delivery in deliveries:
                    await self._store.retry_later(
                        [delivery.outbox_id], delivery.attempts, self._clock()
                    )
                continue
            sent += await self._deliver(chat_id, deliveries)
        return sent

    async def _deliver(self, chat_id: int, deliveries: Sequence[Delivery]) -> int:
        ordered = sorted(deliveries, key=lambda delivery: not delivery.lead.urgent)
        sent = 0
        for batch in self._writer.digests(
            [(delivery.lead, delivery.kind) for delivery in ordered]
        ):
            batch_deliveries = [ordered[index] for index in batch.indices]
            ids = [delivery.outbox_id for delivery in batch_deliveries]
            try:
                await self._sender.send(chat_id, batch.text)
            except DeliveryRefused as refusal:
                logger.warning("staff chat refused notifications %s: %s", ids, refusal)
                await self._store.mark_failed(ids, str(refusal))
                self._count("failed", len(ids))
                continue
            except Exception as error:  # any other failure is worth another try
                await self._retry(batch_deliveries, error)
                continue
            await self._store.mark_sent(ids, self._clock())
            self._count("sent", len(ids))
            sent += len(ids)
        return sent

    async def _retry(self, deliveries: Sequence[Delivery], error: Exception) -> None:
        ids = [delivery.outbox_id for delivery in deliveries]
        attempts = max(delivery.attempts for delivery in deliveries) + 1
        if attempts >= MAX_ATTEMPTS:
            logger.error(
                "notifications %s failed %d times (%s); giving up (the leads stay in /leads)",
                ids,
                attempts,
                type(error).__name__,
            )
            await self._store.mark_failed(ids, f"gave up after {attempts} attempts")
            self._count("failed", len(ids))
            return
        pause = min(self._first_retry * 2 ** (attempts - 1), LONGEST_RETRY)
        if isinstance(error, RetryLater):
            pause = max(pause, error.after)
        logger.warning(
            "notifications %s failed (%s), attempt %d, retry in %s",
            ids,
            type(error).__name__,
            attempts,
            pause,
        )
        await self._store.retry_later(ids, attempts, self._clock() + pause)
        self._count("retried", len(ids))

    def _count(self, result: str, amount: int) -> None:
        if self._metrics is not None:
            self._metrics.notifications.labels(result).inc(amount)

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking, so that a wake-up during the scan is not lost.
            self._wake.clear()
            try:
                await self.deliver_due()
                wait = self._idle_check.total_seconds()
                due = await self._store.next_delivery_at()
                if due is not None:
                    wait = max(0.05, min(wait, (due - self._clock()).total_seconds()))
            except Exception:
                logger.exception("notifier loop failed; trying again shortly")
                wait = self._idle_check.total_seconds()
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
