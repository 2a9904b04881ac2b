"""A wrapper that keeps key material out of logs and tracebacks.

Invariant: ``repr`` and ``str`` of a :class:`SecretBytes` never contain the wrapped value, so a
keyring, or a record or exception that holds one, can be printed safely. The value is reachable
only through :meth:`SecretBytes.reveal`, which keeps every use of raw key material easy to find.
"""

from __future__ import annotations

import hmac


class SecretBytes:
    """Bytes that refuse to print.

    >>> key = SecretBytes(b"\\x00" * 32)
    >>> key
    SecretBytes('**********')
    >>> len(key.reveal())
    32
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"SecretBytes wraps bytes, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> bytes:
        """The wrapped value. Pass it straight to the primitive that needs it."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "SecretBytes('**********')"

    __str__ = __repr__
