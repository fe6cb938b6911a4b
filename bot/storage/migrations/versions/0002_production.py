"""Production: urgent callbacks without a name, undelivered replies, draft expiry, daily
statistics instead of a row per question, handled update ids, and the stored identifier key.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as leads:
        leads.alter_column("name", existing_type=sa.LargeBinary(), nullable=True)
    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(sa.Column("outbox", sa.LargeBinary(), nullable=True))
        sessions.add_column(sa.Column("outbox_since", sa.DateTime(timezone=True), nullable=True))
        sessions.add_column(
            sa.Column("draft_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        sessions.create_index("ix_sessions_outbox_since", ["outbox_since"])
        sessions.create_index("ix_sessions_draft_expires_at", ["draft_expires_at"])
    op.create_table(
        "daily_stats",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("language", sa.String(2), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    # Keep the counts of the questions already recorded, one row per day instead of each.
    op.execute(
        "INSERT INTO daily_stats (day, outcome, language, count) "
        "SELECT CAST(created_at AS DATE), outcome, language, COUNT(*) FROM question_stats "
        "GROUP BY CAST(created_at AS DATE), outcome, language"
    )
    op.drop_table("question_stats")
    op.create_table(
        "handled_updates",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handled_updates_handled_at", "handled_updates", ["handled_at"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("handled_updates")
    op.create_table(
        "question_stats",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_question_stats_created_at", "question_stats", ["created_at"])
    op.drop_table("daily_stats")
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_index("ix_sessions_draft_expires_at")
        sessions.drop_index("ix_sessions_outbox_since")
        sessions.drop_column("draft_expires_at")
        sessions.drop_column("outbox_since")
        sessions.drop_column("outbox")
    # An urgent callback without a name cannot go back to a schema that requires one.
    op.execute("DELETE FROM outbox WHERE lead_id IN (SELECT id FROM leads WHERE name IS NULL)")
    op.execute("DELETE FROM leads WHERE name IS NULL")
    with op.batch_alter_table("leads") as leads:
        leads.alter_column("name", existing_type=sa.LargeBinary(), nullable=False)
