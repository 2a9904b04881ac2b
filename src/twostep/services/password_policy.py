"""The password policy, after NIST SP 800-63B.

At least 8 characters (15 recommended), up to 256 accepted, no composition rules; refuse
passwords from a shipped list of the most common ones, passwords built from the account's
email, and a single repeated character. Length counts Unicode code points after NFKC
normalisation, the same form the password hasher stores.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from twostep.errors import WeakPassword

MIN_LENGTH = 8
RECOMMENDED_LENGTH = 15
MAX_LENGTH = 256


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    text = resources.files("twostep.services").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


@dataclass(frozen=True, slots=True)
class PasswordAdvice:
    """What the policy says of a candidate password, for live guidance in a form."""

    acceptable: bool
    problem: str | None
    recommended_length_met: bool


def assess(password: str, *, email: str | None = None) -> PasswordAdvice:
    """Judge ``password`` without raising; ``problem`` explains a refusal in plain words."""
    candidate = unicodedata.normalize("NFKC", password)
    length = len(candidate)
    problem: str | None = None
    if length < MIN_LENGTH:
        problem = f"Use at least {MIN_LENGTH} characters ({RECOMMENDED_LENGTH} or more is better)."
    elif length > MAX_LENGTH:
        problem = f"Use at most {MAX_LENGTH} characters."
    elif candidate.lower() in common_passwords():
        problem = "This password is too common. Choose something harder to guess."
    elif len(set(candidate)) == 1:
        problem = "Don't repeat a single character."
    elif email and _built_from_email(candidate.lower(), email.lower()):
        problem = "Don't use your email address as your password."
    return PasswordAdvice(
        acceptable=problem is None,
        problem=problem,
        recommended_length_met=length >= RECOMMENDED_LENGTH,
    )


def check(password: str, *, email: str | None = None) -> None:
    """Raise :class:`WeakPassword` when ``password`` breaks the policy."""
    advice = assess(password, email=email)
    if advice.problem is not None:
        raise WeakPassword(advice.problem)


def _built_from_email(password: str, email: str) -> bool:
    """The address itself, or its local part alone (``robin@example.com`` → ``robin…``).

    Only those: a long passphrase that happens to start with the person's name is fine.
    """
    local = email.partition("@")[0]
    return password.strip() in (email, local)
