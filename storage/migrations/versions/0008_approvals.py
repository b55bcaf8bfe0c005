"""Approvals: who approved or rejected a costly job, and where the request was posted.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 00:00:01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JOB_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("approved_by", sa.String()),
    ("approved_at", sa.DateTime(timezone=True)),
    ("rejected_by", sa.String()),
    ("rejected_at", sa.DateTime(timezone=True)),
    (
        "approval_requests",
        sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql"),
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, type_ in _JOB_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, _ in reversed(_JOB_COLUMNS):
            batch.drop_column(name)
