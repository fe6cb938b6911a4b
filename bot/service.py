"""One conversation turn, end to end: lock the chat, load its state (and the records a command
shows), run the dialogue, and store what it decided in the same transaction.

Channels (Telegram, the console) call `ChatService.handle` with plain values and send back the
replies; they never touch the database or the dialogue themselves.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.dialogue import (
    Dialogue,
    Event,
    ForgetUser,
    QuestionAsked,
    Reply,
    SaveLead,
    Turn,
    UnansweredQuestion,
    decode_state,
    encode_state,
    records_needed,
)
from bot.dialogue.engine import RecordsNeeded
from bot.knowledge import Language
from bot.language import parse_language
from bot.records import PersonData, Records, StaffView
from bot.storage import Store, Unit

logger = logging.getLogger(__name__)

NEWEST_LEADS = 10


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Response:
    """The replies to one update, and the language the conversation is in now."""

    replies: list[Reply]
    language: Language


@dataclass(frozen=True, slots=True)
class Incoming:
    """An update reduced to plain values by a channel."""

    chat_id: int
    user_id: int | None
    language_code: str | None
    event: Event
    private: bool = True


class ChatService:
    """Handles updates of many chats: concurrently across chats, one at a time within one."""

    def __init__(
        self,
        dialogue: Dialogue,
        store: Store,
        *,
        admin_chat_ids: tuple[int, ...] = (),
        staff_language: Language = "en",
        clock: Callable[[], datetime] = utc_now,
        on_lead: Callable[[], None] | None = None,
    ) -> None:
        self._dialogue = dialogue
        self._store = store
        self._admin_chat_ids = frozenset(admin_chat_ids)
        self._staff_language = staff_language
        self._clock = clock
        self.on_lead = on_lead
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def chat_key(self, chat_id: int) -> str:
        """The keyed hash that stands for a chat in storage and logs."""
        return self._store.vault.identifier(f"chat:{chat_id}")

    def user_key(self, chat_id: int) -> str:
        """The keyed hash that stands for a person (their private chat) in storage."""
        return self._store.vault.identifier(f"user:{chat_id}")

    def is_admin(self, chat_id: int) -> bool:
        """Whether this chat receives staff notifications and may use admin commands."""
        return chat_id in self._admin_chat_ids

    @asynccontextmanager
    async def holding(self, chat_id: int) -> AsyncIterator[None]:
        """Hold one chat: its updates are handled (and answered) one at a time, in order."""
        chat_key = self.chat_key(chat_id)
        lock = self._locks.get(chat_key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_key] = lock
        async with lock:
            yield

    async def handle(self, incoming: Incoming) -> Response:
        """Handle one update; return the replies to send to its chat.

        The caller holds the chat (`holding`) from here until its replies are sent, so that
        a slow send cannot let the next update's replies overtake them.
        """
        admin = self.is_admin(incoming.chat_id)
        needed = records_needed(incoming.event, admin=admin)
        if not incoming.private:
            records = await self._staff_records(needed) if needed else None
            turn = self._dialogue.handle(
                decode_state(None),
                incoming.event,
                now=self._clock(),
                language_hint=self._staff_language,
                records=records,
                admin=admin,
                private=False,
            )
            return Response(list(turn.replies), self._staff_language)
        chat_key = self.chat_key(incoming.chat_id)
        logger.info("update chat=%s event=%s", chat_key[:8], type(incoming.event).__name__)
        return await self._turn(incoming, chat_key, admin, needed)

    async def _turn(
        self, incoming: Incoming, chat_key: str, admin: bool, needed: RecordsNeeded | None
    ) -> Response:
        hint = parse_language(incoming.language_code)
        user_key = self.user_key(incoming.chat_id)
        lead_saved = False
        async with self._store.unit() as unit:
            stored = await unit.lock_state(chat_key)
            state = decode_state(stored)
            records: Records | None = None
            if needed == "person":
                person = await unit.person_records(user_key)
                records = PersonData(
                    has_session=stored is not None,
                    draft_step=state.step if state.step not in (None, "forget") else None,
                    leads=tuple(person.leads),
                    unanswered=person.unanswered,
                )
            elif needed is not None:
                records = await self._staff_records(needed)
            turn: Turn = self._dialogue.handle(
                state,
                incoming.event,
                now=self._clock(),
                language_hint=hint,
                records=records,
                admin=admin,
            )
            lead_saved = await self._apply(unit, turn, chat_key, user_key)
        if lead_saved:
            logger.info("lead stored chat=%s", chat_key[:8])
            if self.on_lead is not None:
                self.on_lead()
        return Response(list(turn.replies), turn.state.language(hint))

    async def _apply(self, unit: Unit, turn: Turn, chat_key: str, user_key: str) -> bool:
        """Carry out the effects of a turn in its transaction; return whether a lead was saved."""
        lead_saved = False
        for effect in turn.effects:
            if isinstance(effect, UnansweredQuestion):
                await unit.add_unanswered(user_key, effect.language, effect.text)
            elif isinstance(effect, QuestionAsked):
                await unit.record_question(effect.outcome, effect.language)
            elif isinstance(effect, SaveLead):
                await unit.save_lead(
                    effect.lead,
                    user_key=user_key,
                    update=effect.update,
                    notify_chat_ids=tuple(sorted(self._admin_chat_ids)),
                )
                lead_saved = True
            elif isinstance(effect, ForgetUser):
                await unit.forget(chat_key, user_key)
                return lead_saved
        await unit.save_state(chat_key, encode_state(turn.state))
        return lead_saved

    async def _staff_records(self, needed: RecordsNeeded) -> StaffView:
        if needed == "leads":
            return StaffView(leads=tuple(await self._store.newest_leads(NEWEST_LEADS)))
        if needed == "unanswered":
            return StaffView(unanswered=tuple(await self._store.unanswered_texts()))
        return StaffView(stats=await self._store.stats())
