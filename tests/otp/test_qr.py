from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from twostep.errors import InvalidParameter
from twostep.otp import (
    build_uri,
    qr_png,
    qr_png_data_uri,
    qr_svg,
    qr_svg_data_uri,
    qr_terminal,
)

URI = build_uri("ACME Co", "alice@example.com", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
MODULES = 41  # version 6 at level M holds this URI


def open_png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize(("scale", "border"), [(1, 0), (3, 4), (6, 4), (10, 2)])
def test_png_has_the_expected_geometry(scale: int, border: int) -> None:
    png = qr_png(URI, scale=scale, border=border)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = open_png(png)
    side = (MODULES + 2 * border) * scale
    assert image.size == (side, side)
    assert image.mode == "1"


def test_png_draws_a_quiet_zone_and_dark_finder_corners() -> None:
    scale, border = 6, 4
    image = open_png(qr_png(URI, scale=scale, border=border)).convert("L")
    edge = border * scale
    assert image.getpixel((0, 0)) == 255
    assert image.getpixel((edge - 1, edge - 1)) == 255
    assert image.getpixel((edge, edge)) == 0  # top-left finder pattern
    assert image.getpixel((edge + scale, edge + scale)) == 255  # its white ring
    side = image.size[0]
    assert image.getpixel((side - edge - 1, edge)) == 0  # top-right finder pattern


def test_png_data_uri_wraps_the_same_png() -> None:
    uri = qr_png_data_uri(URI)
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]) == qr_png(URI)


def test_svg_is_an_inline_document() -> None:
    svg = qr_svg(URI, scale=4)
    assert svg.startswith("<svg")
    assert not svg.startswith("<?xml")
    assert svg.rstrip().endswith("</svg>")
    side = (MODULES + 8) * 4
    assert f'width="{side}"' in svg
    assert f'height="{side}"' in svg


def test_svg_data_uri_wraps_the_same_svg() -> None:
    uri = qr_svg_data_uri(URI)
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).decode() == qr_svg(URI)


def test_terminal_rendering_packs_two_rows_per_line() -> None:
    text = qr_terminal(URI)
    lines = text.split("\n")
    side = MODULES + 2 * 2
    assert len(lines) == (side + 1) // 2
    assert {len(line) for line in lines} == {side}
    assert set(text) <= {"\u2588", "\u2580", "\u2584", " ", "\n"}
    assert "\x1b" not in text
    assert lines[0] == "\u2588" * side  # quiet zone, drawn light on a dark terminal


def test_terminal_can_draw_dark_on_light() -> None:
    inverted = qr_terminal(URI)
    plain = qr_terminal(URI, invert=False)
    swap = str.maketrans({"\u2588": " ", " ": "\u2588", "\u2580": "\u2584", "\u2584": "\u2580"})
    assert plain == inverted.translate(swap)


@pytest.mark.parametrize(("scale", "border"), [(0, 4), (65, 4), (6, -1), (6, 65)])
def test_bad_sizes_are_refused(scale: int, border: int) -> None:
    with pytest.raises(InvalidParameter, match="scale|border"):
        qr_png(URI, scale=scale, border=border)


def test_empty_data_is_refused() -> None:
    with pytest.raises(InvalidParameter):
        qr_png("")


def test_data_too_large_for_any_symbol_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="do not fit"):
        qr_png("x" * 3000)
