"""A faster choice of QR data mask, giving exactly the symbol segno would build.

ISO/IEC 18004 has the encoder try all eight data masks and keep the one with the lowest
penalty score. segno does this module by module in Python, which is about 85% of the time it
needs for an otpauth URI. Here the eight candidates are scored on whole rows at once (rows as
integers and strings, so the inner loops run in C), then segno builds the symbol with the
winning mask. The penalty rules mirror segno's own (``segno.encoder.mask_scores``) so the
result is bit-for-bit the symbol ``segno.make_qr(data, error=...)`` returns; a test holds
that equivalence over many inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import segno

_MASKS: Final[tuple[Callable[[int, int], bool], ...]] = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
_FINDER_LIKE: Final = "1011101"
_TO_BITS: Final = bytes.maketrans(b"\x00\x01", b"01")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which modules of a version hold data, and the eight mask patterns over them."""

    size: int
    data: tuple[int, ...]  # per row, a bit per data module (column 0 is the high bit)
    fixed: tuple[int, ...]  # per row, the function modules that are present while scoring
    patterns: tuple[tuple[int, ...], ...]  # per mask, per row: the bits that mask flips


def _row_int(row: bytes | bytearray) -> int:
    return int(bytes(row).translate(_TO_BITS), 2)


def _alignment_centres(version: int, size: int) -> list[int]:
    """Row/column coordinates of alignment pattern centres (ISO/IEC 18004 Annex E)."""
    if version == 1:
        return []
    count = version // 7 + 2
    step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    return [6] + [size - 7 - step * k for k in range(count - 2, -1, -1)]


def _is_function(i: int, j: int, size: int, centres: list[int]) -> bool:
    """Finder patterns with separators, timing patterns, and alignment patterns."""
    low, high = 8, size - 8
    if (i < low and (j < low or j >= high)) or (i >= high and j < low) or 6 in (i, j):
        return True
    for ci in centres:
        for cj in centres:
            corner = (ci == 6 and cj in (6, size - 7)) or (ci == size - 7 and cj == 6)
            if not corner and abs(i - ci) <= 2 and abs(j - cj) <= 2:
                return True
    return False


def _is_reserved(i: int, j: int, size: int, version: int) -> bool:
    """Format information (and the dark module) and version information: blank while scoring.

    Where the format strips cross the timing patterns (at 6, 8 and 8, 6) the timing wins.
    """
    if 6 in (i, j):
        return False
    if (i == 8 and (j <= 8 or j >= size - 8)) or (j == 8 and (i <= 8 or i >= size - 8)):
        return True
    return version >= 7 and (
        (i < 6 and size - 11 <= j < size - 8) or (j < 6 and size - 11 <= i < size - 8)
    )


@lru_cache(maxsize=40)
def _layout(version: int) -> _Layout:
    size = version * 4 + 17
    centres = _alignment_centres(version, size)
    data, fixed = [], []
    for i in range(size):
        function = [_is_function(i, j, size, centres) for j in range(size)]
        reserved = [_is_reserved(i, j, size, version) for j in range(size)]
        data.append(_row_int(bytes(not (f or r) for f, r in zip(function, reserved, strict=True))))
        fixed.append(_row_int(bytes(f and not r for f, r in zip(function, reserved, strict=True))))
    patterns = tuple(
        tuple(_row_int(bytes(mask(i, j) for j in range(size))) & data[i] for i in range(size))
        for mask in _MASKS
    )
    return _Layout(size, tuple(data), tuple(fixed), patterns)


def _runs(windows: int) -> int:
    """N1 points for one line, given a bit per window of five equal modules.

    A run of ``n >= 5`` equal modules holds ``n - 4`` such windows and scores ``n - 2``: one
    point per window plus two per run (a run ends where the next window is missing).
    """
    return windows.bit_count() + 2 * (windows & ~(windows >> 1)).bit_count()


def _penalty(rows: list[int], size: int) -> int:
    """The ISO/IEC 18004 penalty N1 + N2 + N3 + N4 of a symbol given as row integers."""
    full = (1 << size) - 1
    score = 0
    # N1 along rows: bit k of ``same`` says modules k and k+1 match.
    for row in rows:
        same = ~(row ^ (row >> 1)) & (full >> 1)
        score += _runs(same & (same >> 1) & (same >> 2) & (same >> 3))
    # N1 down columns: the same, with a bit per column and one integer per row pair.
    same_v = [~(upper ^ lower) & full for upper, lower in zip(rows, rows[1:], strict=False)]
    windows = [
        a & b & c & d
        for a, b, c, d in zip(same_v, same_v[1:], same_v[2:], same_v[3:], strict=False)
    ]
    score += sum(w.bit_count() for w in windows)
    score += 2 * sum(
        (w & ~below).bit_count() for w, below in zip(windows, [*windows[1:], 0], strict=True)
    )
    # N2: each 2x2 block of one colour scores 3.
    inner = full >> 1
    for upper, lower, same in zip(rows, rows[1:], same_v, strict=False):
        score += 3 * (same & ~(upper ^ (upper >> 1)) & ~(lower ^ (lower >> 1)) & inner).bit_count()
    # N3: a 1:1:3:1:1 finder-like pattern with four light modules on either side (the edge
    # counts as light) scores 40; the search resumes past a scored pattern.
    lines = [f"{row:0{size}b}" for row in rows]
    sequences = lines + ["".join(column) for column in zip(*lines, strict=True)]
    padded = "2".join(f"0000{sequence}0000" for sequence in sequences)
    index = padded.find(_FINDER_LIKE)
    while index != -1:
        if padded[index - 4 : index] == "0000" or padded[index + 7 : index + 11] == "0000":
            score += 40
            index = padded.find(_FINDER_LIKE, index + 7)
        else:
            index = padded.find(_FINDER_LIKE, index + 4)
    # N4: 10 per 5% that the share of dark modules strays from half.
    dark = sum(row.bit_count() for row in rows)
    return score + 10 * int(abs(dark / (size * size) * 100 - 50) / 5)


def make_symbol(data: str, error: str) -> segno.QRCode:
    """``segno.make_qr(data, error=error)``, with the mask search done row-wise."""
    first = segno.make_qr(data, error=error, mask=0)
    layout = _layout(first.version)
    rows = [_row_int(row) for row in first.matrix]
    plain = [
        (row ^ mask) & d for row, mask, d in zip(rows, layout.patterns[0], layout.data, strict=True)
    ]
    fixed = [row & f for row, f in zip(rows, layout.fixed, strict=True)]
    best, best_score = 0, -1
    for number, pattern in enumerate(layout.patterns):
        candidate = [f | (p ^ m) for f, p, m in zip(fixed, plain, pattern, strict=True)]
        score = _penalty(candidate, layout.size)
        if best_score < 0 or score < best_score:  # the first of equal scores wins, as in segno
            best, best_score = number, score
    return first if best == 0 else segno.make_qr(data, error=error, mask=best)
