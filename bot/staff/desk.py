"""The staff's side of a request, in the database: where it stands and who has it, its history,
the staff-chat messages about it, and the messages relayed between the staff and the person.

A `Desk` works inside one transaction (a turn's, or its own), so that a change, its history
line, the staff messages to edit and the messages to send are committed together or not at
all. Staff members' names and relayed texts are encrypted like the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update

from bot.chats import TELEGRAM, Channel, parse_chat
from bot.records import EventKind, LeadEvent, StoredLead
from bot.staff.cards import StaffAction
from bot.storage.crypto import Vault
from bot.storage.sessions import DataSession
from bot.storage.store import (
    LeadEventRow,
    LeadRow,
    OutboxRow,
    StaffMessageRow,
    rerender_staff_messages,
    stored_lead,
)

# Why an action changed nothing.
Refusal = Literal["gone", "taken", "closed", "not_taken", "no_chat"]
# Kinds of staff messages the bot renders from the requests they name.
CARD_KINDS = frozenset({"new", "updated", "reminder", "digest"})


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What a staff action did: the request as it now stands, or why nothing changed."""

    stored: StoredLead | None
    refused: Refusal | None = None


@dataclass(frozen=True, slots=True)
class RelayTarget:
    """Where a staff member's message goes: the person's chat, in their language."""

    chat_id: int
    language: str
    reference: str
    channel: Channel = TELEGRAM


@dataclass(frozen=True, slots=True)
class StaffMessage:
    """A message in a staff chat about one request (a digest has one per request)."""

    id: int
    chat_id: int
    message_id: int
    kind: str
    ref: str
    attempts: int = 0


class Desk:
    """The staff's side of requests, within one transaction."""

    def __init__(self, session: DataSession, vault: Vault) -> None:
        self._session = session
        self._vault = vault

    # --- staff actions -----------------------------------------------------------------------

    async def act(
        self, reference: str, action: StaffAction, actor: str, chat_id: int, now: datetime
    ) -> ActionOutcome:
        """Carry out a staff member's button press on a request.

        "take" succeeds for one staff member only: the row is locked, and whoever comes second
        is told who has it.
        """
        row = await self._locked(reference)
        if row is None:
            return ActionOutcome(None, "gone")
        if row.status == "done" and action != "message":
            return ActionOutcome(self._stored(row), "closed")
        if action == "take":
            if row.status == "claimed":
                return ActionOutcome(self._stored(row), "taken")
            row.status, row.owner = "claimed", self._vault.encrypt(actor)
            await self._event(row, "claimed", now, actor)
        elif action == "release":
            if row.status != "claimed":
                return ActionOutcome(self._stored(row), "not_taken")
            row.status, row.owner = "received", None
            await self._event(row, "released", now, actor)
        elif action == "done":
            row.status, row.closed_at, row.relay_until = "done", now, None
            if row.owner is None:
                row.owner = self._vault.encrypt(actor)
            await self._event(row, "done", now, actor)
        elif action == "unreached":
            row.unreached += 1
            await self._event(row, "unreached", now, actor)
        else:  # message: the notifier asks the staff chat for the text
            if row.chat is None:
                return ActionOutcome(self._stored(row), "no_chat")
            if row.status == "done":
                return ActionOutcome(self._stored(row), "closed")
            self._queue(row.id, chat_id, "prompt", now)
            return ActionOutcome(self._stored(row))
        await self.touch(reference)
        return ActionOutcome(self._stored(row))

    async def touch(self, reference: str) -> None:
        """Have every staff message about `reference` rendered again."""
        await rerender_staff_messages(self._session, [reference])

    # --- relays ------------------------------------------------------------------------------

    async def relay_to_person(
        self,
        reference: str,
        *,
        actor: str,
        text: str,
        staff_chat_id: int,
        staff_message_id: int,
        now: datetime,
        until: datetime,
    ) -> RelayTarget | Refusal:
        """Record a staff member's message to the person; open their replies until `until`."""
        row = await self._locked(reference)
        if row is None:
            return "gone"
        if row.chat is None:
            return "no_chat"
        if row.status == "done":
            return "closed"
        row.relay_until = until
        await self._event(row, "to_person", now, actor, text)
        await self.record_message(staff_chat_id, staff_message_id, "reply", [reference], now)
        channel, chat_id = parse_chat(self._vault.decrypt(row.chat))
        return RelayTarget(chat_id, row.language, reference, channel)

    async def active_relay(self, user_key: str, now: datetime) -> str | None:
        """The reference of the request whose staff this person is writing to, if any."""
        return await self._session.scalar(
            select(LeadRow.reference)
            .where(
                LeadRow.user_key == user_key,
                LeadRow.relay_until > now,
                LeadRow.status != "done",
            )
            .order_by(LeadRow.relay_until.desc())
            .limit(1)
        )

    async def relay_to_staff(
        self,
        reference: str,
        user_key: str,
        text: str,
        staff_chat_ids: Sequence[int],
        now: datetime,
    ) -> bool:
        """Queue the person's message for the staff chats, as a reply to the request."""
        row = await self._session.scalar(
            select(LeadRow).where(LeadRow.reference == reference, LeadRow.user_key == user_key)
        )
        if row is None:
            return False
        await self._event(row, "from_person", now, None, text)
        for chat_id in staff_chat_ids:
            self._queue(row.id, chat_id, "relay", now, text)
        return True

    async def end_relay(self, reference: str, user_key: str) -> None:
        """The person stops writing to the staff (/cancel)."""
        await self._session.execute(
            update(LeadRow)
            .where(LeadRow.reference == reference, LeadRow.user_key == user_key)
            .values(relay_until=None)
            .execution_options(synchronize_session=False)
        )

    # --- reminders ---------------------------------------------------------------------------

    async def queue_reminders(
        self, now: datetime, after: timedelta, staff_chat_ids: Sequence[int]
    ) -> list[str]:
        """Post again, once, each urgent request nobody has taken for `after`."""
        rows = (
            await self._session.scalars(
                select(LeadRow)
                .where(
                    LeadRow.urgent.is_(True),
                    LeadRow.status == "received",
                    LeadRow.reminded_at.is_(None),
                    LeadRow.created_at <= now - after,
                )
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            row.reminded_at = now
            await self._event(row, "reminded", now, None)
            for chat_id in staff_chat_ids:
                self._queue(row.id, chat_id, "reminder", now)
        return [row.reference for row in rows]

    # --- staff messages ----------------------------------------------------------------------

    async def record_message(
        self, chat_id: int, message_id: int, kind: str, references: Sequence[str], now: datetime
    ) -> None:
        """Remember a staff-chat message about these requests (a digest names several).

        A request deleted while its message was on its way (a `/forget` during the send) finds
        no row to mark when it goes: its message is marked here instead, to be cleared at once.
        The requests' rows are locked so that a deletion runs wholly before or after this.
        """
        still_there = set(
            await self._session.scalars(
                select(LeadRow.reference)
                .where(LeadRow.reference.in_(list(references)))
                .with_for_update()
            )
        )
        for reference in references:
            self._session.add(
                StaffMessageRow(
                    chat_id=chat_id,
                    message_id=message_id,
                    kind=kind,
                    ref=reference,
                    dirty=reference not in still_there,
                    attempts=0,
                    created_at=now,
                )
            )

    async def message_about(self, chat_id: int, message_id: int) -> list[StaffMessage]:
        """The requests a staff-chat message is about (none when it is not the bot's)."""
        rows = await self._session.scalars(
            select(StaffMessageRow)
            .where(StaffMessageRow.chat_id == chat_id, StaffMessageRow.message_id == message_id)
            .order_by(StaffMessageRow.id)
        )
        return [_staff_message(row) for row in rows]

    async def latest_card(self, chat_id: int, reference: str) -> int | None:
        """The newest card about a request in a staff chat, for replies to thread under."""
        return await self._session.scalar(
            select(StaffMessageRow.message_id)
            .where(
                StaffMessageRow.chat_id == chat_id,
                StaffMessageRow.ref == reference,
                StaffMessageRow.kind.in_(CARD_KINDS),
            )
            .order_by(StaffMessageRow.id.desc())
            .limit(1)
        )

    async def dirty_messages(self, limit: int = 50) -> list[list[StaffMessage]]:
        """Staff messages to render again, each as the rows of one message."""
        keys = (
            await self._session.execute(
                select(StaffMessageRow.chat_id, StaffMessageRow.message_id)
                .where(StaffMessageRow.dirty.is_(True))
                .group_by(StaffMessageRow.chat_id, StaffMessageRow.message_id)
                .order_by(func.min(StaffMessageRow.id))
                .limit(limit)
            )
        ).all()
        return [await self.message_about(chat_id, message_id) for chat_id, message_id in keys]

    async def rendered(self, message: Sequence[StaffMessage]) -> None:
        """Record that a message was rendered again."""
        await self._session.execute(
            update(StaffMessageRow)
            .where(StaffMessageRow.id.in_([row.id for row in message]))
            .values(dirty=False)
            .execution_options(synchronize_session=False)
        )

    async def retry_render(self, message: Sequence[StaffMessage]) -> None:
        """Count a failed edit; it is tried again with the next pass."""
        await self._session.execute(
            update(StaffMessageRow)
            .where(StaffMessageRow.id.in_([row.id for row in message]))
            .values(attempts=StaffMessageRow.attempts + 1)
            .execution_options(synchronize_session=False)
        )

    async def forget_messages(self, message: Sequence[StaffMessage]) -> None:
        """Stop tracking a message (its requests are gone, and it was cleared or cannot be)."""
        await self._session.execute(
            delete(StaffMessageRow).where(StaffMessageRow.id.in_([row.id for row in message]))
        )

    async def requests(self, references: Sequence[str]) -> dict[str, StoredLead]:
        """The requests still stored among `references`."""
        if not references:
            return {}
        rows = await self._session.scalars(
            select(LeadRow).where(LeadRow.reference.in_(list(references)))
        )
        return {row.reference: self._stored(row) for row in rows}

    # --- reading -----------------------------------------------------------------------------

    async def open_requests(
        self, *, older_than: datetime | None = None, unclaimed_only: bool = False, limit: int = 50
    ) -> list[StoredLead]:
        """Requests not done yet (optionally only unclaimed, or only those older than a time),
        oldest first."""
        query = select(LeadRow).where(LeadRow.status != "done")
        if unclaimed_only:
            query = query.where(LeadRow.status == "received")
        if older_than is not None:
            query = query.where(LeadRow.created_at < older_than)
        rows = await self._session.scalars(query.order_by(LeadRow.created_at).limit(limit))
        return [self._stored(row) for row in rows]

    async def all_requests(self) -> list[StoredLead]:
        """Every request with its history, oldest first (for the export)."""
        rows = (await self._session.scalars(select(LeadRow).order_by(LeadRow.id))).all()
        return [stored_lead(row, self._vault, await self.history(row.id)) for row in rows]

    async def history(self, lead_id: int) -> list[LeadEvent]:
        """A request's history, oldest first."""
        rows = await self._session.scalars(
            select(LeadEventRow).where(LeadEventRow.lead_id == lead_id).order_by(LeadEventRow.id)
        )
        vault = self._vault
        return [
            LeadEvent(
                at=row.at,
                kind=row.kind,  # type: ignore[arg-type]
                actor=vault.decrypt_optional(row.actor),
                text=vault.decrypt_optional(row.text),
            )
            for row in rows
        ]

    # --- helpers -----------------------------------------------------------------------------

    async def _locked(self, reference: str) -> LeadRow | None:
        return await self._session.scalar(
            select(LeadRow).where(LeadRow.reference == reference).with_for_update()
        )

    def _stored(self, row: LeadRow) -> StoredLead:
        return stored_lead(row, self._vault)

    async def _event(
        self,
        row: LeadRow,
        kind: EventKind,
        now: datetime,
        actor: str | None,
        text: str | None = None,
    ) -> None:
        self._session.add(
            LeadEventRow(
                lead_id=row.id,
                at=now,
                kind=kind,
                actor=self._vault.encrypt_optional(actor),
                text=self._vault.encrypt_optional(text),
            )
        )

    def _queue(
        self, lead_id: int, chat_id: int, kind: str, now: datetime, text: str | None = None
    ) -> None:
        self._session.add(
            OutboxRow(
                lead_id=lead_id,
                chat_id=chat_id,
                kind=kind,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                text=self._vault.encrypt_optional(text),
            )
        )


def _staff_message(row: StaffMessageRow) -> StaffMessage:
    return StaffMessage(row.id, row.chat_id, row.message_id, row.kind, row.ref, row.attempts)
