"""QR codes for enrollment URIs, as PNG, SVG, ``data:`` URIs and terminal text.

segno encodes the symbol (error correction level M by default: it survives a smudge or some
glare and still gives a small symbol for a ~100-character URI), with the mask search done by
:mod:`twostep.otp.qrmask`. The PNG is written here rather than by segno's generic writer: a
1-bit greyscale image built row by row is several times faster. Together they keep
:func:`qr_png` well inside its 10 ms budget. Everything returns values; nothing touches files.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from typing import Final, Literal

import segno

from twostep.errors import InvalidParameter
from twostep.otp.qrmask import make_symbol

ErrorLevel = Literal["L", "M", "Q", "H"]
DEFAULT_ERROR: Final[ErrorLevel] = "M"
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_FULL, _UPPER, _LOWER, _EMPTY = "\u2588", "\u2580", "\u2584", " "


def _symbol(data: str, error: ErrorLevel) -> segno.QRCode:
    if type(data) is not str or not data:
        raise InvalidParameter("QR data must be a non-empty string")
    try:
        return make_symbol(data, error)
    except segno.DataOverflowError:
        raise InvalidParameter(f"{len(data)} characters do not fit in a QR code") from None


def _check_size(scale: int, border: int) -> None:
    if type(scale) is not int or not 1 <= scale <= 64:
        raise InvalidParameter(f"scale must be an integer from 1 to 64, not {scale!r}")
    if type(border) is not int or not 0 <= border <= 64:
        raise InvalidParameter(f"border must be an integer from 0 to 64, not {border!r}")


def _rows(data: str, error: ErrorLevel, border: int) -> list[bytes]:
    """The module matrix with its quiet zone, one ``bytes`` of 0/1 per row (1 = dark)."""
    matrix = _symbol(data, error).matrix
    side = len(matrix[0]) + 2 * border
    blank = bytes(side)
    pad = bytes(border)
    body = [pad + bytes(row) + pad for row in matrix]
    return [blank] * border + body + [blank] * border


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def qr_png(data: str, *, scale: int = 6, border: int = 4, error: ErrorLevel = "M") -> bytes:
    """A black-on-white 1-bit PNG of ``data``, ``scale`` pixels per module."""
    _check_size(scale, border)
    rows = _rows(data, error, border)
    width = len(rows[0]) * scale
    spare = -width % 8
    # A dark module is a black pixel, i.e. bit 0 in 1-bit greyscale; each PNG line starts
    # with filter type 0 and is padded to a whole byte with white.
    dark, light, padding = b"0" * scale, b"1" * scale, b"1" * spare
    lines: list[bytes] = []
    for row in rows:
        bits = b"".join([dark if module else light for module in row]) + padding
        lines.extend([b"\x00" + int(bits, 2).to_bytes((width + spare) // 8, "big")] * scale)
    header = struct.pack(">IIBBBBB", width, len(lines), 1, 0, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(lines), 6)),
            _chunk(b"IEND", b""),
        )
    )


def qr_svg(data: str, *, scale: int = 6, border: int = 4, error: ErrorLevel = "M") -> str:
    """An SVG document (without XML declaration) of ``data``, ready to inline in HTML."""
    _check_size(scale, border)
    out = io.BytesIO()
    _symbol(data, error).save(out, kind="svg", scale=scale, border=border, xmldecl=False)
    return out.getvalue().decode("utf-8")


def qr_png_data_uri(data: str, *, scale: int = 6, border: int = 4) -> str:
    """:func:`qr_png` as a ``data:image/png;base64,…`` URI for an ``<img src>``."""
    png = qr_png(data, scale=scale, border=border)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def qr_svg_data_uri(data: str, *, scale: int = 6, border: int = 4) -> str:
    """:func:`qr_svg` as a base64 ``data:image/svg+xml`` URI."""
    svg = qr_svg(data, scale=scale, border=border)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def qr_terminal(data: str, *, border: int = 2, invert: bool = True) -> str:
    """``data`` as text for a terminal: two modules per character cell with half blocks.

    With ``invert`` (the default) dark modules are drawn as spaces on a light block, which scans
    on the usual dark terminal background. No colour escapes are used, so the text can also be
    logged or piped.
    """
    _check_size(1, border)
    rows = _rows(data, DEFAULT_ERROR, border)
    if len(rows) % 2:
        rows.append(bytes(len(rows[0])))
    light = 0 if invert else 1
    glyphs = {
        (light, light): _FULL,
        (light, 1 - light): _UPPER,
        (1 - light, light): _LOWER,
        (1 - light, 1 - light): _EMPTY,
    }
    lines = [
        "".join(glyphs[pair] for pair in zip(top, bottom, strict=True))
        for top, bottom in zip(rows[::2], rows[1::2], strict=True)
    ]
    return "\n".join(lines)
