"""The schema: every table of twostep as SQLAlchemy Core ``Table`` objects.

Core tables rather than ORM classes, because the hot paths (load a device, advance its
step, count a failure) are single statements whose rows become small frozen dataclasses;
there is no object graph to load or keep in sync. One schema serves SQLite and PostgreSQL.

Invariants kept by the schema itself:

- ids are uuid4 text (audit rows use an integer, being append-only and never in a URL);
- ``users.email`` is unique and stored already normalised by the caller;
- every child row of a user goes away with the user (``ON DELETE CASCADE``);
- secrets are stored only as ciphertext (``totp_devices``) or keyed hashes (the rest); a
  security key leaves only public data (its credential id and public key);
- audit rows keep plain user ids without a foreign key, so history outlives the account.

Changing anything here needs a new Alembic revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    text,
)

from twostep.store.types import ID, JSONType, UTCDateTime

__all__ = [
    "audit_events",
    "backup_codes",
    "challenges",
    "email_codes",
    "metadata",
    "passkey_challenges",
    "refresh_tokens_retired",
    "remembered_browsers",
    "reset_tokens",
    "sessions",
    "throttles",
    "totp_devices",
    "users",
    "webauthn_credentials",
    "webauthn_users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

EMAIL = String(320)
HASH = String(128)
IP = String(64)
USER_AGENT = String(512)
ZERO = text("0")
# Portable boolean literals: SQLite (3.23+) and PostgreSQL both read TRUE / FALSE.
TRUE = text("TRUE")
FALSE = text("FALSE")


def _user_fk(nullable: bool = False) -> Column[str]:
    return Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable)


users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", EMAIL, nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("email_verified_at", UTCDateTime),
    Column("role", String(16), nullable=False, server_default="user"),
    Column("is_active", Boolean, nullable=False, server_default=TRUE),
    Column("token_version", Integer, nullable=False, server_default=ZERO),
    Column("created_at", UTCDateTime, nullable=False),
    Column("two_factor_reset_at", UTCDateTime),
    UniqueConstraint("email"),
    CheckConstraint("role IN ('user', 'admin')", name="role"),
)

totp_devices = Table(
    "totp_devices",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("name", String(64), nullable=False),
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("algorithm", String(8), nullable=False, server_default="SHA1"),
    Column("digits", SmallInteger, nullable=False, server_default=text("6")),
    Column("period", SmallInteger, nullable=False, server_default=text("30")),
    Column("status", String(8), nullable=False, server_default="pending"),
    Column("weak", Boolean, nullable=False, server_default=FALSE),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("last_used_step", BigInteger),
    Column("last_used_at", UTCDateTime),
    CheckConstraint("status IN ('pending', 'active')", name="status"),
    CheckConstraint("algorithm IN ('SHA1', 'SHA256', 'SHA512')", name="algorithm"),
    Index(None, "user_id", "status"),
)

backup_codes = Table(
    "backup_codes",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("batch_id", ID, nullable=False),
    Column("code_hash", HASH, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    UniqueConstraint("user_id", "code_hash"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("family_id", ID, nullable=False),
    Column("refresh_hash", HASH, nullable=False),
    Column("purpose", String(16), nullable=False, server_default="full"),
    Column("amr", JSONType, nullable=False),
    Column("auth_time", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("elevated_until", UTCDateTime),
    Column("ip", IP),
    Column("user_agent", USER_AGENT),
    Column("second_factor_at", UTCDateTime),
    Column("channel", String(8), nullable=False, server_default="api"),
    Column("sso_hash", HASH),
    UniqueConstraint("refresh_hash"),
    Index("uq_sessions_sso_hash", "sso_hash", unique=True),
    Index(None, "user_id"),
    Index(None, "family_id"),
)

challenges = Table(
    "challenges",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("purpose", String(16), nullable=False),
    Column("methods", JSONType, nullable=False),
    Column("amr", JSONType, nullable=False),
    Column("session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=ZERO),
    Column("ip", IP),
    Column("user_agent", USER_AGENT),
    Column("completed_at", UTCDateTime),
    Index(None, "user_id"),
    Index(None, "session_id"),
)

email_codes = Table(
    "email_codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("email", EMAIL, nullable=False),
    _user_fk(nullable=True),
    Column("purpose", String(32), nullable=False),
    Column("code_hash", HASH, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=ZERO),
    Column("used_at", UTCDateTime),
    UniqueConstraint("email", "purpose"),
    Index(None, "user_id", "purpose"),
)

reset_tokens = Table(
    "reset_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("token_hash", HASH, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    UniqueConstraint("token_hash"),
    Index(None, "user_id"),
)

throttles = Table(
    "throttles",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False, server_default=ZERO),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
    Column("lock_count", Integer, nullable=False, server_default=ZERO),
    Column("updated_at", UTCDateTime, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("user_id", ID),
    Column("actor_id", ID),
    Column("event", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("ip", IP),
    Column("user_agent", USER_AGENT),
    Column("details", JSONType),
    Index(None, "at"),
    Index(None, "user_id", "at"),
    Index(None, "event", "at"),
)

# Hashes of refresh tokens that a rotation replaced. The session row keeps only the current
# hash; a presented hash found here is a reused token, and its family gets revoked.
refresh_tokens_retired = Table(
    "refresh_tokens_retired",
    metadata,
    Column("token_hash", HASH, primary_key=True),
    Column("session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", ID, nullable=False),
    Column("retired_at", UTCDateTime, nullable=False),
    Index(None, "session_id"),
)

# WebAuthn: each user gets one random user handle (never the id or the address), and each
# security key or passkey one row with its credential id and COSE public key: nothing secret.
webauthn_users = Table(
    "webauthn_users",
    metadata,
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("user_handle", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("user_handle"),
)

webauthn_credentials = Table(
    "webauthn_credentials",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("credential_id", String(1400), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False, server_default=ZERO),
    Column("transports", JSONType, nullable=False),
    Column("name", String(64), nullable=False),
    Column("aaguid", String(36)),
    Column("backed_up", Boolean, nullable=False, server_default=FALSE),
    Column("discoverable", Boolean),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    UniqueConstraint("credential_id"),
    Index(None, "user_id"),
)

# A passkey sign-in starts before anyone is known, so its challenge has no user (the
# ``challenges`` rows of a login or step-up do).
passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("id", ID, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Index(None, "expires_at"),
)

# "Don't ask for a code on this browser": the cookie's random token, hashed.
remembered_browsers = Table(
    "remembered_browsers",
    metadata,
    Column("id", ID, primary_key=True),
    _user_fk(),
    Column("token_hash", HASH, nullable=False),
    Column("user_agent", String(128)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    UniqueConstraint("token_hash"),
    Index(None, "user_id"),
)
