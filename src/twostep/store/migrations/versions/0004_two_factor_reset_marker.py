"""Users remember that an administrator reset their two-step verification.

``two_factor_reset_at`` is set when an administrator removes a user's devices and backup
codes, and cleared when the user confirms a new device. While it is set, a sign-in opens an
enrolment-only session (as ``MFA=required`` does for an account without a device), so an
admin's "reset 2FA" leads to enrolment instead of silently turning two-step verification off.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("two_factor_reset_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("two_factor_reset_at")
