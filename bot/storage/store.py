"""Storage of conversations, leads, unanswered questions, staff notifications and statistics.

SQLAlchemy 2 async: SQLite by default, PostgreSQL at scale (several bot processes may share
it). Names, phone numbers, emails, topics, kept questions, conversation state and replies not
yet delivered are encrypted with the `Vault`; people are known only by a keyed hash of their
Telegram id. The schema is created and upgraded by Alembic (`bot.storage.migrations`); a database
behind the code is refused.

Every turn of one conversation happens in one transaction that holds a lock on that
conversation's row (and, across processes on PostgreSQL, an advisory lock held until its
replies are sent, see `Store.chat_guard`). SQLite takes its write lock only in transactions
that write (`Store.unit`); reads (`Store.reading`) do not wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from bot.chats import TELEGRAM, parse_chat
from bot.records import (
    LEAD_STATUSES,
    TIME_WINDOWS,
    Lead,
    LeadEvent,
    Stats,
    StoredLead,
    TimeWindow,
)
from bot.storage.crypto import DataKeyError, Vault, looks_encrypted
from bot.storage.sessions import (
    CHATS_HELD_AT_ONCE,
    DataSession,
    InlineSessions,
    WriteLockedError,
    create_engine,
    empty_wal,
    inline_sessions,
)

logger = logging.getLogger(__name__)

# Question counts and records of delivered replies wait this long in memory, then are written
# together.
FLUSH_SECONDS = 0.25
# How long a process's claim on a staff notification lasts unless it renews it (it does while
# the notification is on its way): the time another process waits to take over from one that
# died mid-send.
CLAIM_FOR = timedelta(seconds=15)
# The key people are named with, kept encrypted: reading it back also proves the data key.
IDENTIFIER_KEY = "identifier_key"
# How long `Store.healthy` tries to take SQLite's write lock (without waiting on the loop): a
# write of this process holds it for a millisecond, another process's for longer.
HEALTH_LOCK_SECONDS = 0.5
HEALTH_LOCK_PAUSE_SECONDS = 0.05
# How long a write waits for another process's hold on the SQLite file before it fails as a
# temporary problem (see `Store._writing`).
WRITE_LOCK_PATIENCE_SECONDS = 0.5
WRITE_LOCK_PAUSE_SECONDS = 0.02


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, also on SQLite (which stores it without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Encrypted(TypeDecorator[bytes]):
    """A value encrypted with the `Vault`: `Store.rotate_keys` re-encrypts every column of this
    type, and a value that is not encrypted is refused on its way in.

    The type marks; the code that writes encrypts. A vault belongs to a store (its keys, and the
    identifier key read from that database), while a column's type is one object shared by
    every engine of the process and is handed no store: encrypting here would need a vault in a
    global. Refusing plain values instead makes a forgotten `vault.encrypt` fail at its first
    write, in the test that makes it, rather than store the text.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        if value is not None and not looks_encrypted(value):
            raise ValueError("a value for an encrypted column was not encrypted")
        return value


class Base(DeclarativeBase):
    """The tables of the bot."""


class SessionRow(Base):
    __tablename__ = "sessions"

    chat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Replies decided but not yet delivered (encrypted), and since when.
    outbox: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    outbox_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    # When an unfinished booking expires (its answers are then deleted by a periodic job).
    draft_expires_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, index=True
    )


class LeadRow(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(2))
    name: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    phone: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    email: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    topic: Mapped[bytes] = mapped_column(Encrypted)
    preferred_time: Mapped[str] = mapped_column(String(16))
    voicemail_ok: Mapped[bool] = mapped_column(Boolean)
    urgent: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The person's chat, to relay the staff's messages to them (encrypted; None before 0003).
    chat: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    # Where the request stands: received, claimed (by `owner`, encrypted) or done.
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    owner: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    unreached: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Until when the person's messages go to the staff instead of the FAQ.
    relay_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LeadEventRow(Base):
    """A request's history: staff actions, reminders and relayed messages (encrypted)."""

    __tablename__ = "lead_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)
    text: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)


class StaffMessageRow(Base):
    """A message in a staff chat about a request (named by reference, never by person), so that
    it can be edited when the request changes and cleared when its person is forgotten. A
    digest about several requests has one row for each, in order."""

    __tablename__ = "staff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    # new, updated, reminder, digest (cards the bot renders), relay (a person's message),
    # prompt (the bot asking staff to write), reply (a staff member's own message).
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(32), index=True)
    # To be rendered again (a request changed or was deleted).
    dirty: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class UnansweredRow(Base):
    __tablename__ = "unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[bytes] = mapped_column(Encrypted)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failed: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # A relayed message (kind "relay"), encrypted.
    text: Mapped[bytes | None] = mapped_column(Encrypted, nullable=True)


class DailyStatRow(Base):
    """Questions counted by day, outcome and language: no text, no person, no row per question."""

    __tablename__ = "daily_stats"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(2), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class HandledUpdateRow(Base):
    """Telegram updates already handled: one delivered twice is handled once."""

    __tablename__ = "handled_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class MetaRow(Base):
    """The bot's own secrets (the key people are named with), encrypted."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(Encrypted)


class PlainMetaRow(Base):
    """Small values the bot keeps for itself that are no one's data (the day the open digest
    last went out), as plain text: kept apart from `meta`, where everything is encrypted."""

    __tablename__ = "plain_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class WebSessionRow(Base):
    """A visitor of the chat on the firm's website: only a hash of their token is kept."""

    __tablename__ = "web_sessions"
    # A session's id names its chat (and its person) for ever: SQLite must never reuse the id
    # of a deleted session, or a new visitor would inherit the old one's requests.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The last message (or extension): the session expires when it has been idle too long.
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class WebMessageRow(Base):
    """One message of a web chat, in order: the person's, the assistant's or the firm's
    (`sender`); `turn` is the `client_msg_id` of the turn that wrote it (a retry of that turn
    is answered from here); the text and buttons are encrypted."""

    __tablename__ = "web_messages"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("web_sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(16))
    turn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str] = mapped_column(String(2))
    body: Mapped[bytes] = mapped_column(Encrypted)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


def encrypted_columns() -> list[tuple[Table, list[Column[Any]]]]:
    """Every table that holds encrypted values, with those columns (`Store.rotate_keys`)."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, Encrypted)]
        if columns:
            found.append((table, columns))
    return found


@dataclass(frozen=True, slots=True)
class ChatRow:
    """What a turn reads of its chat: the state and the replies not yet delivered (decrypted)."""

    state: str | None
    outbox: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message due in a staff chat: a request's card ("new", "updated", "reminder"), a
    prompt to write to the person ("prompt"), or the person's message ("relay", `text`)."""

    outbox_id: int
    chat_id: int
    kind: str
    attempts: int
    stored: StoredLead
    text: str | None = None

    @property
    def lead(self) -> Lead:
        """The request."""
        return self.stored.lead


@dataclass(frozen=True, slots=True)
class PersonRecords:
    """The requests and the number of kept questions of one person."""

    leads: list[StoredLead]
    unanswered: int


@dataclass(frozen=True, slots=True)
class PendingOutbox:
    """Replies of one chat that were decided but not delivered."""

    chat_key: str
    outbox: str


def _now() -> datetime:
    return datetime.now(UTC)


def lead_from_row(row: LeadRow, vault: Vault) -> Lead:
    """The decrypted lead of a row."""
    return Lead(
        reference=row.reference,
        language="es" if row.language == "es" else "en",
        name=vault.decrypt_optional(row.name),
        phone=vault.decrypt_optional(row.phone),
        email=vault.decrypt_optional(row.email),
        topic=vault.decrypt(row.topic),
        preferred_time=_time_window(row.preferred_time),
        voicemail_ok=row.voicemail_ok,
        urgent=row.urgent,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def stored_lead(row: LeadRow, vault: Vault, history: Sequence[LeadEvent] = ()) -> StoredLead:
    """The decrypted request of a row, with where it stands."""
    return StoredLead(
        lead_from_row(row, vault),
        status=next((status for status in LEAD_STATUSES if status == row.status), "received"),
        owner=vault.decrypt_optional(row.owner),
        unreached=row.unreached,
        history=tuple(history),
        channel=_channel_of(row, vault),
    )


def _channel_of(row: LeadRow, vault: Vault) -> str:
    """The channel a request came through (Telegram for requests stored before the web chat)."""
    if row.chat is None:
        return TELEGRAM
    return parse_chat(vault.decrypt(row.chat))[0]


def _time_window(value: str) -> TimeWindow:
    return next((window for window in TIME_WINDOWS if window == value), "any")


def _insert(dialect: str, table: Any) -> Any:
    return postgresql_insert(table) if dialect == "postgresql" else sqlite_insert(table)


# The two statements of every turn, built once (only their values change).
_LOCK_CHAT = (
    select(SessionRow.state, SessionRow.outbox)
    .where(SessionRow.chat_key == bindparam("chat_key"))
    .with_for_update()
)
_SAVE_CHAT = (
    update(SessionRow)
    .where(SessionRow.chat_key == bindparam("for_chat"))
    .values(
        state=bindparam("new_state"),
        outbox=bindparam("new_outbox"),
        outbox_since=bindparam("new_outbox_since"),
        draft_expires_at=bindparam("new_draft_expires_at"),
        updated_at=bindparam("new_updated_at"),
    )
    .execution_options(synchronize_session=False)  # no ORM objects of this table are loaded
)


class Unit:
    """One transaction: the work of handling one update, committed all together or not at all."""

    def __init__(
        self,
        session: DataSession,
        vault: Vault,
        dialect: str,
        delivered: dict[str, bytes] | None = None,
    ) -> None:
        self._session = session
        self._vault = vault
        self._dialect = dialect
        self._delivered = delivered if delivered is not None else {}
        # Set when a person's data is deleted: the store then empties SQLite's log after commit.
        self.erased = False

    @property
    def session(self) -> DataSession:
        """The transaction's session (for `bot.staff.desk`)."""
        return self._session

    @property
    def vault(self) -> Vault:
        """The vault the transaction encrypts with."""
        return self._vault

    async def first_time(self, update_id: int) -> bool:
        """Record that `update_id` is handled in this transaction; False if it already was."""
        inserted = await self._session.execute(
            _insert(self._dialect, HandledUpdateRow)
            .values(update_id=update_id, handled_at=_now())
            .on_conflict_do_nothing()
        )
        return bool(getattr(inserted, "rowcount", 0))

    async def lock_chat(self, chat_key: str) -> ChatRow:
        """Lock this chat's row for the transaction and return what it holds."""
        key = {"chat_key": chat_key}
        row = (await self._session.execute(_LOCK_CHAT, key)).first()
        if row is None:
            values = {"chat_key": chat_key, "state": None, "updated_at": _now()}
            await self._session.execute(
                _insert(self._dialect, SessionRow).values(values).on_conflict_do_nothing()
            )
            row = (await self._session.execute(_LOCK_CHAT, key)).first()
        if row is None:
            return ChatRow(None, None)
        state, outbox = row
        if outbox is not None and self._delivered.get(chat_key) == outbox:
            outbox = None  # delivered; the record of it is not written yet
        self._delivered.pop(chat_key, None)
        return ChatRow(self._vault.decrypt_optional(state), self._vault.decrypt_optional(outbox))

    async def save_chat(
        self,
        chat_key: str,
        *,
        state: str,
        outbox: str | None,
        draft_expires_at: datetime | None,
    ) -> bytes | None:
        """Store this chat's state and the replies it still has to receive (encrypted).

        Returns the stored outbox, which names it when it is delivered (`Store.clear_outbox`).
        """
        now = _now()
        stored = self._vault.encrypt_optional(outbox)
        await self._session.execute(
            _SAVE_CHAT,
            {
                "for_chat": chat_key,
                "new_state": self._vault.encrypt(state),
                "new_outbox": stored,
                "new_outbox_since": now if outbox is not None else None,
                "new_draft_expires_at": draft_expires_at,
                "new_updated_at": now,
            },
        )
        return stored

    async def set_outbox(self, chat_key: str, outbox: str) -> None:
        """Replace the replies a chat is owed (its row locked by `lock_chat`)."""
        await self._session.execute(
            update(SessionRow)
            .where(SessionRow.chat_key == chat_key)
            .values(outbox=self._vault.encrypt(outbox), outbox_since=_now())
            .execution_options(synchronize_session=False)
        )

    async def save_lead(
        self,
        lead: Lead,
        *,
        user_key: str,
        update: bool,
        notify_chat_ids: tuple[int, ...],
        chat: str | None = None,
    ) -> bool:
        """Store a new lead, or update the person's lead with that reference; queue notices.

        Returns False when an update names a lead that no longer exists (it is then created).
        """
        now = _now()
        vault = self._vault
        fields = {
            "language": lead.language,
            "name": vault.encrypt_optional(lead.name),
            "phone": vault.encrypt_optional(lead.phone),
            "email": vault.encrypt_optional(lead.email),
            "topic": vault.encrypt(lead.topic),
            "preferred_time": lead.preferred_time,
            "voicemail_ok": lead.voicemail_ok,
            "urgent": lead.urgent,
            "updated_at": now,
        }
        if chat is not None:  # the person's address, as `bot.chats.encode_chat` writes it
            fields["chat"] = vault.encrypt(chat)
        row = None
        if update:
            row = await self._session.scalar(
                select(LeadRow).where(
                    LeadRow.reference == lead.reference, LeadRow.user_key == user_key
                )
            )
        existed = row is not None
        if row is None:
            row = LeadRow(reference=lead.reference, user_key=user_key, created_at=now, **fields)
            self._session.add(row)
        else:
            for key, value in fields.items():
                setattr(row, key, value)
        await self._session.flush()
        kind = "updated" if existed else "new"
        for chat_id in notify_chat_ids:
            self._session.add(
                OutboxRow(
                    lead_id=row.id,
                    chat_id=chat_id,
                    kind=kind,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        return existed

    async def person_records(self, user_key: str) -> PersonRecords:
        """The person's requests and how many of their questions are kept."""
        rows = await self._session.scalars(
            select(LeadRow).where(LeadRow.user_key == user_key).order_by(LeadRow.id)
        )
        unanswered = await self._session.scalar(
            select(func.count())
            .select_from(UnansweredRow)
            .where(UnansweredRow.user_key == user_key)
        )
        leads = [stored_lead(row, self._vault) for row in rows]
        return PersonRecords(leads, unanswered or 0)

    async def add_unanswered(self, user_key: str, language: str, text: str) -> None:
        """Keep a question the FAQ could not answer (already scrubbed; stored encrypted)."""
        self._session.add(
            UnansweredRow(
                user_key=user_key,
                language=language,
                text=self._vault.encrypt(text),
                created_at=_now(),
            )
        )

    async def forget(self, chat_key: str, user_key: str) -> None:
        """Delete the session, leads (with their notifications and history) and questions of a
        person; the staff messages about the leads are cleared by the notifier."""
        self.erased = True
        await _delete_leads(self._session, LeadRow.user_key == user_key)
        await self._session.execute(
            delete(UnansweredRow).where(UnansweredRow.user_key == user_key)
        )
        await self._session.execute(delete(SessionRow).where(SessionRow.chat_key == chat_key))


async def _delete_leads(session: DataSession, which: ColumnElement[bool]) -> int:
    """Delete these leads with their notifications and history, and have the staff messages
    about them cleared; return how many leads went.

    The leads are locked first, and their staff messages marked after: a message recorded
    meanwhile by another process's notifier (which locks the same rows) is then marked too.
    """
    references = list(
        await session.scalars(select(LeadRow.reference).where(which).with_for_update())
    )
    if not references:
        return 0
    lead_ids = select(LeadRow.id).where(LeadRow.reference.in_(references))
    await session.execute(delete(OutboxRow).where(OutboxRow.lead_id.in_(lead_ids)))
    await session.execute(delete(LeadEventRow).where(LeadEventRow.lead_id.in_(lead_ids)))
    removed = await session.execute(delete(LeadRow).where(LeadRow.reference.in_(references)))
    await rerender_staff_messages(session, references)
    return int(getattr(removed, "rowcount", 0) or 0)


async def rerender_staff_messages(session: DataSession, references: Any) -> None:
    """Have the staff messages about these requests rendered again (once a request is deleted,
    without the person's details; see `bot.staff.notifier`)."""
    await session.execute(
        update(StaffMessageRow)
        .where(StaffMessageRow.ref.in_(references))
        .values(dirty=True, attempts=0)
        .execution_options(synchronize_session=False)
    )


class SchemaError(RuntimeError):
    """The database schema is not the one this code expects."""


class Store:
    """The database, opened once per process."""

    def __init__(
        self, engine: AsyncEngine, vault: Vault, *, inline: InlineSessions | None = None
    ) -> None:
        self._engine = engine
        self._inline = inline
        self._vault = vault
        self.dialect = engine.dialect.name
        writer = (
            engine.execution_options(sqlite_write=True) if self.dialect == "sqlite" else engine
        )
        self._writes = async_sessionmaker(writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time. Queueing writers here, rather than in SQLite's busy
        # handler (which sleeps and retries), lets each start the moment the previous ends.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        # Whether the last write found the SQLite file held by another process.
        self._locked_out = False
        self._chat_slots = asyncio.Semaphore(CHATS_HELD_AT_ONCE)
        # Written a moment later, many at once (see `delivered` and `count_question`).
        self._delivered: dict[str, bytes] = {}
        self._counts: Counter[tuple[date, str, str]] = Counter()
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, vault: Vault, *, check_schema: bool = True) -> Store:
        """Connect to `url` and check its schema and data key (`DataKeyError` if it is wrong)."""
        from bot.storage.migrations import schema_status

        engine = create_engine(url)
        if check_schema:
            status = await schema_status(engine)
            if not status.current:
                await engine.dispose()
                raise SchemaError(status.explanation)
        store = cls(engine, vault, inline=inline_sessions(url))
        try:
            await store._bind_identifier_key()
        except Exception:
            await engine.dispose()
            raise
        return store

    async def _bind_identifier_key(self) -> None:
        """Read the key people are named with (proving the data key), or keep it the first time."""
        async with self._writing() as session:
            # Two instances starting at once on a new database both try to keep theirs: one
            # wins, and the other reads the winner's (instead of failing on the duplicate).
            await session.execute(
                _insert(self.dialect, MetaRow)
                .values(
                    key=IDENTIFIER_KEY,
                    value=self._vault.encrypt_bytes(self._vault.identifier_key),
                )
                .on_conflict_do_nothing()
            )
            stored = await session.scalar(
                select(MetaRow.value).where(MetaRow.key == IDENTIFIER_KEY)
            )
            try:
                identifier_key = self._vault.decrypt_bytes(stored or b"")
            except DataKeyError:
                raise DataKeyError(
                    "BOT_DATA_KEY cannot read this database: it was written with another key "
                    "(list every key still in use in BOT_DATA_KEY, newest first)"
                ) from None
        self._vault = self._vault.with_identifier_key(identifier_key)

    async def close(self) -> None:
        """Write what is waiting to be written, then close every connection."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(Exception):
            await self.flush()
        await self._engine.dispose()
        if self._inline is not None:
            self._inline.engine.dispose()

    async def erase_old_copies(self) -> None:
        """After deleting personal data from a SQLite file, leave no older copy of its pages.

        The deleted bytes are zeroed (`secure_delete`), but the pages as they were before stay
        in the write-ahead log, and after a checkpoint the log's frames are still in its file
        until overwritten. Emptying the log waits off the loop, with this process's writers held
        back meanwhile; if a reader or another process keeps it from finishing, the next
        deletion or the hourly retention job empties it.
        """
        database = self._engine.url.database
        if self.dialect != "sqlite" or database in (None, "", ":memory:"):
            return
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            emptied = await asyncio.to_thread(empty_wal, str(database))
        if not emptied:
            logger.warning("the write-ahead log could not be emptied after a deletion")

    def count_question(self, outcome: str, language: str) -> None:
        """Count one matched question in today's totals (no text, no person).

        Counted in memory and added to the database with the next flush: statistics need no
        write of their own in every turn.
        """
        self._counts[(_now().date(), outcome, language)] += 1
        self._flush_soon()

    def _flush_soon(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        try:
            await self.flush()
        except Exception:
            logger.exception("could not write the buffered records; they are kept for later")

    async def flush(self) -> None:
        """Write the question counts and the records of delivered replies kept in memory.

        Taken inside the write transaction, so that a turn of one of these chats sees either
        the record in memory or its effect in the database, never neither.
        """
        if not self._counts and not self._delivered:
            return
        async with self._writing() as session:
            counts, delivered = dict(self._counts), dict(self._delivered)
            self._counts.clear()
            self._delivered.clear()
            try:
                for (day, outcome, language), amount in counts.items():
                    await session.execute(
                        _insert(self.dialect, DailyStatRow)
                        .values(day=day, outcome=outcome, language=language, count=amount)
                        .on_conflict_do_update(
                            index_elements=["day", "outcome", "language"],
                            set_={"count": DailyStatRow.count + amount},
                        )
                    )
                for chat_key, outbox in delivered.items():
                    await session.execute(
                        update(SessionRow)
                        .where(SessionRow.chat_key == chat_key, SessionRow.outbox == outbox)
                        .values(outbox=None, outbox_since=None)
                    )
            except Exception:
                self._counts.update(counts)
                for chat_key, outbox in delivered.items():
                    self._delivered.setdefault(chat_key, outbox)
                raise

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine (for migrations and health checks)."""
        return self._engine

    @property
    def vault(self) -> Vault:
        """The vault this store encrypts with."""
        return self._vault

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[DataSession]:
        """A writing transaction, committed when the block ends without an error.

        On SQLite it runs inline unless another process holds the write lock; then it runs on
        the async engine, whose thread waits for the lock while the loop goes on.
        """
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            if self._inline is not None:
                # Another process holding the file (a `keys rotate`, a backup, the `sqlite3`
                # shell) is waited for briefly, pausing on the loop rather than in SQLite.
                # Past that the write fails as a temporary problem, so that every chat is
                # told at once instead of waiting in line behind the lock, and its turn is
                # tried again; while the file stays locked each writer tries once only.
                patience = 0.0 if self._locked_out else WRITE_LOCK_PATIENCE_SECONDS
                deadline = asyncio.get_running_loop().time() + patience
                while True:
                    try:
                        inline = stack.enter_context(self._inline.writing())
                        break
                    except WriteLockedError:
                        if asyncio.get_running_loop().time() >= deadline:
                            self._locked_out = True
                            raise
                        await asyncio.sleep(WRITE_LOCK_PAUSE_SECONDS)
                self._locked_out = False
                yield inline
                return
            session = await stack.enter_async_context(self._writes())
            await stack.enter_async_context(session.begin())
            yield session

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[DataSession]:
        """A reading transaction."""
        if self._inline is not None:
            with self._inline.reading() as inline:
                yield inline
            return
        async with self._read_sessions() as session:
            yield session

    def transaction(self) -> AbstractAsyncContextManager[DataSession]:
        """A writing transaction, for the other storage modules of the bot (`bot.staff.desk`)."""
        return self._writing()

    def reading(self) -> AbstractAsyncContextManager[DataSession]:
        """A reading transaction, for the other storage modules of the bot."""
        return self._reading()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """Run a writing transaction; commit when the block ends without an error."""
        async with self._writing() as session:
            unit = Unit(session, self._vault, self.dialect, self._delivered)
            yield unit
        if unit.erased:
            await self.erase_old_copies()

    @asynccontextmanager
    async def chat_guard(self, chat_key: str) -> AsyncIterator[None]:
        """Hold one chat across processes, from its turn until its replies are sent.

        On PostgreSQL a session advisory lock does it (several bot processes may share the
        database); SQLite is for one process, whose own lock per chat is enough.
        """
        if self.dialect != "postgresql":
            yield
            return
        key = _advisory_key(f"chat:{chat_key}")
        async with self._chat_slots:
            connection = await self._engine.connect()
            try:
                await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            except BaseException:
                await _close_quietly(connection)
                raise
            try:
                yield
            finally:
                # A failure here must not undo a turn already answered: the lock is the
                # connection's, and goes with it when the connection is dropped.
                try:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await connection.commit()
                except Exception as error:
                    logger.warning(
                        "a chat's hold could not be released (%s)", type(error).__name__
                    )
                    with contextlib.suppress(Exception):
                        await connection.invalidate()
                await _close_quietly(connection)

    @asynccontextmanager
    async def exclusive(self, job: str) -> AsyncIterator[bool]:
        """Run a periodic job on one process at a time: yields False when another runs it."""
        if self.dialect != "postgresql":
            yield True
            return
        key = _advisory_key(f"job:{job}")
        async with self._engine.connect() as connection:
            acquired = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
            )
            try:
                yield bool(acquired)
            finally:
                if acquired:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await connection.commit()

    async def read_meta(self, key: str) -> str | None:
        """A small value the bot keeps for itself (no one's data, stored plain), or None."""
        async with self._reading() as session:
            row = await session.get(PlainMetaRow, key)
            return row.value if row is not None else None

    async def write_meta(self, key: str, value: str) -> None:
        """Keep a small value for the bot itself (no one's data: it is not encrypted)."""
        async with self._writing() as session:
            row = await session.get(PlainMetaRow, key)
            if row is None:
                session.add(PlainMetaRow(key=key, value=value))
            else:
                row.value = value

    async def healthy(self) -> bool:
        """Whether the database answers; on a SQLite file, whether a write can take its lock."""
        if self._inline is not None:
            return await self._can_write()
        try:
            async with self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _can_write(self) -> bool:
        inline = self._inline
        if inline is None:
            return True
        deadline = asyncio.get_running_loop().time() + HEALTH_LOCK_SECONDS
        while True:
            try:
                if inline.can_write():
                    return True
            except Exception:
                return False
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(HEALTH_LOCK_PAUSE_SECONDS)

    # --- replies not yet delivered -------------------------------------------------------------

    async def clear_outbox(self, chat_key: str, delivered: bytes) -> None:
        """Forget the pending replies of a chat once they are sent (`delivered`, as stored).

        With several processes (PostgreSQL) it is written at once: another process may handle
        the chat's next update. With SQLite (one process) it waits for the next flush, many
        chats in one transaction; the chat's next turn in this process already knows.
        """
        if self.dialect == "sqlite":
            self._delivered[chat_key] = delivered
            self._flush_soon()
            return
        async with self._writing() as session:
            await session.execute(
                update(SessionRow)
                .where(SessionRow.chat_key == chat_key, SessionRow.outbox == delivered)
                .values(outbox=None, outbox_since=None)
            )

    async def keep_outbox(self, chat_key: str, remaining: str | None) -> None:
        """Keep only the replies of a chat that are still to be delivered."""
        async with self._writing() as session:
            row = await session.get(SessionRow, chat_key, with_for_update=True)
            if row is None:
                return
            row.outbox = self._vault.encrypt_optional(remaining)
            row.outbox_since = _now() if remaining is not None else None

    async def pending_outboxes(self, older_than: datetime, limit: int = 100) -> list[str]:
        """Chats whose replies have waited since before `older_than` (to deliver them again)."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(SessionRow.chat_key)
                .where(SessionRow.outbox_since < older_than)
                .order_by(SessionRow.outbox_since)
                .limit(limit)
            )
            return list(rows)

    async def read_outbox(self, chat_key: str) -> tuple[str, bytes] | None:
        """The pending replies of one chat, decrypted and as stored."""
        async with self._reading() as session:
            stored = await session.scalar(
                select(SessionRow.outbox).where(SessionRow.chat_key == chat_key)
            )
        if stored is None or self._delivered.get(chat_key) == stored:
            return None
        return self._vault.decrypt(stored), stored

    # --- staff notifications -------------------------------------------------------------------

    async def claim_deliveries(
        self, now: datetime, *, limit: int = 50, claim_for: timedelta = CLAIM_FOR
    ) -> list[Delivery]:
        """Claim due notifications for this process, so that no other process sends them.

        The claim is short, and renewed while the notifications are on their way
        (`renew_claims`): if this process dies, another takes them over within `claim_for`.
        A row that cannot be read is set aside without holding back the others.
        """
        async with self._writing() as session:
            rows = (
                await session.scalars(
                    select(OutboxRow)
                    .where(
                        OutboxRow.sent_at.is_(None),
                        OutboxRow.failed.is_(None),
                        OutboxRow.next_attempt_at <= now,
                        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
                    )
                    .order_by(OutboxRow.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            deliveries = []
            for row in rows:
                row.claimed_until = now + claim_for
                lead_row = await session.get(LeadRow, row.lead_id)
                if lead_row is None:
                    row.failed = "lead deleted"
                    continue
                try:
                    stored = stored_lead(lead_row, self._vault)
                    text = self._vault.decrypt_optional(row.text)
                except DataKeyError:
                    logger.error("notification %s: its lead cannot be decrypted", row.id)
                    row.failed = "cannot be decrypted"
                    continue
                deliveries.append(
                    Delivery(row.id, row.chat_id, row.kind, row.attempts, stored, text)
                )
            return deliveries

    async def renew_claims(self, outbox_ids: Sequence[int], until: datetime) -> None:
        """Keep this process's claim on notifications still on their way (not yet sent,
        given up or handed back)."""
        if not outbox_ids:
            return
        async with self._writing() as session:
            await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id.in_(list(outbox_ids)),
                    OutboxRow.claimed_until.is_not(None),
                    OutboxRow.sent_at.is_(None),
                    OutboxRow.failed.is_(None),
                )
                .values(claimed_until=until)
            )

    async def release_own_claims(self) -> None:
        """At start, hand back the claims a previous run of this process left (it died while
        sending). Only SQLite knows they are its own: it serves one process. On PostgreSQL
        another process may hold them, and they lapse within `CLAIM_FOR`."""
        if self.dialect != "sqlite":
            return
        async with self._writing() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.claimed_until.is_not(None), OutboxRow.sent_at.is_(None))
                .values(claimed_until=None)
            )

    async def mark_sent(self, outbox_ids: Sequence[int], now: datetime) -> None:
        """Record that notifications reached their chat."""
        await self._set_outbox(outbox_ids, sent_at=now, claimed_until=None)

    async def mark_failed(self, outbox_ids: Sequence[int], reason: str) -> None:
        """Give up on notifications for good (the chat refused them, or retries ran out)."""
        await self._set_outbox(outbox_ids, failed=reason[:200], claimed_until=None)

    async def retry_later(self, outbox_ids: Sequence[int], attempts: int, when: datetime) -> None:
        """Try notifications again at `when`."""
        await self._set_outbox(
            outbox_ids, attempts=attempts, next_attempt_at=when, claimed_until=None
        )

    async def _set_outbox(self, outbox_ids: Sequence[int], **values: Any) -> None:
        if not outbox_ids:
            return
        async with self._writing() as session:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(list(outbox_ids))).values(values)
            )

    async def next_delivery_at(self) -> datetime | None:
        """When the next pending notification is due, if any."""
        async with self._reading() as session:
            return await session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    OutboxRow.sent_at.is_(None), OutboxRow.failed.is_(None)
                )
            )

    # --- what staff and exports read -------------------------------------------------------------

    async def newest_leads(self, limit: int = 10) -> list[StoredLead]:
        """The most recent leads, newest first."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(LeadRow).order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(limit)
            )
            return [stored_lead(row, self._vault) for row in rows]

    async def all_leads(self) -> list[Lead]:
        """Every lead, oldest first (for export)."""
        async with self._reading() as session:
            rows = await session.scalars(select(LeadRow).order_by(LeadRow.id))
            return [lead_from_row(row, self._vault) for row in rows]

    async def unanswered_texts(self, limit: int = 2000) -> list[tuple[str, str]]:
        """The most recent kept questions as (language, text), decrypted."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(UnansweredRow).order_by(UnansweredRow.id.desc()).limit(limit)
            )
            return [(row.language, self._vault.decrypt(row.text)) for row in rows]

    async def stats(self) -> Stats:
        """Counts of questions by outcome and language (from the daily totals), and of leads."""
        await self.flush()
        async with self._reading() as session:
            by_outcome: dict[str, int] = {
                outcome: int(total)
                for outcome, total in await session.execute(
                    select(DailyStatRow.outcome, func.sum(DailyStatRow.count)).group_by(
                        DailyStatRow.outcome
                    )
                )
            }
            by_language: dict[str, int] = {
                language: int(total)
                for language, total in await session.execute(
                    select(DailyStatRow.language, func.sum(DailyStatRow.count)).group_by(
                        DailyStatRow.language
                    )
                )
            }
            leads = await session.scalar(select(func.count()).select_from(LeadRow)) or 0
            urgent = (
                await session.scalar(
                    select(func.count()).select_from(LeadRow).where(LeadRow.urgent.is_(True))
                )
                or 0
            )
        return Stats(sum(by_outcome.values()), by_outcome, by_language, leads, urgent)

    # --- periodic jobs --------------------------------------------------------------------------

    async def purge(self, older_than: datetime) -> int:
        """Delete leads, kept questions and idle conversations older than the cut-off."""
        async with self._writing() as session:
            removed = await _delete_leads(session, LeadRow.created_at < older_than)
            await session.execute(
                delete(UnansweredRow).where(UnansweredRow.created_at < older_than)
            )
            # Replies still owed after this long are owed no more: the conversation goes too.
            await session.execute(delete(SessionRow).where(SessionRow.updated_at < older_than))
        # Every hour, whatever went: it also finishes what a busy deletion left in the log.
        await self.erase_old_copies()
        return removed

    async def expired_drafts(self, now: datetime, limit: int = 100) -> list[str]:
        """Chats whose unfinished booking has expired."""
        async with self._reading() as session:
            rows = await session.scalars(
                select(SessionRow.chat_key)
                .where(SessionRow.draft_expires_at < now)
                .order_by(SessionRow.draft_expires_at)
                .limit(limit)
            )
            return list(rows)

    async def forget_handled_updates(self, older_than: datetime) -> None:
        """Drop the record of updates handled long ago (Telegram retries for minutes, not days)."""
        async with self._writing() as session:
            await session.execute(
                delete(HandledUpdateRow).where(HandledUpdateRow.handled_at < older_than)
            )

    async def rotate_keys(self, batch: int = 500) -> int:
        """Re-encrypt every value of every `Encrypted` column under the newest key; return how
        many values."""
        rotated = 0
        for table, columns in encrypted_columns():
            (key, *rest) = table.primary_key.columns
            if rest:
                raise TypeError(f"{table.name}: rotation pages by a primary key of one column")
            last: Any = None
            while True:
                async with self._writing() as session:
                    # Locked, so that a bot writing meanwhile is not overwritten with older data.
                    query = select(key, *columns).order_by(key).limit(batch).with_for_update()
                    if last is not None:
                        query = query.where(key > last)
                    rows = (await session.execute(query)).all()
                    for row in rows:
                        values = {
                            column.name: self._rotate(table, column, stored)
                            for column, stored in zip(columns, row[1:], strict=True)
                            if stored is not None
                        }
                        if values:
                            await session.execute(
                                update(table).where(key == row[0]).values(values)
                            )
                            rotated += len(values)
                if len(rows) < batch:
                    break
                last = rows[-1][0]
        return rotated

    def _rotate(self, table: Table, column: Column[Any], stored: bytes) -> bytes:
        try:
            return self._vault.rotate(stored)
        except DataKeyError:
            raise DataKeyError(
                f"a value in {table.name}.{column.name} was encrypted with a key that is not "
                "in BOT_DATA_KEY"
            ) from None


async def _close_quietly(connection: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        await connection.close()


# The words for "not now": SQLite's file held by another process; PostgreSQL's connection lost
# or refused, the server shutting down or starting up, an administrator ending the session, no
# connection slot left.
_UNAVAILABLE = (
    WriteLockedError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InterfaceError,
)


def database_unavailable(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached or used for now (down, restarting,
    its connections cut, a lock not granted in time), so that the same work may succeed later."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OperationalError | InterfaceError | SQLAlchemyTimeoutError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError | TimeoutError | ConnectionError):
            return True
        if isinstance(current, _UNAVAILABLE):
            return True
        current = current.__cause__ or current.__context__
    return False


def _advisory_key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
