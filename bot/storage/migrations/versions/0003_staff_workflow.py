"""The staff's side: where each request stands and its history, the staff-chat messages about
each request (to edit them, and to clear them when a person is forgotten), and relayed
messages.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as leads:
        leads.add_column(sa.Column("chat", sa.LargeBinary(), nullable=True))
        leads.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="received")
        )
        leads.add_column(sa.Column("owner", sa.LargeBinary(), nullable=True))
        leads.add_column(sa.Column("unreached", sa.Integer(), nullable=False, server_default="0"))
        leads.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        leads.add_column(sa.Column("relay_until", sa.DateTime(timezone=True), nullable=True))
        leads.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        leads.create_index("ix_leads_status", ["status"])
    with op.batch_alter_table("leads") as leads:
        leads.alter_column("status", existing_type=sa.String(16), server_default=None)
        leads.alter_column("unreached", existing_type=sa.Integer(), server_default=None)
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("text", sa.LargeBinary(), nullable=True))
    op.create_table(
        "lead_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "lead_id",
            sa.Integer(),
            sa.ForeignKey("leads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.LargeBinary(), nullable=True),
        sa.Column("text", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_lead_events_lead_id", "lead_events", ["lead_id"])
    op.create_table(
        "staff_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_messages_ref", "staff_messages", ["ref"])
    op.create_index("ix_staff_messages_dirty", "staff_messages", ["dirty"])
    op.create_index("ix_staff_messages_created_at", "staff_messages", ["created_at"])


def downgrade() -> None:
    op.drop_table("staff_messages")
    op.drop_table("lead_events")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_column("text")
    with op.batch_alter_table("leads") as leads:
        leads.drop_index("ix_leads_status")
        for column in ("closed_at", "relay_until", "reminded_at", "unreached", "owner"):
            leads.drop_column(column)
        leads.drop_column("status")
        leads.drop_column("chat")
