"""What happens in the staff chats: the staff commands, the buttons under requests ("I'll take
it", "Done", "Couldn't reach", "Release", "Message them"), and the staff's replies, relayed to
the person as messages from the firm without showing who wrote them.

A press or a reply is one transaction: the request's new status, its history line, the staff
messages to edit, and (for a reply) the message owed to the person, committed together. The
edits and the message to the person are then sent by the notifier and the person's chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.chats import Channel
from bot.dialogue import (
    ButtonPress,
    Command,
    Dialogue,
    Event,
    Reply,
    TextMessage,
)
from bot.faq.knowledge import Language
from bot.reports import leads_report, stats_report, unanswered_report
from bot.staff.cards import StaffAction, StaffDesk, parse_staff_button
from bot.staff.desk import ActionOutcome, Desk, Refusal
from bot.storage.owed import owe
from bot.storage.store import Store, Unit

logger = logging.getLogger(__name__)

NEWEST_LEADS = 10
DEFAULT_RELAY_HOURS = 48
_REFUSAL_KEYS: dict[Refusal, str] = {
    "gone": "staff_toast_gone",
    "taken": "staff_toast_taken",
    "closed": "staff_toast_closed",
    "not_taken": "staff_toast_not_taken",
    "no_chat": "staff_toast_no_chat",
}


async def _handled_once(unit: Unit, update_id: int) -> bool:
    """Record a staff chat's update as handled; False when it was already (a redelivery)."""
    if await unit.first_time(update_id):
        return True
    logger.info("update %s was already handled", update_id)
    return False


# The commands the staff chats answer, each with what it shows (bot.reports).
STAFF_COMMANDS = frozenset({"leads", "unanswered", "stats"})


def is_staff_button(event: Event) -> bool:
    """Whether an event is a press of a staff button (under a request in a staff chat)."""
    return isinstance(event, ButtonPress) and parse_staff_button(event.data) is not None


class StaffRoom:
    """Handles the updates of the staff chats."""

    def __init__(
        self,
        dialogue: Dialogue,
        store: Store,
        *,
        staff_language: Language,
        relay_for: timedelta,
        clock: Callable[[], datetime],
        chat_key: Callable[[int, Channel], str],
        on_staff_work: Callable[[], None],
        on_owed: Callable[[str], None],
    ) -> None:
        self._dialogue = dialogue
        self._store = store
        self._language = staff_language
        self._relay_for = relay_for
        self._clock = clock
        self._chat_key = chat_key
        self._posts = StaffDesk(dialogue.writer)
        # From the host: wake the notifier; deliver the replies a chat is owed.
        self.on_staff_work = on_staff_work
        self.on_owed = on_owed

    def _text(self, key: str, /, **values: str) -> str:
        return self._dialogue.writer.text(self._language, key, **values)

    async def handle(
        self,
        event: Event,
        *,
        chat_id: int,
        admin: bool,
        message_id: int | None,
        reply_to: int | None,
        sender: str | None,
        update_id: int | None = None,
    ) -> tuple[list[Reply], str | None]:
        """Handle one update of a group chat or a staff chat: (replies to the chat, toast).

        With `update_id` (webhook mode, where Telegram may deliver an update again), a staff
        chat's update is recorded in the transaction of its effects and handled once.
        """
        if isinstance(event, ButtonPress) and (parsed := parse_staff_button(event.data)):
            if not admin:
                return [], self._text("staff_only")
            action, reference = parsed
            return [], await self._act(action, reference, chat_id, sender, update_id)
        if admin and isinstance(event, TextMessage) and reply_to is not None:
            replies = await self._relay(
                event.text, chat_id, message_id, reply_to, sender, update_id
            )
            return replies, None
        if admin and update_id is not None and not await self._handled_once_alone(update_id):
            return [], None
        if admin and isinstance(event, Command) and event.name in STAFF_COMMANDS:
            return [Reply(await self._report(event))], None
        # Nothing else is answered in a group: the bot speaks there only when asked.
        return [], None

    # --- buttons -----------------------------------------------------------------------------

    async def _handled_once_alone(self, update_id: int) -> bool:
        async with self._store.unit() as unit:
            return await _handled_once(unit, update_id)

    async def _act(
        self,
        action: StaffAction,
        reference: str,
        chat_id: int,
        sender: str | None,
        update_id: int | None,
    ) -> str | None:
        async with self._store.unit() as unit:
            if update_id is not None and not await _handled_once(unit, update_id):
                return None
            outcome = await Desk(unit.session, unit.vault).act(
                reference, action, sender or "?", chat_id, self._clock()
            )
        if outcome.refused is None:
            logger.info("staff action %s on a request", action)
            self.on_staff_work()
        return self._toast(action, reference, outcome)

    def _toast(self, action: StaffAction, reference: str, outcome: ActionOutcome) -> str:
        stored = outcome.stored
        if outcome.refused is not None:
            key = _REFUSAL_KEYS[outcome.refused]
            if outcome.refused == "gone":
                return self._text(key)
            if outcome.refused == "taken":
                owner = stored.owner if stored is not None else None
                return self._text(key, owner=owner or "?", reference=reference)
            if outcome.refused == "no_chat":
                return self._text(key)
            return self._text(key, reference=reference)
        if action == "unreached":
            count = stored.unreached if stored is not None else 0
            return self._text("staff_toast_unreached", count=str(count))
        if action == "message":
            return self._text("staff_toast_message")
        return self._text(f"staff_toast_{action}", reference=reference)

    # --- replies relayed to the person ---------------------------------------------------------

    async def _relay(
        self,
        text: str,
        chat_id: int,
        message_id: int | None,
        reply_to: int,
        sender: str | None,
        update_id: int | None,
    ) -> list[Reply]:
        now = self._clock()
        until = now + self._relay_for
        async with self._store.unit() as unit:
            if update_id is not None and not await _handled_once(unit, update_id):
                return []
            desk = Desk(unit.session, unit.vault)
            about = {message.ref for message in await desk.message_about(chat_id, reply_to)}
            if not about:
                return []  # a reply to someone else's message: the staff talking among themselves
            if len(about) > 1:
                return [Reply(self._text("staff_reply_unknown"))]
            (reference,) = about
            target = await desk.relay_to_person(
                reference,
                actor=sender or "?",
                text=text,
                staff_chat_id=chat_id,
                staff_message_id=message_id or 0,
                now=now,
                until=until,
            )
            if isinstance(target, str):
                reason = self._toast("message", reference, ActionOutcome(None, target))
                return [Reply(self._text("staff_reply_failed", reason=reason))]
            language: Language = "es" if target.language == "es" else "en"
            writer = self._dialogue.writer
            message = writer.text(
                language,
                "relay_from_firm",
                reference=reference,
                text=text,
                until=writer.text(
                    language, "time_in_zone", window=writer.local_time(until), zone=writer.zone
                ),
            )
            person_key = self._chat_key(target.chat_id, target.channel)
            await owe(
                unit, person_key, target.channel, target.chat_id, Reply(message, from_firm=True)
            )
        logger.info("a staff message was relayed to a person chat=%s", person_key[:8])
        self.on_owed(person_key)
        hours = str(int(self._relay_for.total_seconds() // 3600))
        return [Reply(self._text("staff_sent", reference=reference, hours=hours))]

    # --- staff commands ----------------------------------------------------------------------

    async def _report(self, command: Command) -> str:
        """What a staff command shows, read from the store and written for the staff."""
        store, writer = self._store, self._dialogue.writer
        if command.name == "leads":
            if command.argument.strip().lower() in ("open", "abiertas"):
                async with store.reading() as session:
                    found = await Desk(session, store.vault).open_requests(unclaimed_only=True)
                return leads_report(writer, found, only_open=True)
            return leads_report(writer, await store.newest_leads(NEWEST_LEADS), only_open=False)
        if command.name == "unanswered":
            return unanswered_report(writer, await store.unanswered_texts())
        return stats_report(writer, await store.stats())
