"""Alembic's environment: migrations run on the connection `bot.storage.migrations` hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=True,  # SQLite changes columns by copying the table
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
