"""Periodic work of the running bot: deleting what is past its time, and delivering again the
replies Telegram did not accept. With several processes on one PostgreSQL database each job
runs on one of them at a time (`Store.exclusive`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.service import ChatService
from bot.storage import Store

logger = logging.getLogger(__name__)

# Replies that waited this long were not delivered with their turn: send them again.
REDELIVER_AFTER = timedelta(seconds=60)
# Telegram retries a webhook delivery for minutes; an update id older than this is not needed.
HANDLED_UPDATES_KEPT = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Job:
    """One periodic job: its name (the lock it takes), how often, and what it does."""

    name: str
    every: timedelta
    run: Callable[[], Awaitable[None]]
    exclusive: bool = True


class Jobs:
    """Runs the periodic jobs in the background."""

    def __init__(
        self,
        service: ChatService,
        *,
        retention: timedelta,
        redeliver: Callable[[str], Awaitable[None]],
        clock: Callable[[], datetime],
    ) -> None:
        self._service = service
        self._store: Store = service.store
        self._retention = retention
        self._redeliver = redeliver
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self.jobs = (
            Job("retention", timedelta(hours=1), self.purge),
            Job("drafts", timedelta(minutes=1), self.expire_drafts),
            Job("redelivery", timedelta(seconds=30), self.redeliver),
            Job("handled-updates", timedelta(hours=1), self.forget_handled_updates),
            Job("flood", timedelta(minutes=1), self.forget_idle_senders, exclusive=False),
        )

    def start(self) -> None:
        """Start every job's loop."""
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._loop(job), name=f"job-{job.name}"))

    async def stop(self) -> None:
        """Stop every loop."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                await self.run_once(job)
            except Exception:
                logger.exception("job %s failed; it runs again later", job.name)
            await asyncio.sleep(job.every.total_seconds())

    async def run_once(self, job: Job) -> None:
        """Run one job now, unless another process is running it."""
        if not job.exclusive:
            await job.run()
            return
        async with self._store.exclusive(job.name) as mine:
            if mine:
                await job.run()

    async def purge(self) -> None:
        """Delete leads, kept questions and idle conversations past the retention period."""
        removed = await self._store.purge(self._clock() - self._retention)
        if removed:
            logger.info("deleted %d leads past the retention period", removed)

    async def expire_drafts(self) -> None:
        """Delete the answers of bookings left unfinished past their time."""
        now = self._clock()
        for chat_key in await self._store.expired_drafts(now):
            if await self._service.expire_draft(chat_key, now):
                logger.info("expired an unfinished booking chat=%s", chat_key[:8])

    async def redeliver(self) -> None:
        """Send again the replies that were not delivered with their turn."""
        for chat_key in await self._store.pending_outboxes(self._clock() - REDELIVER_AFTER):
            await self._redeliver(chat_key)

    async def forget_handled_updates(self) -> None:
        """Drop the record of updates handled long ago."""
        await self._store.forget_handled_updates(self._clock() - HANDLED_UPDATES_KEPT)

    async def forget_idle_senders(self) -> None:
        """Drop the flood counters of people who went quiet."""
        self._service.forget_idle_senders()
