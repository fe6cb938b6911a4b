"""Storage of conversations, leads, unanswered questions and the notification outbox.

SQLAlchemy 2 async: SQLite by default, PostgreSQL at scale. Names, phone numbers, emails,
topics, kept questions and conversation state are encrypted with the `Vault`; people are known
only by a keyed hash of their Telegram id. Every change of one conversation happens in one
transaction that holds a lock on that conversation's row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.crypto import Vault
from bot.records import TIME_WINDOWS, Lead, Stats, StoredLead, TimeWindow


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


class Base(DeclarativeBase):
    """The tables of the bot."""


class SessionRow(Base):
    __tablename__ = "sessions"

    chat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LeadRow(Base):
    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(2))
    name: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    email: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    topic: Mapped[bytes] = mapped_column(LargeBinary)
    preferred_time: Mapped[str] = mapped_column(String(16))
    voicemail_ok: Mapped[bool] = mapped_column(Boolean)
    urgent: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UnansweredRow(Base):
    __tablename__ = "unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[bytes] = mapped_column(LargeBinary)
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


class QuestionStatRow(Base):
    __tablename__ = "question_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outcome: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One staff notification due to be sent."""

    outbox_id: int
    chat_id: int
    kind: str
    attempts: int
    lead: Lead


@dataclass(frozen=True, slots=True)
class PersonRecords:
    """The requests and the number of kept questions of one person."""

    leads: list[StoredLead]
    unanswered: int


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


def _time_window(value: str) -> TimeWindow:
    return next((window for window in TIME_WINDOWS if window == value), "any")


class Unit:
    """One transaction: the work of handling one update, committed all together or not at all."""

    def __init__(self, session: AsyncSession, vault: Vault, dialect: str) -> None:
        self._session = session
        self._vault = vault
        self._dialect = dialect

    async def lock_state(self, chat_key: str) -> str | None:
        """Lock this chat's row for the transaction and return its stored state, if any."""
        values = {"chat_key": chat_key, "state": None, "updated_at": _now()}
        if self._dialect == "postgresql":
            await self._session.execute(
                postgresql_insert(SessionRow).values(values).on_conflict_do_nothing()
            )
        else:
            await self._session.execute(
                sqlite_insert(SessionRow).values(values).on_conflict_do_nothing()
            )
        row = await self._session.scalar(
            select(SessionRow).where(SessionRow.chat_key == chat_key).with_for_update()
        )
        if row is None or row.state is None:
            return None
        return self._vault.decrypt(row.state)

    async def save_state(self, chat_key: str, state: str) -> None:
        """Store this chat's state (encrypted)."""
        encrypted = self._vault.encrypt(state)
        await self._session.execute(
            update(SessionRow)
            .where(SessionRow.chat_key == chat_key)
            .values(state=encrypted, updated_at=_now())
        )

    async def save_lead(
        self, lead: Lead, *, user_key: str, update: bool, notify_chat_ids: tuple[int, ...]
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
        leads = [StoredLead(lead_from_row(row, self._vault)) for row in rows]
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

    async def record_question(self, outcome: str, language: str) -> None:
        """Count one matched question (no text, no user)."""
        self._session.add(QuestionStatRow(outcome=outcome, language=language, created_at=_now()))

    async def forget(self, chat_key: str, user_key: str) -> None:
        """Delete the session, leads (with their notifications) and questions of a user."""
        lead_ids = select(LeadRow.id).where(LeadRow.user_key == user_key)
        await self._session.execute(delete(OutboxRow).where(OutboxRow.lead_id.in_(lead_ids)))
        await self._session.execute(delete(LeadRow).where(LeadRow.user_key == user_key))
        await self._session.execute(
            delete(UnansweredRow).where(UnansweredRow.user_key == user_key)
        )
        await self._session.execute(delete(SessionRow).where(SessionRow.chat_key == chat_key))


class Store:
    """The database, opened once per process."""

    def __init__(self, engine: AsyncEngine, vault: Vault) -> None:
        self._engine = engine
        self._vault = vault
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.dialect = engine.dialect.name

    @classmethod
    async def open(cls, url: str, vault: Vault) -> Store:
        """Connect to `url`, creating the SQLite folder and the tables if needed."""
        parsed = make_url(url)
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = 30
        engine = create_async_engine(url, connect_args=connect_args)
        if parsed.get_backend_name() == "sqlite":
            _serialize_sqlite_writers(engine)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        return cls(engine, vault)

    async def close(self) -> None:
        """Close every connection."""
        await self._engine.dispose()

    @property
    def vault(self) -> Vault:
        """The vault this store encrypts with."""
        return self._vault

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """Run a transaction; commit when the block ends without an error."""
        async with self._sessions() as session, session.begin():
            yield Unit(session, self._vault, self.dialect)

    async def claim_deliveries(
        self, now: datetime, *, limit: int = 20, claim_for: timedelta = timedelta(minutes=2)
    ) -> list[Delivery]:
        """Claim due notifications for this process, so that no other process sends them."""
        async with self._sessions() as session, session.begin():
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
                lead = await session.get(LeadRow, row.lead_id)
                if lead is None:
                    row.failed = "lead deleted"
                    continue
                deliveries.append(
                    Delivery(
                        row.id,
                        row.chat_id,
                        row.kind,
                        row.attempts,
                        lead_from_row(lead, self._vault),
                    )
                )
            return deliveries

    async def mark_sent(self, outbox_id: int, now: datetime) -> None:
        """Record that a notification reached its chat."""
        await self._set_outbox(outbox_id, sent_at=now, claimed_until=None)

    async def mark_failed(self, outbox_id: int, reason: str) -> None:
        """Give up on a notification for good (the chat blocked the bot, or was deleted)."""
        await self._set_outbox(outbox_id, failed=reason[:200], claimed_until=None)

    async def retry_later(self, outbox_id: int, attempts: int, when: datetime) -> None:
        """Try a notification again at `when`."""
        await self._set_outbox(
            outbox_id, attempts=attempts, next_attempt_at=when, claimed_until=None
        )

    async def _set_outbox(self, outbox_id: int, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == outbox_id).values(values)
            )

    async def next_delivery_at(self) -> datetime | None:
        """When the next pending notification is due, if any."""
        async with self._sessions() as session:
            return await session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    OutboxRow.sent_at.is_(None), OutboxRow.failed.is_(None)
                )
            )

    async def newest_leads(self, limit: int = 10) -> list[StoredLead]:
        """The most recent leads, newest first."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(LeadRow).order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(limit)
            )
            return [StoredLead(lead_from_row(row, self._vault)) for row in rows]

    async def all_leads(self) -> list[Lead]:
        """Every lead, oldest first (for export)."""
        async with self._sessions() as session:
            rows = await session.scalars(select(LeadRow).order_by(LeadRow.id))
            return [lead_from_row(row, self._vault) for row in rows]

    async def unanswered_texts(self, limit: int = 2000) -> list[tuple[str, str]]:
        """The most recent kept questions as (language, text), decrypted."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(UnansweredRow).order_by(UnansweredRow.id.desc()).limit(limit)
            )
            return [(row.language, self._vault.decrypt(row.text)) for row in rows]

    async def stats(self) -> Stats:
        """Counts of questions by outcome and language, and of leads."""
        async with self._sessions() as session:
            by_outcome: dict[str, int] = {
                outcome: count
                for outcome, count in await session.execute(
                    select(QuestionStatRow.outcome, func.count()).group_by(QuestionStatRow.outcome)
                )
            }
            by_language: dict[str, int] = {
                language: count
                for language, count in await session.execute(
                    select(QuestionStatRow.language, func.count()).group_by(
                        QuestionStatRow.language
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

    async def purge(self, older_than: datetime) -> int:
        """Delete leads, kept questions and idle conversations older than the cut-off."""
        async with self._sessions() as session, session.begin():
            old_leads = select(LeadRow.id).where(LeadRow.created_at < older_than)
            await session.execute(delete(OutboxRow).where(OutboxRow.lead_id.in_(old_leads)))
            removed = await session.execute(delete(LeadRow).where(LeadRow.created_at < older_than))
            await session.execute(
                delete(UnansweredRow).where(UnansweredRow.created_at < older_than)
            )
            await session.execute(delete(SessionRow).where(SessionRow.updated_at < older_than))
            return int(getattr(removed, "rowcount", 0) or 0)


def _serialize_sqlite_writers(engine: AsyncEngine) -> None:
    """Make every SQLite transaction take the write lock at BEGIN.

    SQLite's default deferred transactions let two processes read the same conversation and
    both write it; BEGIN IMMEDIATE makes the second wait, as SELECT ... FOR UPDATE does on
    PostgreSQL.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
