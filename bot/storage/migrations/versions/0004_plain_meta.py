"""The bot's plain values (the day the open digest last went out) in a table of their own, so
that everything left in `meta` is encrypted and `keys rotate` can re-encrypt all of it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The one value of `meta` that was ever encrypted; every other was written as plain UTF-8.
IDENTIFIER_KEY = "identifier_key"

meta = sa.table("meta", sa.column("key", sa.String(64)), sa.column("value", sa.LargeBinary()))
plain_meta = sa.table(
    "plain_meta", sa.column("key", sa.String(64)), sa.column("value", sa.String(200))
)


def upgrade() -> None:
    op.create_table(
        "plain_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    connection = op.get_bind()
    plain = connection.execute(
        sa.select(meta.c.key, meta.c.value).where(meta.c.key != IDENTIFIER_KEY)
    ).all()
    if plain:
        connection.execute(
            plain_meta.insert(),
            [{"key": key, "value": bytes(value).decode("utf-8")} for key, value in plain],
        )
        connection.execute(meta.delete().where(meta.c.key != IDENTIFIER_KEY))


def downgrade() -> None:
    connection = op.get_bind()
    plain = connection.execute(sa.select(plain_meta.c.key, plain_meta.c.value)).all()
    if plain:
        connection.execute(
            meta.insert(), [{"key": key, "value": value.encode("utf-8")} for key, value in plain]
        )
    op.drop_table("plain_meta")
