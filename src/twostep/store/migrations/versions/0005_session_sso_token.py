"""Sessions may hold a single-sign-on token for the apps behind forward authentication.

``sso_hash`` is the keyed hash of the random token in the parent-domain cookie
(``TWOSTEP_COOKIE_DOMAIN``) that reverse proxies send to ``/api/v1/forward-auth``. It lives on
the browser's own session row, so whatever ends that session (sign-out, a password reset, an
administrator) ends single sign-on at once; and it is a different token from the session
cookie's, so an app behind the proxy that sees it cannot use it as the twostep session.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A unique index, not a constraint: SQLite adds it without rebuilding the table.
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("sso_hash", sa.String(length=128), nullable=True))
    op.create_index("uq_sessions_sso_hash", "sessions", ["sso_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_sessions_sso_hash", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("sso_hash")
