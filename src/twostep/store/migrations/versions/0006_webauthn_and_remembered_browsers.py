"""Security keys and passkeys (WebAuthn), and remembered browsers.

``webauthn_users`` gives each user one random WebAuthn user handle; ``webauthn_credentials``
keeps each registered key's credential id, public key and signature counter (nothing
secret); ``passkey_challenges`` holds the single-use challenge of a passkey sign-in, which
starts before the user is known; ``remembered_browsers`` keeps the keyed hash of the token a
browser presents to skip the code step.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "webauthn_users",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("user_handle", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("webauthn_users"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_webauthn_users")),
        sa.UniqueConstraint("user_handle", name=op.f("uq_webauthn_users_user_handle")),
    )
    op.create_table(
        "webauthn_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "transports", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=True),
        sa.Column("backed_up", sa.Boolean(), server_default=sa.text("FALSE"), nullable=False),
        sa.Column("discoverable", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("webauthn_credentials"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webauthn_credentials")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_webauthn_credentials_credential_id")),
    )
    op.create_index(op.f("ix_webauthn_credentials_user_id"), "webauthn_credentials", ["user_id"])
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey_challenges")),
    )
    op.create_index(op.f("ix_passkey_challenges_expires_at"), "passkey_challenges", ["expires_at"])
    op.create_table(
        "remembered_browsers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("user_agent", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("remembered_browsers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remembered_browsers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_remembered_browsers_token_hash")),
    )
    op.create_index(op.f("ix_remembered_browsers_user_id"), "remembered_browsers", ["user_id"])


def downgrade() -> None:
    op.drop_table("remembered_browsers")
    op.drop_table("passkey_challenges")
    op.drop_table("webauthn_credentials")
    op.drop_table("webauthn_users")
