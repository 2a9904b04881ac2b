"""Sessions record when a second factor was last proven, and which channel they serve.

``second_factor_at`` is the time of the latest TOTP or backup code proven in the session
(at sign-in or at a step-up); tokens carry it so that apps judge a second factor's age from
the factor itself, never from an elevation. ``channel`` is ``"api"`` (refresh tokens) or
``"page"`` (the browser cookie), so that one kind of credential is never accepted as the
other.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("channel", sa.String(length=8), server_default="api", nullable=False)
        )
    # Sessions opened before this revision: a second factor in ``amr`` was proven at sign-in.
    op.execute(
        "UPDATE sessions SET second_factor_at = auth_time "
        "WHERE CAST(amr AS TEXT) LIKE '%\"otp\"%' OR CAST(amr AS TEXT) LIKE '%\"backup\"%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("channel")
        batch.drop_column("second_factor_at")
