"""Database engines and the sessions the store works through.

PostgreSQL is reached asynchronously (asyncpg): a statement waits on the network. A SQLite
statement of the bot takes microseconds, while passing it to aiosqlite's thread and back
through SQLAlchemy's async layer costs about a hundred times as much (2.3 ms of CPU for one
turn's four statements against 0.5 ms run directly, measured with `benchmarks/load.py`'s
profile). So on SQLite the store runs a synchronous session inline, on the event loop, behind
the same awaitable interface: `DataSession`.

Running inline never holds the loop: the process keeps its writers in line itself (one SQLite
writer at a time), WAL readers never wait for a writer, and the inline writer does not wait for
SQLite's lock at all. When another process holds it (a `keys rotate`, a backup, the `sqlite3`
shell), `InlineSessions.writing` says so at once (`WriteLockedError`); the store tries again
for a moment, pausing on the loop, then fails the write as a temporary problem.

Deleted rows leave nothing to decrypt: `secure_delete` zeroes their bytes in the pages, and
`empty_wal` (run after a person is deleted) copies the log into the database file and
truncates it, so no older copy of a page survives in either file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, TypeVarTuple, overload

from sqlalchemy import Engine, Executable, Result, ScalarResult, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.selectable import TypedReturnsRows

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# On the event loop every wait is a wait of every chat: the inline writer never waits for the
# lock (see the module's docstring).
INLINE_BUSY_TIMEOUT_SECONDS = 0
# Emptying the log waits for the readers of older pages and for another process's writer; the
# store's own writers wait meanwhile, so it gives up sooner than they do.
WAL_EMPTYING_TIMEOUT_SECONDS = 5
# PostgreSQL: a held chat uses up to three connections at once (its advisory lock, its turn,
# and the staff records a staff command reads), so the chats held at once are bounded well
# within the pool; otherwise held chats could take every connection and wait for one more.
POOL_SIZE = 10
POOL_OVERFLOW = 30
CHATS_HELD_AT_ONCE = 12

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")
_O = TypeVar("_O")


class DataSession(Protocol):
    """What the store asks of a session: SQLAlchemy's AsyncSession, or `InlineSession`."""

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], params: Mapping[str, Any] | None = None
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[*tuple[Any, ...]]: ...

    @overload
    async def scalars(self, statement: TypedReturnsRows[_T]) -> ScalarResult[_T]: ...

    @overload
    async def scalars(self, statement: Executable) -> ScalarResult[Any]: ...

    @overload
    async def scalar(self, statement: TypedReturnsRows[_T]) -> _T | None: ...

    @overload
    async def scalar(self, statement: Executable) -> Any: ...

    async def get(
        self, entity: type[_O], ident: Any, *, with_for_update: bool | None = None
    ) -> _O | None: ...

    async def flush(self) -> None: ...

    def add(self, instance: object) -> None: ...


class InlineSession:
    """A synchronous session behind the awaitable interface: each call runs at once."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], params: Mapping[str, Any] | None = None
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[*tuple[Any, ...]]: ...

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Result[*tuple[Any, ...]]:
        """Run a statement."""
        return self._session.execute(statement, params)

    @overload
    async def scalars(self, statement: TypedReturnsRows[_T]) -> ScalarResult[_T]: ...

    @overload
    async def scalars(self, statement: Executable) -> ScalarResult[Any]: ...

    async def scalars(self, statement: Executable) -> ScalarResult[Any]:
        """Run a statement; its first column."""
        return self._session.scalars(statement)

    @overload
    async def scalar(self, statement: TypedReturnsRows[_T]) -> _T | None: ...

    @overload
    async def scalar(self, statement: Executable) -> Any: ...

    async def scalar(self, statement: Executable) -> Any:
        """Run a statement; the first column of its first row."""
        return self._session.scalar(statement)

    async def get(
        self, entity: type[_O], ident: Any, *, with_for_update: bool | None = None
    ) -> _O | None:
        """One row by primary key."""
        return self._session.get(entity, ident, with_for_update=with_for_update)

    async def flush(self) -> None:
        """Send pending changes to the database (inside the transaction)."""
        self._session.flush()

    def add(self, instance: object) -> None:
        """Add a new row to the transaction."""
        self._session.add(instance)


class WriteLockedError(RuntimeError):
    """Another connection holds SQLite's write lock (the inline writer does not wait for it)."""


def is_locked(error: BaseException) -> bool:
    """Whether a database error is SQLite's "database is locked" (SQLITE_BUSY)."""
    original = error.orig if isinstance(error, OperationalError) else error
    code = getattr(original, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_BUSY


class InlineSessions:
    """Transactions on a synchronous SQLite engine: writing (BEGIN IMMEDIATE) or reading."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(sqlite_write=True)
        self._writes = sessionmaker(self._writer, expire_on_commit=False)
        self._reads = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def writing(self) -> Iterator[InlineSession]:
        """A writing transaction, committed when the block ends without an error.

        Raises `WriteLockedError` before the block runs when another connection holds the lock.
        """
        with self._writes() as session, session.begin():
            try:
                session.connection()  # BEGIN IMMEDIATE now, not at the block's first statement
            except OperationalError as error:
                if is_locked(error):
                    raise WriteLockedError("the SQLite file is locked for writing") from None
                raise
            yield InlineSession(session)

    def can_write(self) -> bool:
        """Whether a write could take the lock now (taken and given back at once)."""
        with self._writer.connect() as connection:
            try:
                connection.begin()
            except OperationalError as error:
                if is_locked(error):
                    return False
                raise
            connection.rollback()
        return True

    @contextmanager
    def reading(self) -> Iterator[InlineSession]:
        """A reading transaction (one consistent snapshot)."""
        with self._reads() as session, session.begin():
            yield InlineSession(session)


def create_engine(url: str) -> AsyncEngine:
    """The async engine: statement parameters never in logs or errors; SQLite in WAL mode."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        _make_folder(parsed.database)
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, hide_parameters=True
        )
        tune_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
    )


def inline_sessions(url: str) -> InlineSessions | None:
    """For a SQLite file, synchronous sessions to run inline; None for other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    _make_folder(parsed.database)
    engine = create_sync_engine(
        parsed.set(drivername="sqlite"),
        connect_args={"timeout": INLINE_BUSY_TIMEOUT_SECONDS},
        hide_parameters=True,
    )
    tune_sqlite(engine)
    return InlineSessions(engine)


def _make_folder(database: str | None) -> None:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def empty_wal(database: str) -> bool:
    """Copy SQLite's write-ahead log into the database file and truncate it; False when a
    reader or writer kept it from finishing in time (the log then still holds older pages)."""
    with contextlib.closing(
        sqlite3.connect(database, timeout=WAL_EMPTYING_TIMEOUT_SECONDS, isolation_level=None)
    ) as connection:
        busy, _log_frames, _copied = connection.execute(
            "PRAGMA wal_checkpoint(TRUNCATE)"
        ).fetchone()
    return not busy


def tune_sqlite(engine: Engine) -> None:
    """WAL with synchronous=NORMAL, deleted bytes zeroed, and the write lock taken at BEGIN
    only by writers.

    Readers never block a writer in WAL mode; a transaction that will write takes the lock at
    BEGIN IMMEDIATE, as SELECT ... FOR UPDATE does on PostgreSQL, so two turns of one chat never
    both read the old state. Without `secure_delete` a deleted row's encrypted values stay in
    the free space of its page, which the data key beside the file would open.
    """

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get("sqlite_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
