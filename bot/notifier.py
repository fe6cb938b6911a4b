"""Delivery of lead notifications to the staff chats, from the outbox.

A lead and its notifications are committed together first; this worker then sends them and
records each delivery. A failure is retried with growing pauses; a chat that blocked the bot
or no longer exists is given up on. Only a crash between sending and recording can send one
notification twice, and every notification carries the lead's reference, so staff can tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.reports import LeadWriter
from bot.storage import Store

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=30)
IDLE_CHECK = timedelta(seconds=30)


class DeliveryRefused(Exception):
    """The chat will never accept the message (blocked the bot, deleted, bot removed)."""


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
    ) -> None:
        self._store = store
        self._sender = sender
        self._writer = writer
        self._clock = clock
        self._first_retry = first_retry
        self._idle_check = idle_check
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
        """Send every due notification once; return how many were sent."""
        sent = 0
        for delivery in await self._store.claim_deliveries(self._clock()):
            if self._stopping:
                # Hand the rest back at once rather than leave them claimed.
                await self._store.retry_later(delivery.outbox_id, delivery.attempts, self._clock())
                continue
            text = self._writer.notification(delivery.lead, delivery.kind)
            try:
                await self._sender.send(delivery.chat_id, text)
            except DeliveryRefused as refusal:
                logger.warning(
                    "staff chat refused notification %s: %s", delivery.outbox_id, refusal
                )
                await self._store.mark_failed(delivery.outbox_id, str(refusal))
                continue
            except Exception as error:  # any other failure is worth another try
                attempts = delivery.attempts + 1
                pause = min(self._first_retry * 2 ** (attempts - 1), LONGEST_RETRY)
                logger.warning(
                    "notification %s failed (%s), attempt %d, retry in %s",
                    delivery.outbox_id,
                    type(error).__name__,
                    attempts,
                    pause,
                )
                await self._store.retry_later(delivery.outbox_id, attempts, self._clock() + pause)
                continue
            await self._store.mark_sent(delivery.outbox_id, self._clock())
            sent += 1
        return sent

    async def _run(self) -> None:
        while not self._stopping:
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
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
