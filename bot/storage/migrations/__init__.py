"""The database schema's history, as Alembic migrations, and the checks `run` makes on start.

`python -m bot db upgrade` brings an empty or older database to the current schema. A
database created before migrations existed (by an earlier version of the bot) is recognised by
its tables and treated as the first revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

FIRST_REVISION = "0001"
UPGRADE_COMMAND = "python -m bot db upgrade"


def alembic_config() -> Config:
    """The Alembic configuration, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


def head_revision() -> str:
    """The revision this code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - the package always holds its revisions
    return head


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands against the code."""

    revision: str | None
    head: str
    empty: bool

    @property
    def current(self) -> bool:
        """Whether the schema is the one this code expects."""
        return self.revision == self.head

    @property
    def explanation(self) -> str:
        """A sentence for the operator."""
        if self.empty:
            return f"the database is empty: run `{UPGRADE_COMMAND}` to create its tables"
        found = self.revision or "from before migrations"
        return (
            f"the database schema is at revision {found}, this version needs {self.head}: "
            f"back up the database, then run `{UPGRADE_COMMAND}`"
        )


def _status(connection: Connection) -> SchemaStatus:
    tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
    revision = MigrationContext.configure(connection).get_current_revision()
    return SchemaStatus(revision, head_revision(), empty=not tables)


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Where the database of `engine` stands."""
    async with engine.connect() as connection:
        return await connection.run_sync(_status)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "sessions" in tables:
        # Made by `create_all` before migrations existed: that schema is the first revision.
        command.stamp(config, FIRST_REVISION)
    command.upgrade(config, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database of `engine` to `revision` (the newest by default)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the database of `engine` back to `revision`."""
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)
