"""Following jobs: progress columns, the notices outbox, and leases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:00:01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JOB_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("step", sa.Integer()),
    ("total_steps", sa.Integer()),
    ("train_loss", sa.Float()),
    ("valid_loss", sa.Float()),
    ("last_event_id", sa.String()),
    ("running_since", sa.DateTime(timezone=True)),
    ("estimated_finish", sa.DateTime(timezone=True)),
    ("progress_shown", sa.Text()),
    ("progress_shown_at", sa.DateTime(timezone=True)),
    ("cancelled_by", sa.String()),
]


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, type_ in _JOB_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_ts", sa.String(), nullable=True),
        sa.Column("posting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_notices_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("job_id", "kind", name=op.f("uq_notices_job_id_kind")),
    )
    op.create_index(op.f("ix_notices_status"), "notices", ["status"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index(op.f("ix_notices_status"), table_name="notices")
    op.drop_table("notices")
    with op.batch_alter_table("jobs") as batch:
        for name, _ in reversed(_JOB_COLUMNS):
            batch.drop_column(name)
