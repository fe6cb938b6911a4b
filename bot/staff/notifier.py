"""The staff chats' side of the outbox: requests' cards, reminders, prompts and relayed messages
go out from here, and the staff messages whose request changed or was deleted are edited here.

A request and its notifications are committed together first; this worker then sends them and
records each delivery and the message it became. When several cards wait for one staff chat
they go out together in one digest (a group takes 20 messages a minute), urgent ones first. A
failure is retried with growing pauses, honouring Telegram's `retry_after`, and given up after
`MAX_ATTEMPTS`; a chat that blocked the bot or no longer exists is given up at once. Given-up
requests stay in /leads and the export. Only a crash between sending and recording can send
one message twice, and every message carries the request's reference, so staff can tell.

Editing: a staff action or a deletion marks the messages about a request; each is rendered
again from what is stored now (a deleted request shows only its reference). A message the bot
cannot edit or delete is named to the staff chat, to be deleted by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.metrics import Metrics
from bot.staff.cards import StaffDesk, StaffPost
from bot.staff.desk import CARD_KINDS, Desk, StaffMessage
from bot.storage.store import CLAIM_FOR, Delivery, Store

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=30)
IDLE_CHECK = timedelta(seconds=30)
MAX_ATTEMPTS = 8
MAX_EDIT_ATTEMPTS = 5


class DeliveryRefused(Exception):
    """The chat will never accept the message (blocked the bot, deleted, bot removed)."""


class RetryLater(Exception):
    """Telegram asked to wait before sending again."""

    def __init__(self, after: timedelta) -> None:
        super().__init__(f"retry after {after}")
        self.after = after


class CannotChange(Exception):
    """The message cannot be edited or deleted (gone, too old to delete, not the bot's)."""


class Sender(Protocol):
    """Sends, edits and deletes staff-chat messages."""

    async def send(
        self, chat_id: int, post: StaffPost, *, reply_to: int | None = None, ask: bool = False
    ) -> int:
        """Send a message (as a reply to `reply_to`; `ask`: inviting a reply); its id."""
        ...

    async def edit(self, chat_id: int, message_id: int, post: StaffPost) -> None:
        """Replace a message's text and buttons (`CannotChange` when impossible)."""
        ...

    async def delete(self, chat_id: int, message_id: int) -> None:
        """Delete a message (`CannotChange` when impossible)."""
        ...


class Notifier:
    """Sends due staff messages and edits changed ones; `wake()` to look at once."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        desk: StaffDesk,
        *,
        clock: Callable[[], datetime],
        first_retry: timedelta = FIRST_RETRY,
        idle_check: timedelta = IDLE_CHECK,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._desk = desk
        self._clock = clock
        self._first_retry = first_retry
        self._idle_check = idle_check
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # Scans of the outbox begun and finished, for `caught_up`.
        self._scans_begun = 0
        self._scans_finished = 0
        self._scan_finished = asyncio.Condition()

    def wake(self) -> None:
        """Look for due messages now."""
        self._wake.set()

    async def caught_up(self) -> None:
        """Wait until a scan begun after this call has sent and edited what was due (on
        several instances, another may hold the edits). Callers bound the wait."""
        if self._task is None:
            return
        wanted = self._scans_begun + 1
        self.wake()
        async with self._scan_finished:
            await self._scan_finished.wait_for(lambda: self._scans_finished >= wanted)

    def start(self) -> None:
        """Run the delivery loop in the background."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="staff-notifier")

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop the delivery loop; pending messages stay in the outbox.

        A message being sent is given `grace` seconds to be recorded, so that a normal
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
        """Send every due message once (several cards for one chat as one digest).

        Returns how many notifications reached their chat.
        """
        claimed = await self._store.claim_deliveries(self._clock())
        if not claimed:
            return 0
        async with self._keeping([delivery.outbox_id for delivery in claimed]):
            return await self._deliver(claimed)

    @contextlib.asynccontextmanager
    async def _keeping(self, outbox_ids: Sequence[int]) -> AsyncIterator[None]:
        """Renew the claim on these notifications while they are being sent."""

        async def renew() -> None:
            every = CLAIM_FOR.total_seconds() / 3
            while True:
                await asyncio.sleep(every)
                try:
                    await self._store.renew_claims(outbox_ids, self._clock() + CLAIM_FOR)
                except Exception as error:  # the claim may lapse: another process sends
                    logger.warning("could not renew a claim (%s)", type(error).__name__)

        renewing = asyncio.create_task(renew(), name="staff-notifier-claims")
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _deliver(self, claimed: Sequence[Delivery]) -> int:
        by_chat: dict[int, list[Delivery]] = {}
        for delivery in claimed:
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
            cards = [delivery for delivery in deliveries if delivery.kind in CARD_KINDS]
            if cards:
                sent += await self._deliver_cards(chat_id, cards)
            for delivery in deliveries:
                if delivery.kind not in CARD_KINDS:
                    sent += await self._deliver_one(delivery)
        return sent

    async def _deliver_cards(self, chat_id: int, deliveries: Sequence[Delivery]) -> int:
        ordered = sorted(deliveries, key=lambda delivery: not delivery.lead.urgent)
        sent = 0
        cards = [(delivery.stored, delivery.kind) for delivery in ordered]
        for post, indices in self._desk.batches(cards):
            batch = [ordered[index] for index in indices]
            kind = batch[0].kind if len(batch) == 1 else "digest"
            references = [delivery.lead.reference for delivery in batch]
            if await self._send(batch, [post], kind, references):
                sent += len(batch)
        return sent

    async def _deliver_one(self, delivery: Delivery) -> int:
        reference = delivery.lead.reference
        reply_to = None
        if delivery.kind == "relay":
            posts = self._desk.relayed(reference, delivery.text or "")
            async with self._store.reading() as session:
                reply_to = await Desk(session, self._store.vault).latest_card(
                    delivery.chat_id, reference
                )
        else:
            posts = [self._desk.prompt(reference)]
        ask = delivery.kind == "prompt"
        return int(await self._send([delivery], posts, delivery.kind, [reference], reply_to, ask))

    async def _send(
        self,
        deliveries: Sequence[Delivery],
        posts: Sequence[StaffPost],
        kind: str,
        references: Sequence[str],
        reply_to: int | None = None,
        ask: bool = False,
    ) -> bool:
        """Send one notification's messages (several only for a long relayed message)."""
        chat_id = deliveries[0].chat_id
        ids = [delivery.outbox_id for delivery in deliveries]
        message_ids: list[int] = []
        try:
            for post in posts:
                message_ids.append(
                    await self._sender.send(chat_id, post, reply_to=reply_to, ask=ask)
                )
        except DeliveryRefused as refusal:
            logger.warning("staff chat refused notifications %s: %s", ids, refusal)
            await self._record(chat_id, message_ids, kind, references)
            await self._store.mark_failed(ids, str(refusal))
            self._count("failed", len(ids))
            return False
        except Exception as error:  # any other failure is worth another try
            # The parts that went out are recorded, so that a /forget clears them too.
            await self._record(chat_id, message_ids, kind, references)
            await self._retry(deliveries, error)
            return False
        now = await self._record(chat_id, message_ids, kind, references)
        await self._store.mark_sent(ids, now)
        self._count("sent", len(ids))
        return True

    async def _record(
        self, chat_id: int, message_ids: Sequence[int], kind: str, references: Sequence[str]
    ) -> datetime:
        """Remember the staff messages sent about these requests; return the time."""
        now = self._clock()
        if message_ids:
            async with self._store.transaction() as session:
                desk = Desk(session, self._store.vault)
                for message_id in message_ids:
                    await desk.record_message(chat_id, message_id, kind, references, now)
        return now

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

    # --- editing what changed ------------------------------------------------------------------

    async def render_changed(self) -> int:
        """Edit the staff messages whose requests changed or were deleted; return how many."""
        async with self._store.exclusive("staff-edits") as mine:
            if not mine:
                return 0
            async with self._store.reading() as session:
                messages = await Desk(session, self._store.vault).dirty_messages()
            done = 0
            for message in messages:
                if self._stopping:
                    break
                done += await self._render(message)
            return done

    async def _render(self, message: Sequence[StaffMessage]) -> int:
        first = message[0]
        references = [row.ref for row in message]
        async with self._store.reading() as session:
            found = await Desk(session, self._store.vault).requests(references)
        gone = [reference for reference in references if reference not in found]
        try:
            if first.kind == "reply":
                # A staff member's own message: the bot may delete it where it is an admin.
                if gone:
                    await self._sender.delete(first.chat_id, first.message_id)
            elif first.kind == "relay":
                if gone:
                    post = StaffPost(self._desk.relay_gone(first.ref))
                    await self._sender.edit(first.chat_id, first.message_id, post)
            elif first.kind == "prompt":
                if gone:
                    post = StaffPost(self._desk.gone(first.ref))
                    await self._sender.edit(first.chat_id, first.message_id, post)
            else:
                post = self._desk.render(first.kind, references, found)
                await self._sender.edit(first.chat_id, first.message_id, post)
        except CannotChange:
            await self._cannot_change(message, gone)
            return 0
        except Exception as error:
            logger.warning("a staff message could not be edited (%s)", type(error).__name__)
            if first.attempts + 1 >= MAX_EDIT_ATTEMPTS:
                await self._cannot_change(message, gone)
            else:
                await self._desk_work(message, retry=True)
            return 0
        if len(gone) == len(references):
            await self._desk_work(message, forget=True)
        else:
            await self._desk_work(message)
        return 1

    async def _cannot_change(self, message: Sequence[StaffMessage], gone: Sequence[str]) -> None:
        """Ask the staff to delete by hand what still carries a forgotten person's details."""
        chat_id = message[0].chat_id
        if message[0].attempts >= 2 * MAX_EDIT_ATTEMPTS:
            logger.error("gave up clearing a staff message and asking for it to be deleted")
            await self._desk_work(message, forget=True)
            return
        for reference in gone:
            try:
                await self._sender.send(chat_id, StaffPost(self._desk.manual_delete(reference)))
            except Exception as error:
                logger.warning(
                    "could not ask the staff to delete by hand (%s)", type(error).__name__
                )
                await self._desk_work(message, retry=True)
                return
        await self._desk_work(message, forget=True)

    async def _desk_work(
        self, message: Sequence[StaffMessage], *, retry: bool = False, forget: bool = False
    ) -> None:
        """Record what became of a message: rendered, to try again, or no longer tracked."""
        async with self._store.transaction() as session:
            desk = Desk(session, self._store.vault)
            if retry:
                await desk.retry_render(message)
            elif forget:
                await desk.forget_messages(message)
            else:
                await desk.rendered(message)

    def _count(self, result: str, amount: int) -> None:
        if self._metrics is not None:
            self._metrics.notifications.labels(result).inc(amount)

    async def _run(self) -> None:
        try:
            await self._store.release_own_claims()
        except Exception:
            logger.exception("could not hand back the claims of an earlier run")
        while not self._stopping:
            # Cleared before looking, so that a wake-up during the scan is not lost.
            self._wake.clear()
            self._scans_begun += 1
            scan = self._scans_begun
            try:
                await self.deliver_due()
                await self.render_changed()
                wait = self._idle_check.total_seconds()
                due = await self._store.next_delivery_at()
                if due is not None:
                    wait = max(0.05, min(wait, (due - self._clock()).total_seconds()))
            except Exception:
                logger.exception("notifier loop failed; trying again shortly")
                wait = self._idle_check.total_seconds()
            async with self._scan_finished:
                self._scans_finished = scan
                self._scan_finished.notify_all()
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
