"""Initial schema: every table of twostep.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=36)
HASH = sa.String(length=128)
EMAIL = sa.String(length=320)
IP = sa.String(length=64)
USER_AGENT = sa.String(length=512)


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, nullable: bool) -> sa.Column[object]:
    return sa.Column(
        name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=nullable
    )


def _counter(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", EMAIL, nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        _ts("email_verified_at"),
        sa.Column("role", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("TRUE"), nullable=False),
        _counter("token_version"),
        _ts("created_at", nullable=False),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "totp_devices",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=8), server_default="SHA1", nullable=False),
        sa.Column("digits", sa.SmallInteger(), server_default=sa.text("6"), nullable=False),
        sa.Column("period", sa.SmallInteger(), server_default=sa.text("30"), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("weak", sa.Boolean(), server_default=sa.text("FALSE"), nullable=False),
        _ts("created_at", nullable=False),
        _ts("confirmed_at"),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        _ts("last_used_at"),
        sa.CheckConstraint(
            "algorithm IN ('SHA1', 'SHA256', 'SHA512')", name=op.f("ck_totp_devices_algorithm")
        ),
        sa.CheckConstraint("status IN ('pending', 'active')", name=op.f("ck_totp_devices_status")),
        _user_fk("totp_devices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_devices")),
    )
    op.create_index(op.f("ix_totp_devices_user_id_status"), "totp_devices", ["user_id", "status"])
    op.create_table(
        "backup_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("batch_id", ID, nullable=False),
        sa.Column("code_hash", HASH, nullable=False),
        _ts("created_at", nullable=False),
        _ts("used_at"),
        _user_fk("backup_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_backup_codes_user_id_code_hash")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("family_id", ID, nullable=False),
        sa.Column("refresh_hash", HASH, nullable=False),
        sa.Column("purpose", sa.String(length=16), server_default="full", nullable=False),
        _json("amr", nullable=False),
        _ts("auth_time", nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("last_seen_at"),
        _ts("revoked_at"),
        _ts("elevated_until"),
        sa.Column("ip", IP, nullable=True),
        sa.Column("user_agent", USER_AGENT, nullable=True),
        _user_fk("sessions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("refresh_hash", name=op.f("uq_sessions_refresh_hash")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    op.create_index(op.f("ix_sessions_family_id"), "sessions", ["family_id"])
    op.create_table(
        "challenges",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        _json("methods", nullable=False),
        _json("amr", nullable=False),
        sa.Column("session_id", ID, nullable=True),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _counter("attempts"),
        sa.Column("ip", IP, nullable=True),
        sa.Column("user_agent", USER_AGENT, nullable=True),
        _ts("completed_at"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_challenges_session_id_sessions"),
            ondelete="CASCADE",
        ),
        _user_fk("challenges"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    op.create_index(op.f("ix_challenges_user_id"), "challenges", ["user_id"])
    op.create_index(op.f("ix_challenges_session_id"), "challenges", ["session_id"])
    op.create_table(
        "email_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", EMAIL, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("code_hash", HASH, nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _counter("attempts"),
        _ts("used_at"),
        _user_fk("email_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_codes")),
        sa.UniqueConstraint("email", "purpose", name=op.f("uq_email_codes_email_purpose")),
    )
    op.create_index(op.f("ix_email_codes_user_id_purpose"), "email_codes", ["user_id", "purpose"])
    op.create_table(
        "reset_tokens",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("token_hash", HASH, nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("used_at"),
        _user_fk("reset_tokens"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_reset_tokens_token_hash")),
    )
    op.create_index(op.f("ix_reset_tokens_user_id"), "reset_tokens", ["user_id"])
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        _counter("failures"),
        _ts("window_started_at", nullable=False),
        _ts("locked_until"),
        _counter("lock_count"),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttles")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _ts("at", nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("ip", IP, nullable=True),
        sa.Column("user_agent", USER_AGENT, nullable=True),
        _json("details", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_user_id_at"), "audit_events", ["user_id", "at"])
    op.create_index(op.f("ix_audit_events_event_at"), "audit_events", ["event", "at"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "throttles",
        "reset_tokens",
        "email_codes",
        "challenges",
        "sessions",
        "backup_codes",
        "totp_devices",
        "users",
    ):
        op.drop_table(table)
