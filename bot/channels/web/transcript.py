"""What the web chat stores: its sessions (a hash of each token) and their messages, in order,
encrypted; a turn's message and replies are written in the turn's own transaction.

No Starlette here: the routes (`bot.channels.web.channel`) call these with plain values.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import TypeAdapter
from sqlalchemy import delete, func, select, update

from bot.dialogue import Button, ButtonPress, Command, Reply, TextMessage
from bot.faq.knowledge import Language
from bot.host.turns import Incoming
from bot.storage.sessions import DataSession
from bot.storage.store import SessionRow, Store, Unit, WebMessageRow, WebSessionRow

Sender = Literal["person", "assistant", "firm"]
TOKEN_BYTES = 32  # 256 bits
# A session with no message for this long is closed, with its messages and state; the page
# warns before and lets the person keep it open (the privacy notice says 30 minutes).
IDLE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Body:
    """A message's text and buttons, stored encrypted as JSON."""

    text: str
    buttons: tuple[Button, ...] = ()


_BODY = TypeAdapter(Body)


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a web chat, as the API shows it."""

    seq: int
    sender: Sender
    language: Language
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session: its id (the chat's id on the web channel), language and last activity."""

    id: int
    language: Language
    seen_at: datetime


def new_token() -> str:
    """A random 256-bit token, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (a token is random, so no key or salt is needed
    to keep it from being guessed from its hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _language(value: str) -> Language:
    return "es" if value == "es" else "en"


def _sender(value: str) -> Sender:
    return "person" if value == "person" else "firm" if value == "firm" else "assistant"


class Transcripts:
    """The web chat's sessions and messages in one store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def open_session(self, language: Language, now: datetime) -> tuple[str, WebSession]:
        """Create a session; return its token (never stored) and the session."""
        token = new_token()
        async with self._store.transaction() as session:
            row = WebSessionRow(
                token_hash=token_hash(token), language=language, created_at=now, seen_at=now
            )
            session.add(row)
            await session.flush()
            found = WebSession(row.id, language, now)
        return token, found

    async def find(self, token: str, not_seen_since: datetime) -> WebSession | None:
        """The live session of `token`: None when unknown, or idle since before the cutoff."""
        async with self._store.reading() as session:
            row = await session.scalar(
                select(WebSessionRow).where(WebSessionRow.token_hash == token_hash(token))
            )
        if row is None or row.seen_at < not_seen_since:
            return None
        return WebSession(row.id, _language(row.language), row.seen_at)

    async def touch(self, session_id: int, now: datetime, language: Language | None) -> None:
        """Mark the session active now (and in `language`, when given)."""
        values: dict[str, object] = {"seen_at": now}
        if language is not None:
            values["language"] = language
        async with self._store.transaction() as session:
            await session.execute(
                update(WebSessionRow).where(WebSessionRow.id == session_id).values(**values)
            )

    async def turn_replies(self, session_id: int, client_msg_id: str) -> list[Message] | None:
        """The replies of the turn `client_msg_id`, when it was already taken (else None)."""
        async with self._store.reading() as session:
            rows = (
                await session.scalars(
                    select(WebMessageRow)
                    .where(
                        WebMessageRow.session_id == session_id,
                        WebMessageRow.turn == client_msg_id,
                    )
                    .order_by(WebMessageRow.seq)
                )
            ).all()
        if not rows:
            return None
        messages = [self._message(row) for row in rows]
        return [message for message in messages if message.sender != "person"]

    async def history(self, session_id: int, after: int) -> list[Message]:
        """Every message of the session with a larger `seq`, in order."""
        async with self._store.reading() as session:
            rows = (
                await session.scalars(
                    select(WebMessageRow)
                    .where(WebMessageRow.session_id == session_id, WebMessageRow.seq > after)
                    .order_by(WebMessageRow.seq)
                )
            ).all()
        messages = [self._message(row) for row in rows]
        return [message for message in messages if message.text]

    async def button_label(self, session_id: int, data: str) -> str | None:
        """The label of the newest button offered with `data`, to show what the person chose."""
        async with self._store.reading() as session:
            rows = (
                await session.scalars(
                    select(WebMessageRow)
                    .where(
                        WebMessageRow.session_id == session_id,
                        WebMessageRow.sender == "assistant",
                    )
                    .order_by(WebMessageRow.seq.desc())
                    .limit(20)
                )
            ).all()
        for row in rows:
            body = _BODY.validate_json(self._store.vault.decrypt(row.body))
            for button in body.buttons:
                if button.data == data:
                    return button.label
        return None

    async def append(
        self,
        session: DataSession,
        session_id: int,
        messages: list[tuple[Sender, Language, Body]],
        *,
        turn: str | None,
        now: datetime,
    ) -> list[Message]:
        """Add messages at the end of a session's transcript, in `session`'s transaction (the
        caller holds the chat, so no other turn numbers them meanwhile)."""
        last = await session.scalar(
            select(func.max(WebMessageRow.seq)).where(WebMessageRow.session_id == session_id)
        )
        seq = last or 0
        written = []
        for sender, language, body in messages:
            seq += 1
            session.add(
                WebMessageRow(
                    session_id=session_id,
                    seq=seq,
                    sender=sender,
                    turn=turn,
                    language=language,
                    body=self._store.vault.encrypt(_BODY.dump_json(body).decode("utf-8")),
                    created_at=now,
                )
            )
            written.append(Message(seq, sender, language, body.text, body.buttons))
        await session.flush()
        return written

    async def language_of(self, session: DataSession, session_id: int) -> Language | None:
        """The language of a session still open, in `session`'s transaction (else None)."""
        found = await session.scalar(
            select(WebSessionRow.language).where(WebSessionRow.id == session_id)
        )
        return None if found is None else _language(found)

    async def clear(self, session: DataSession, session_id: int) -> None:
        """Delete a session's messages (a /forget: the session itself stays open)."""
        await session.execute(delete(WebMessageRow).where(WebMessageRow.session_id == session_id))

    async def close(self, session_id: int, chat_key: str) -> None:
        """Delete a session, its messages and its conversation's state."""
        async with self._store.transaction() as session:
            await session.execute(
                delete(WebMessageRow).where(WebMessageRow.session_id == session_id)
            )
            await session.execute(delete(WebSessionRow).where(WebSessionRow.id == session_id))
            await session.execute(delete(SessionRow).where(SessionRow.chat_key == chat_key))

    async def idle_sessions(self, not_seen_since: datetime, limit: int = 200) -> list[int]:
        """Sessions idle since before the cutoff (to close)."""
        async with self._store.reading() as session:
            found = await session.scalars(
                select(WebSessionRow.id)
                .where(WebSessionRow.seen_at < not_seen_since)
                .order_by(WebSessionRow.seen_at)
                .limit(limit)
            )
            return list(found)

    def _message(self, row: WebMessageRow) -> Message:
        body = _BODY.validate_json(self._store.vault.decrypt(row.body))
        return Message(
            row.seq, _sender(row.sender), _language(row.language), body.text, body.buttons
        )


class TurnTranscript:
    """Writes one turn of a web chat into its transcript, inside the turn's transaction: the
    person's message, then the replies (a staff member's relayed message as the firm's)."""

    def __init__(
        self,
        transcripts: Transcripts,
        session_id: int,
        client_msg_id: str,
        shown: str,
        now: datetime,
    ) -> None:
        self._transcripts = transcripts
        self._session_id = session_id
        self._client_msg_id = client_msg_id
        self._shown = shown
        self._now = now
        self.written: list[Message] = []

    async def keep(
        self,
        unit: Unit,
        incoming: Incoming,
        replies: tuple[Reply, ...],
        *,
        language: Language,
        forgotten: bool,
    ) -> None:
        """Store the person's message and the replies, in `unit`."""
        session = unit.session
        if forgotten:
            await self._transcripts.clear(session, self._session_id)
        messages: list[tuple[Sender, Language, Body]] = [
            ("person", language, Body("" if forgotten else self._shown))
        ]
        messages.extend(
            ("firm" if reply.from_firm else "assistant", language, Body(reply.text, reply.buttons))
            for reply in replies
            if not reply.toast
        )
        self.written = await self._transcripts.append(
            session, self._session_id, messages, turn=self._client_msg_id, now=self._now
        )
        # The session was active now, in the conversation's language (its errors' language).
        await session.execute(
            update(WebSessionRow)
            .where(WebSessionRow.id == self._session_id)
            .values(seen_at=self._now, language=language)
        )


def event_of(
    *, text: str | None, button: str | None, command: str | None
) -> TextMessage | ButtonPress | Command:
    """The engine's event for one of the three kinds of turn (exactly one is given)."""
    if command is not None:
        return Command(command)
    if button is not None:
        return ButtonPress(button)
    typed = text or ""
    stripped = typed.strip()
    if stripped.startswith("/") and len(stripped) > 1 and " " not in stripped:
        return Command(stripped[1:].lower())
    return TextMessage(typed)
