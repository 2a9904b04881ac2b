"""Benchmark of the OTP core: verify against the raw HMAC floor and pyotp, and QR PNG time.

Every figure comes from the same run on the same machine, so the ratios mean something even
where the absolute microseconds do not. Each figure is the best of several interleaved rounds
(the least disturbed one); the median is printed beside it.

    uv run python bench/otp.py           # print figures and PASS/MISS per target
    uv run python bench/otp.py --check   # ... and exit 1 if any target is missed
"""

from __future__ import annotations

import argparse
import hmac
import statistics
import struct
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass

import pyotp

from twostep.otp import TOTPProvider, build_uri, encode_secret, qr_png, totp, verify_totp

KEY = bytes(range(20))
SECRET = encode_secret(KEY)
AT = 1_700_000_000.0
STEP = int(AT // 30)
LAST = totp(KEY, AT + 30)  # matches the last candidate of the window: the slowest success
_WINDOW_CODES = {totp(KEY, AT + k * 30) for k in (-1, 0, 1)}
MISS = next(code for n in range(100) if (code := f"{n:06d}") not in _WINDOW_CODES)
URI = build_uri("twostep", "alice@example.com", SECRET)
_pack = struct.Struct(">Q").pack


def raw_floor() -> str:
    """Three HMAC-SHA1 and dynamic truncations, nothing else: what window ±1 must cost."""
    code = ""
    for counter in (STEP - 1, STEP, STEP + 1):
        mac = hmac.digest(KEY, _pack(counter), "sha1")
        offset = mac[-1] & 0x0F
        code = f"{(int.from_bytes(mac[offset : offset + 4], 'big') & 0x7FFFFFFF) % 1000000:06d}"
    return code


@dataclass(frozen=True)
class Timing:
    best: float
    median: float


def measure(
    cases: dict[str, tuple[Callable[[], object], int]], *, rounds: int = 15
) -> dict[str, Timing]:
    """CPU seconds per call of each case: best and median over ``rounds``.

    The cases take turns within every round, so a burst of load elsewhere on the machine
    hits them alike, and CPU time (``time.process_time``) ignores time spent descheduled.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn, _ in cases.values():
        fn()  # warm up caches and lazy imports
    for _ in range(rounds):
        for name, (fn, number) in cases.items():
            samples[name].append(timeit.timeit(fn, number=number, timer=time.process_time) / number)
    return {name: Timing(min(s), statistics.median(s)) for name, s in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()

    provider = TOTPProvider(window=1)
    their = pyotp.TOTP(SECRET)
    assert verify_totp(KEY, LAST, at=AT) == STEP + 1
    assert verify_totp(KEY, MISS, at=AT) is None
    assert their.verify(LAST, for_time=AT, valid_window=1)
    assert not their.verify(MISS, for_time=AT, valid_window=1)

    n = 5_000
    t = measure(
        {
            "raw floor: 3x HMAC-SHA1 + truncation": (raw_floor, n),
            "verify_totp window ±1, match at T+1": (lambda: verify_totp(KEY, LAST, at=AT), n),
            "verify_totp window ±1, miss": (lambda: verify_totp(KEY, MISS, at=AT), n),
            "TOTPProvider.verify (+ base32 decode), match at T+1": (
                lambda: provider.verify(SECRET, LAST, at=AT),
                n,
            ),
            "pyotp TOTP.verify(valid_window=1), match at T+1": (
                lambda: their.verify(LAST, for_time=AT, valid_window=1),
                n,
            ),
            "pyotp TOTP.verify(valid_window=1), miss": (
                lambda: their.verify(MISS, for_time=AT, valid_window=1),
                n,
            ),
            f"qr_png, {len(URI)}-char otpauth URI": (lambda: qr_png(URI), 20),
        }
    )
    print(f"{'operation (CPU time per call)':<52} {'best µs':>9} {'median µs':>11}")
    for name, timing in t.items():
        print(f"{name:<52} {timing.best * 1e6:9.2f} {timing.median * 1e6:11.2f}")
    floor, hit, miss, _, py_hit, py_miss, png = t.values()

    checks = [
        ("verify_totp match / raw floor", hit.best / floor.best, "<=", 2.0),
        ("verify_totp miss / raw floor", miss.best / floor.best, "<=", 2.0),
        ("verify_totp match / pyotp match", hit.best / py_hit.best, "<", 1.0),
        ("verify_totp miss / pyotp miss", miss.best / py_miss.best, "<", 1.0),
        ("qr_png milliseconds", png.best * 1e3, "<=", 10.0),
    ]
    print()
    missed = 0
    for name, value, op, target in checks:
        ok = value <= target if op == "<=" else value < target
        missed += not ok
        print(f"{name:<36} {value:6.2f}  target {op} {target:<5} {'PASS' if ok else 'MISS'}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
