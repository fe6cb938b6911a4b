"""One conversation turn, end to end: hold the chat, load its state (and the records a command
shows), run the dialogue, and store what it decided, replies included, in one transaction.

Channels (Telegram, the console) call `ChatService.handle` with plain values inside
`ChatService.holding`, send the replies it returns, and report what was delivered. Replies are
committed with the turn and forgotten only once delivered, so a reply that Telegram refused
or a crash interrupted is sent again later rather than lost (a repeat is possible after an
ambiguous failure; a loss is not).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.chats import TELEGRAM, WEB, Channel, encode_chat, key_material
from bot.dialogue import (
    Dialogue,
    EndRelay,
    Event,
    ForgetUser,
    QuestionAsked,
    RelayToStaff,
    Reply,
    SaveLead,
    Turn,
    UnansweredQuestion,
    decode_state,
    encode_state,
    records_needed,
)
from bot.dialogue.state import SessionState
from bot.faq.knowledge import Language
from bot.matching.language import parse_language
from bot.metrics import Metrics
from bot.records import PersonData
from bot.staff.desk import Desk
from bot.staff.room import DEFAULT_RELAY_HOURS, StaffRoom, is_staff_button
from bot.storage.owed import Outbox, decode_outbox, encode_outbox
from bot.storage.store import Store, Unit

logger = logging.getLogger(__name__)

DEFAULT_FLOOD_LIMIT = 20
FLOOD_WINDOW = timedelta(minutes=1)


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Response:
    """What to send to one chat, and the language the conversation is in now.

    `replies` are every reply still owed to the chat, oldest first (earlier undelivered ones
    included); `pending` names their stored record, to clear once they are all delivered, or
    is None when nothing was stored (a group chat, a refused flood, a duplicate update).
    `toast` is the short answer to a button press.
    """

    replies: list[Reply]
    language: Language
    pending: bytes | None = None
    toast: str | None = None
    chat_id: int = 0
    channel: Channel = TELEGRAM


@dataclass(frozen=True, slots=True)
class Incoming:
    """An update reduced to plain values by a channel; the chat is `chat_id` on `channel`."""

    chat_id: int
    user_id: int | None
    language_code: str | None
    event: Event
    private: bool = True
    update_id: int | None = None
    # The message's own id, the message it replies to, and its sender's display name (the
    # staff's replies and buttons: relayed to people, named on requests they take).
    message_id: int | None = None
    reply_to: int | None = None
    sender_name: str | None = None
    channel: Channel = TELEGRAM


class Transcript(Protocol):
    """A channel that keeps its chats' messages itself (the web chat): it writes a turn's
    message and replies in the turn's own transaction, so they are delivered once it commits."""

    async def keep(
        self,
        unit: Unit,
        incoming: Incoming,
        replies: tuple[Reply, ...],
        *,
        language: Language,
        forgotten: bool,
    ) -> None:
        """Store the person's message and the replies owed to them, in `unit`."""


@dataclass
class FloodGate:
    """Per person: past `limit` messages in a minute, one polite notice, then silence.

    It lives in each process: with several instances a person gets up to `limit` per instance.
    """

    limit: int = DEFAULT_FLOOD_LIMIT
    window: timedelta = FLOOD_WINDOW
    _seen: dict[str, deque[datetime]] = field(default_factory=dict)
    _noticed: dict[str, datetime] = field(default_factory=dict)

    def check(self, chat_key: str, now: datetime) -> str:
        """Return "allow", "notice" (the first refusal in a window) or "silence"."""
        times = self._seen.setdefault(chat_key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._noticed.pop(chat_key, None)
            return "allow"
        if chat_key in self._noticed:
            return "silence"
        self._noticed[chat_key] = now
        return "notice"

    def forget_idle(self, now: datetime) -> None:
        """Drop the counters of people who have been quiet for a window."""
        idle = [
            key for key, times in self._seen.items() if not times or now - times[-1] >= self.window
        ]
        for chat_key in idle:
            self._seen.pop(chat_key, None)
            self._noticed.pop(chat_key, None)


class ChatService:
    """Handles updates of many chats: concurrently across chats, one at a time within one."""

    def __init__(
        self,
        dialogue: Dialogue,
        store: Store,
        *,
        admin_chat_ids: tuple[int, ...] = (),
        staff_language: Language = "en",
        booking_timeout: timedelta = timedelta(minutes=30),
        flood_limit: int = DEFAULT_FLOOD_LIMIT,
        clock: Callable[[], datetime] = utc_now,
        on_lead: Callable[[], None] | None = None,
        on_forgotten: Callable[[], Awaitable[None]] | None = None,
        on_owed: Callable[[str], None] | None = None,
        metrics: Metrics | None = None,
        deduplicate: bool = False,
        relay_for: timedelta = timedelta(hours=DEFAULT_RELAY_HOURS),
        dialogues: Mapping[Channel, Dialogue] | None = None,
    ) -> None:
        self._dialogue = dialogue
        # A channel whose wording differs (the web chat has no "share my phone" button).
        self._dialogues = dict(dialogues or {})
        # Telegram delivers a webhook update again when its answer was late; getUpdates never.
        self._deduplicate = deduplicate
        self._store = store
        self._admin_chat_ids = frozenset(admin_chat_ids)
        self._staff_language = staff_language
        self._booking_timeout = booking_timeout
        self._clock = clock
        self._flood = FloodGate(limit=flood_limit)
        self._metrics = metrics or Metrics()
        self.on_lead = on_lead
        # From a host with staff chats: wait (bounded) until the staff messages about a
        # forgotten person are cleared, so that "Done" is said after it.
        self.on_forgotten = on_forgotten
        self.staffroom = StaffRoom(
            dialogue,
            store,
            staff_language=staff_language,
            relay_for=relay_for,
            clock=clock,
            chat_key=self.chat_key,
            on_staff_work=self._staff_work,
            on_owed=on_owed or (lambda _chat_key: None),
        )
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _staff_work(self) -> None:
        if self.on_lead is not None:
            self.on_lead()

    @property
    def store(self) -> Store:
        """The database the turns are stored in."""
        return self._store

    def chat_key(self, chat_id: int, channel: Channel = TELEGRAM) -> str:
        """The keyed hash that stands for a chat in storage and logs."""
        return self._store.vault.identifier(key_material("chat", channel, chat_id))

    def user_key(self, chat_id: int, channel: Channel = TELEGRAM) -> str:
        """The keyed hash that stands for a person (their private chat) in storage."""
        return self._store.vault.identifier(key_material("user", channel, chat_id))

    def is_admin(self, chat_id: int, channel: Channel = TELEGRAM) -> bool:
        """Whether this chat receives staff notifications and may use admin commands."""
        return channel == TELEGRAM and chat_id in self._admin_chat_ids

    @asynccontextmanager
    async def holding(self, chat_id: int, channel: Channel = TELEGRAM) -> AsyncIterator[str]:
        """Hold one chat (here and in other processes) until its replies are sent.

        Updates of one chat are then handled and answered one at a time, in order, even when
        Telegram answers slowly; other chats go on meanwhile. Yields the chat's key.
        """
        async with (
            self.in_order(chat_id, channel) as chat_key,
            self._store.chat_guard(chat_key),
        ):
            yield chat_key

    @asynccontextmanager
    async def in_order(self, chat_id: int, channel: Channel = TELEGRAM) -> AsyncIterator[str]:
        """Hold one chat in this process only (its updates wait in line behind this one, while
        it waits for the database, say); `holding` also holds it across processes."""
        chat_key = self.chat_key(chat_id, channel)
        lock = self._locks.get(chat_key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_key] = lock
        async with lock:
            yield chat_key

    async def handle(
        self, incoming: Incoming, *, transcript: Transcript | None = None
    ) -> Response:
        """Handle one update (the caller holds its chat); return what to send to the chat.

        With `transcript`, the replies are stored there in the turn's transaction instead of
        as owed: the response then has nothing pending.
        """
        admin = self.is_admin(incoming.chat_id, incoming.channel)
        # A chat listed as the staff's is a staff chat, a group or a staff member's own.
        if admin or not incoming.private:
            replies, toast = await self.staffroom.handle(
                incoming.event,
                chat_id=incoming.chat_id,
                admin=admin,
                message_id=incoming.message_id,
                reply_to=incoming.reply_to,
                sender=incoming.sender_name,
                update_id=incoming.update_id if self._deduplicate else None,
            )
            return Response(replies, self._staff_language, toast=toast)
        chat_key = self.chat_key(incoming.chat_id, incoming.channel)
        hint = parse_language(incoming.language_code)
        if is_staff_button(incoming.event):
            # A staff button outside a staff chat (a forwarded or copied message) does nothing.
            return Response(
                [], hint or "en", toast=self._dialogue.writer.text(hint or "en", "staff_only")
            )
        # The web chat limits its sessions itself, answering 429 with when to try again.
        verdict = (
            "allow" if incoming.channel == WEB else self._flood.check(chat_key, self._clock())
        )
        if verdict != "allow":
            # Nothing is loaded or changed: a booking in progress waits, intact, for the
            # minute to pass.
            logger.info("flood chat=%s %s", chat_key[:8], verdict)
            self._metrics.flood.inc()
            if verdict == "silence":
                return Response([], hint or "en")
            return Response([self._dialogue.flood_notice(hint or "en")], hint or "en")
        logger.info(
            "update %s chat=%s event=%s",
            incoming.update_id,
            chat_key[:8],
            type(incoming.event).__name__,
        )
        return await self._turn(incoming, chat_key, transcript)

    async def _turn(
        self,
        incoming: Incoming,
        chat_key: str,
        transcript: Transcript | None,
    ) -> Response:
        hint = parse_language(incoming.language_code)
        user_key = self.user_key(incoming.chat_id, incoming.channel)
        dialogue = self._dialogues.get(incoming.channel, self._dialogue)
        async with self._store.unit() as unit:
            dedupe = self._deduplicate and incoming.update_id is not None
            if dedupe and not await unit.first_time(incoming.update_id or 0):
                logger.info("update %s was already handled", incoming.update_id)
                self._metrics.duplicates.inc()
                return Response([], hint or "en")
            row = await unit.lock_chat(chat_key)
            state = decode_state(row.state)
            relay = None
            if state.open_reference is not None:  # only someone with a request can be in one
                relay = await Desk(unit.session, unit.vault).active_relay(user_key, self._clock())
            records: PersonData | None = None
            if records_needed(incoming.event) == "person":
                person = await unit.person_records(user_key)
                records = PersonData(
                    has_session=row.state is not None,
                    draft_step=state.step if state.step not in (None, "forget") else None,
                    leads=tuple(person.leads),
                    unanswered=person.unanswered,
                )
            turn: Turn = dialogue.handle(
                state,
                incoming.event,
                now=self._clock(),
                language_hint=hint,
                records=records,
                relay=relay,
            )
            toast = next((reply.text for reply in turn.replies if reply.toast), None)
            new = tuple(reply for reply in turn.replies if not reply.toast)
            earlier = decode_outbox(row.outbox).replies if row.outbox else ()
            owed = (*earlier, *new)
            pending = None
            if owed and transcript is None:
                pending = encode_outbox(Outbox(incoming.chat_id, owed, incoming.channel))
            lead_saved, forgotten = await self._apply(
                unit, turn, chat_key, user_key, encode_chat(incoming.channel, incoming.chat_id)
            )
            if transcript is not None:
                await transcript.keep(
                    unit, incoming, owed, language=turn.state.language(hint), forgotten=forgotten
                )
            stored = None
            if not forgotten:
                stored = await unit.save_chat(
                    chat_key,
                    state=encode_state(turn.state),
                    outbox=pending,
                    draft_expires_at=self._draft_expiry(turn.state),
                )
        if lead_saved:
            logger.info("staff work queued chat=%s", chat_key[:8])
            self._staff_work()
        if forgotten and self.on_forgotten is not None:
            await self.on_forgotten()
        return Response(
            list(owed),
            turn.state.language(hint),
            stored,
            toast,
            incoming.chat_id,
            incoming.channel,
        )

    def _draft_expiry(self, state: SessionState) -> datetime | None:
        if state.step is None or state.active_at is None:
            return None
        return state.active_at + self._booking_timeout

    async def _apply(
        self, unit: Unit, turn: Turn, chat_key: str, user_key: str, chat: str
    ) -> tuple[bool, bool]:
        """Carry out the effects of a turn in its transaction: (staff work queued, person
        forgotten)."""
        lead_saved = False
        staff_chats = tuple(sorted(self._admin_chat_ids))
        for effect in turn.effects:
            if isinstance(effect, UnansweredQuestion):
                await unit.add_unanswered(user_key, effect.language, effect.text)
            elif isinstance(effect, QuestionAsked):
                self._store.count_question(effect.outcome, effect.language)
                self._metrics.replies.labels(effect.outcome, effect.language).inc()
                if effect.urgent:
                    self._metrics.urgent.inc()
            elif isinstance(effect, SaveLead):
                self._metrics.leads.labels(str(effect.lead.urgent).lower()).inc()
                await unit.save_lead(
                    effect.lead,
                    user_key=user_key,
                    update=effect.update,
                    notify_chat_ids=staff_chats,
                    chat=chat,
                )
                lead_saved = True
            elif isinstance(effect, RelayToStaff):
                desk = Desk(unit.session, unit.vault)
                await desk.relay_to_staff(
                    effect.reference, user_key, effect.text, staff_chats, self._clock()
                )
                lead_saved = True
            elif isinstance(effect, EndRelay):
                await Desk(unit.session, unit.vault).end_relay(effect.reference, user_key)
            elif isinstance(effect, ForgetUser):
                await unit.forget(chat_key, user_key)
                return True, True  # the staff messages about the person are cleared
        return lead_saved, False

    async def delivered(self, chat_key: str, response: Response, count: int) -> None:
        """Record that the first `count` replies of `response` reached the chat."""
        if response.pending is None:
            return
        if count >= len(response.replies):
            await self._store.clear_outbox(chat_key, response.pending)
            return
        rest = tuple(response.replies[count:])
        await self._store.keep_outbox(
            chat_key, encode_outbox(Outbox(response.chat_id, rest, response.channel))
        )

    async def owed(self, chat_key: str) -> Response | None:
        """The replies a chat is still owed (for the periodic redelivery)."""
        found = await self._store.read_outbox(chat_key)
        if found is None:
            return None
        text, stored = found
        outbox = decode_outbox(text)
        return Response(
            list(outbox.replies), "en", stored, chat_id=outbox.chat_id, channel=outbox.channel
        )

    async def expire_draft(self, chat_key: str, now: datetime) -> bool:
        """Delete an unfinished booking whose time is up; return whether one was deleted."""
        async with self._store.unit() as unit:
            row = await unit.lock_chat(chat_key)
            state = decode_state(row.state)
            expiry = self._draft_expiry(state)
            if expiry is None or expiry > now:
                return False
            await unit.save_chat(
                chat_key,
                state=encode_state(replace(state.without_booking(), active_at=None)),
                outbox=row.outbox,
                draft_expires_at=None,
            )
        return True

    def forget_idle_senders(self) -> None:
        """Drop flood counters of people who have gone quiet (memory stays bounded)."""
        self._flood.forget_idle(self._clock())
