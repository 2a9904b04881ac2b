"""Seeded random TOTP/HOTP cases shared by the interop suites: reproducible, yet broad."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from twostep.otp import ALGORITHMS, Algorithm, decode_secret, encode_secret, totp, verify_totp

COUNT: Final = 200
PERIODS: Final = (30, 30, 30, 60, 15, 1, 300)


@dataclass(frozen=True)
class TOTPCase:
    secret: str
    algorithm: Algorithm
    digits: int
    period: int
    at: int

    @property
    def key(self) -> bytes:
        return decode_secret(self.secret, allow_weak=True).key

    @property
    def step(self) -> int:
        return self.at // self.period

    def code(self, at: int) -> str:
        """twostep's code for this case at ``at``."""
        return totp(self.key, at, digits=self.digits, algorithm=self.algorithm, period=self.period)

    def verify(self, code: str) -> int | None:
        """The step twostep matches ``code`` to at this case's time, with window 1."""
        return verify_totp(
            self.key,
            code,
            at=self.at,
            digits=self.digits,
            algorithm=self.algorithm,
            period=self.period,
        )


@dataclass(frozen=True)
class HOTPCase:
    secret: str
    digits: int
    counter: int

    @property
    def key(self) -> bytes:
        return decode_secret(self.secret, allow_weak=True).key


def totp_cases(
    seed: int, *, key_sizes: tuple[int, ...], periods: tuple[int, ...] = PERIODS
) -> list[TOTPCase]:
    rng = random.Random(seed)
    return [
        TOTPCase(
            secret=encode_secret(rng.randbytes(rng.choice(key_sizes))),
            algorithm=rng.choice(ALGORITHMS),
            digits=rng.choice((6, 7, 8)),
            period=rng.choice(periods),
            at=rng.randrange(0, 2**34),
        )
        for _ in range(COUNT)
    ]


def hotp_cases(seed: int, *, key_sizes: tuple[int, ...]) -> list[HOTPCase]:
    rng = random.Random(seed)
    return [
        HOTPCase(
            secret=encode_secret(rng.randbytes(rng.choice(key_sizes))),
            digits=rng.choice((6, 7, 8)),
            counter=rng.choice((0, 1, rng.randrange(2**20), rng.randrange(2**63))),
        )
        for _ in range(COUNT)
    ]
