"""One conversation turn, end to end: lock the chat, load its state, run the dialogue, store
what it decided in the same transaction, and answer the commands that read stored data.

Channels (Telegram, the console) call `ChatService.handle` with plain values and send back the
replies; they never touch the database or the dialogue themselves.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.dialogue import (
    Command,
    Dialogue,
    Event,
    ForgetUser,
    LeadRequest,
    QuestionAsked,
    Reply,
    SessionState,
    Turn,
    UnansweredQuestion,
)
from bot.knowledge import Knowledge, Language
from bot.language import parse_language
from bot.staff import describe_lead, leads_report, stats_report, unanswered_report
from bot.storage import Store

logger = logging.getLogger(__name__)

ADMIN_COMMANDS = frozenset({"leads", "unanswered", "stats"})
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
        knowledge: Knowledge,
        *,
        admin_chat_ids: tuple[int, ...] = (),
        staff_language: Language = "en",
        clock: Callable[[], datetime] = utc_now,
        on_lead: Callable[[], None] | None = None,
    ) -> None:
        self._dialogue = dialogue
        self._store = store
        self._knowledge = knowledge
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

    async def handle(self, incoming: Incoming) -> Response:
        """Handle one update; return the replies to send to its chat."""
        event = incoming.event
        hint = parse_language(incoming.language_code) or "en"
        command = event.name if isinstance(event, Command) else None
        if command in ADMIN_COMMANDS and self.is_admin(incoming.chat_id):
            return Response([Reply(await self._admin_reply(command or ""))], hint)
        if not incoming.private:
            # Groups (such as the staff chat) get answers to admin commands only.
            return Response([], hint)
        chat_key = self.chat_key(incoming.chat_id)
        lock = self._locks.get(chat_key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_key] = lock
        async with lock:
            logger.info("update chat=%s event=%s", chat_key[:8], type(event).__name__)
            if command == "mydata":
                return await self._my_data(incoming)
            return await self._turn(incoming, chat_key)

    async def _turn(self, incoming: Incoming, chat_key: str) -> Response:
        hint = parse_language(incoming.language_code)
        user_key = self.user_key(incoming.chat_id)
        lead_saved = False
        async with self._store.unit() as unit:
            stored = await unit.lock_state(chat_key)
            state = SessionState.from_dict(stored) if stored else SessionState()
            turn: Turn = self._dialogue.handle(
                state, incoming.event, now=self._clock(), language_hint=hint
            )
            forget = False
            for effect in turn.effects:
                if isinstance(effect, UnansweredQuestion):
                    await unit.add_unanswered(user_key, effect.language, effect.text)
                elif isinstance(effect, QuestionAsked):
                    await unit.record_question(effect.outcome, effect.language)
                elif isinstance(effect, LeadRequest):
                    await unit.save_lead(
                        reference=effect.reference,
                        user_key=user_key,
                        language=effect.language,
                        name=effect.name,
                        phone=effect.phone,
                        email=effect.email,
                        topic=effect.topic,
                        preferred_time=effect.preferred_time,
                        voicemail_ok=effect.voicemail_ok,
                        urgent=effect.urgent,
                        notify_chat_ids=tuple(sorted(self._admin_chat_ids)),
                    )
                    lead_saved = True
                elif isinstance(effect, ForgetUser):
                    forget = True
            if forget:
                await unit.forget(chat_key, user_key)
            else:
                await unit.save_state(chat_key, turn.state.to_dict())
        if lead_saved:
            logger.info("lead stored chat=%s", chat_key[:8])
            if self.on_lead is not None:
                self.on_lead()
        final = turn.state
        language = final.chosen_language or final.last_language or hint or "en"
        return Response(list(turn.replies), language)

    async def _my_data(self, incoming: Incoming) -> Response:
        knowledge = self._knowledge
        data = await self._store.user_data(
            self.chat_key(incoming.chat_id), self.user_key(incoming.chat_id)
        )
        state = SessionState.from_dict(data.state) if data.state else SessionState()
        language = (
            state.chosen_language
            or state.last_language
            or parse_language(incoming.language_code)
            or "en"
        )
        if data.state is None and not data.leads and not data.unanswered:
            return Response([Reply(knowledge.text(language, "mydata_nothing"))], language)
        lines = [knowledge.text(language, "mydata_header")]
        if data.state is not None:
            lines.append(
                knowledge.text(
                    language,
                    "mydata_session",
                    language=knowledge.text(language, "language_name"),
                )
            )
        for lead in data.leads:
            lines.append(
                knowledge.text(language, "mydata_lead", **describe_lead(knowledge, lead, language))
            )
        if data.unanswered:
            lines.append(knowledge.text(language, "mydata_questions", count=str(data.unanswered)))
        lines.append(knowledge.text(language, "mydata_forget"))
        return Response([Reply("\n\n".join(lines))], language)

    async def _admin_reply(self, command: str) -> str:
        language = self._staff_language
        if command == "leads":
            leads = await self._store.newest_leads(NEWEST_LEADS)
            return leads_report(self._knowledge, leads, language)
        if command == "unanswered":
            questions = await self._store.unanswered_texts()
            return unanswered_report(self._knowledge, questions, language)
        return stats_report(self._knowledge, await self._store.stats(), language)
