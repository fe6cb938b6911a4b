"""Periodic work of the running bot: deleting what is past its time, delivering again the
replies Telegram did not accept, reminding the staff of urgent requests nobody took, and a
daily list of requests still open. With several processes on one PostgreSQL database each job
runs on one of them at a time (`Store.exclusive`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.host.turns import ChatService
from bot.staff.cards import StaffDesk
from bot.staff.desk import Desk
from bot.storage.store import Store

logger = logging.getLogger(__name__)

# Replies that waited this long were not delivered with their turn: send them again.
REDELIVER_AFTER = timedelta(seconds=60)
# Telegram retries a webhook delivery for minutes; an update id older than this is not needed.
HANDLED_UPDATES_KEPT = timedelta(days=2)
# The daily list of open requests goes out once a day, from this hour of the firm's day.
OPEN_DIGEST_HOUR = 9
_OPEN_DIGEST_DAY = "open_digest_day"


@dataclass(frozen=True, slots=True)
class StaffJobs:
    """What the staff-facing jobs need: where to post, and when to remind."""

    chat_ids: tuple[int, ...]
    posts: StaffDesk
    post: Callable[[int, str], Awaitable[None]]
    wake: Callable[[], None]
    remind_after: timedelta = timedelta(minutes=10)
    open_after_hours: int = 24


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
        staff: StaffJobs | None = None,
    ) -> None:
        self._service = service
        self._store: Store = service.store
        self._retention = retention
        self._redeliver = redeliver
        self._clock = clock
        self._staff = staff
        self._tasks: list[asyncio.Task[None]] = []
        self.jobs = (
            Job("retention", timedelta(hours=1), self.purge),
            Job("drafts", timedelta(minutes=1), self.expire_drafts),
            Job("redelivery", timedelta(seconds=30), self.redeliver),
            Job("handled-updates", timedelta(hours=1), self.forget_handled_updates),
            Job("flood", timedelta(minutes=1), self.forget_idle_senders, exclusive=False),
            Job("reminders", timedelta(seconds=30), self.remind),
            Job("open-digest", timedelta(minutes=10), self.open_digest),
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
            if self._staff is not None:
                self._staff.wake()  # their staff messages are cleared

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

    async def remind(self) -> None:
        """Post again, once, the urgent requests nobody has taken in time."""
        staff = self._staff
        if staff is None or not staff.chat_ids:
            return
        async with self._store.transaction() as session:
            reminded = await Desk(session, self._store.vault).queue_reminders(
                self._clock(), staff.remind_after, staff.chat_ids
            )
        if reminded:
            logger.info("reminding the staff of %d urgent requests", len(reminded))
            staff.wake()

    async def open_digest(self) -> None:
        """Once a day, list in each staff chat the requests open for too long (references and
        where they stand only: no person's details)."""
        staff = self._staff
        if staff is None or not staff.chat_ids:
            return
        now = self._clock()
        local = staff.posts.local(now)
        day = local.date().isoformat()
        if local.hour < OPEN_DIGEST_HOUR or await self._store.read_meta(_OPEN_DIGEST_DAY) == day:
            return
        async with self._store.reading() as session:
            waiting = await Desk(session, self._store.vault).open_requests(
                older_than=now - timedelta(hours=staff.open_after_hours)
            )
        if waiting:
            text = staff.posts.open_digest(staff.open_after_hours, waiting)
            for chat_id in staff.chat_ids:
                await staff.post(chat_id, text)
        await self._store.write_meta(_OPEN_DIGEST_DAY, day)
