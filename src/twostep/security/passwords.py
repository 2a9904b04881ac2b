"""Password hashing with argon2id, at or above OWASP's minimum cost.

Invariants:

- Every new hash is argon2id with at least m=19456 KiB (19 MiB), t=2, p=1, the minimum the
  OWASP Password Storage Cheat Sheet recommends. Weaker settings are refused at construction,
  so a typo in configuration cannot quietly weaken every new hash.
- :meth:`PasswordHasher.verify` answers ``False`` for a wrong password *and* for a stored hash
  it cannot read, and never raises for either: a corrupt row must look like a failed login,
  not an error page that tells an attacker something.
- :meth:`PasswordHasher.dummy_verify` costs what a real verify costs, so a login for an unknown
  account takes as long as one for a known account (no enumeration by timing).
- Passwords are normalised to Unicode NFKC before hashing, as NIST SP 800-63B suggests, so the
  same password typed on two keyboards (composed "é" or "e" plus a combining accent) matches.
  The normalised text is encoded as UTF-8 with ``surrogatepass``, so even a lone surrogate,
  which JSON can carry, hashes deterministically instead of raising.

Hashing is CPU-bound by design (tens of milliseconds); callers on an event loop run it in a
worker thread. At most one hash per CPU core runs at a time in a process (the others wait
their turn; a server of several processes gives each its share of the cores), so a storm of
logins queues instead of starving everything else of CPU.
"""

from __future__ import annotations

import os
import secrets
import threading
import unicodedata

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from twostep.errors import ConfigurationError

MIN_MEMORY_KIB = 19_456
MIN_TIME_COST = 2
MIN_PARALLELISM = 1
MIN_HASH_LEN = 16
MIN_SALT_LEN = 16


def _encode(password: str) -> bytes:
    return unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")


class PasswordHasher:
    """argon2id password hashes, with parameters no weaker than OWASP's minimum.

    >>> hasher = PasswordHasher()
    >>> stored = hasher.hash("correct horse battery staple")
    >>> hasher.verify(stored, "correct horse battery staple"), hasher.verify(stored, "guess")
    (True, False)
    """

    def __init__(
        self,
        *,
        memory_cost: int = MIN_MEMORY_KIB,
        time_cost: int = MIN_TIME_COST,
        parallelism: int = MIN_PARALLELISM,
        hash_len: int = 32,
        salt_len: int = 16,
        concurrency: int | None = None,
    ) -> None:
        """Raise :class:`ConfigurationError` for any parameter below the minimum.

        ``concurrency`` hashes run at once (default: one per CPU core); more callers wait.
        """
        minimums = {
            "memory_cost": (memory_cost, MIN_MEMORY_KIB),
            "time_cost": (time_cost, MIN_TIME_COST),
            "parallelism": (parallelism, MIN_PARALLELISM),
            "hash_len": (hash_len, MIN_HASH_LEN),
            "salt_len": (salt_len, MIN_SALT_LEN),
        }
        for name, (value, minimum) in minimums.items():
            if value < minimum:
                raise ConfigurationError(
                    f"argon2id {name}={value} is below the minimum of {minimum} "
                    "(OWASP: m=19456 KiB, t=2, p=1)"
                )
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=argon2.Type.ID,
        )
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, concurrency or os.cpu_count() or 1))

    def __repr__(self) -> str:
        p = self._hasher
        return (
            f"PasswordHasher(memory_cost={p.memory_cost}, time_cost={p.time_cost}, "
            f"parallelism={p.parallelism})"
        )

    def hash(self, password: str) -> str:
        """The encoded argon2id hash (``$argon2id$v=19$m=…``) of the NFKC-normalised password."""
        with self._slots:
            return self._hasher.hash(_encode(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches; ``False`` for a mismatch or an unreadable hash."""
        try:
            with self._slots:
                return self._hasher.verify(stored_hash, _encode(password))
        except (VerificationError, InvalidHashError, ValueError):
            # VerifyMismatchError is a VerificationError; a non-ASCII hash is a ValueError.
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` differs from the current parameters (or cannot be read).

        Call it after a successful :meth:`verify`, while the password is at hand.
        """
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend the time of a real :meth:`verify`, for a login to an unknown account."""
        self.verify(self._dummy(), password)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            with self._dummy_lock:
                if self._dummy_hash is None:
                    self._dummy_hash = self.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
