"""Who opened the Home tab, to refresh it when their team's jobs change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:00:02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "home_viewers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column(
            "opened_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_viewers")),
        sa.UniqueConstraint(
            "workspace_id", "user_id", name=op.f("uq_home_viewers_workspace_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("home_viewers")
