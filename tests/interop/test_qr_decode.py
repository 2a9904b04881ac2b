"""Our QR codes read back, with the zxing-cpp decoder, to exactly the URI we encoded."""

from __future__ import annotations

import base64
import io

import pytest
import zxingcpp
from PIL import Image

from twostep.otp import (
    build_uri,
    generate_secret,
    qr_png,
    qr_png_data_uri,
    qr_terminal,
)

pytestmark = pytest.mark.interop

URIS = [
    build_uri("ACME Co", "alice@example.com", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
    build_uri("twostep", "bob", generate_secret(), algorithm="sha256", digits=8, period=60),
    build_uri("日本の銀行", "ユーザー🔑", generate_secret(512), algorithm="sha512"),
    build_uri("A&B/C?#%+", "x y=z&w", generate_secret(), type="hotp", counter=2**63),
    build_uri("", "no-issuer@example.com", "JBSWY3DPEHPK3PXP"),
]


def decode(image: Image.Image) -> list[str]:
    return [str(result.text) for result in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("uri", URIS)
@pytest.mark.parametrize(("scale", "border"), [(6, 4), (2, 4), (10, 1)])
def test_png_decodes_to_the_exact_uri(uri: str, scale: int, border: int) -> None:
    image = Image.open(io.BytesIO(qr_png(uri, scale=scale, border=border)))
    assert decode(image) == [uri]


@pytest.mark.parametrize("uri", URIS[:2])
def test_png_data_uri_decodes_to_the_exact_uri(uri: str) -> None:
    payload = qr_png_data_uri(uri).split(",", 1)[1]
    assert decode(Image.open(io.BytesIO(base64.b64decode(payload)))) == [uri]


def terminal_to_image(text: str, *, lit_is_dark: bool, scale: int = 4) -> Image.Image:
    """Paint half-block text back into pixels, as a terminal would show it."""
    lines = text.split("\n")
    top = {"\u2588": True, "\u2580": True, "\u2584": False, " ": False}
    bottom = {"\u2588": True, "\u2580": False, "\u2584": True, " ": False}
    image = Image.new("L", (len(lines[0]) * scale, len(lines) * 2 * scale), 255)
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            for half, table in ((0, top), (1, bottom)):
                lit = table[char]
                if lit == lit_is_dark:
                    box = (x * scale, (2 * y + half) * scale)
                    image.paste(0, (*box, box[0] + scale, box[1] + scale))
    return image


@pytest.mark.parametrize("uri", URIS[:3])
def test_terminal_text_scans(uri: str) -> None:
    # Inverted (default): a lit cell is a light module, so unlit cells are the dark modules.
    assert decode(terminal_to_image(qr_terminal(uri), lit_is_dark=False)) == [uri]
    plain = qr_terminal(uri, invert=False)
    assert decode(terminal_to_image(plain, lit_is_dark=True)) == [uri]
