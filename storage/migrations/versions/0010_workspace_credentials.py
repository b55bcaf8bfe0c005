"""Workspace credentials: each workspace's own OpenAI key, sealed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_credentials",
        sa.Column("workspace_id", sa.String(), nullable=False),
        sa.Column("sealed_openai_key", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column(
            "set_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_credentials")),
    )


def downgrade() -> None:
    op.drop_table("workspace_credentials")
