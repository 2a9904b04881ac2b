"""Server-side SVG charts: a filled line for a share over time, and (stacked) bars for counts.

A chart is an inline ``<svg>`` built with :mod:`xml.etree.ElementTree`, so every label is
escaped and the markup is well formed by construction; no script, no external asset, nothing
the page CSP must allow. Charts stretch to the width of their container while their text
keeps its size: horizontal positions are percentages and vertical ones pixels, and the line
is drawn in a nested SVG stretched with ``preserveAspectRatio="none"`` and a non-scaling
stroke. Colours come from CSS classes (``chart-fill-<name>``) that read CSS variables, so
dark mode follows the page.

Accessibility: the root has ``role="img"`` and is labelled by its ``<title>`` and a
``<desc>`` that states the takeaway in words; each bucket carries a ``<title>`` tooltip.
Pages show the same numbers in a table beside the chart.

Example::

    points = [Point("4 Mar 2026", "4 Mar"), Point("5 Mar 2026", None)]
    svg = bars("locks", "Lockouts per day", "3 lockouts in 30 days.", points,
               [Series("Lockouts", "danger", [1, 2])], tips=["4 Mar: 1", "5 Mar: 2"])
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

HEIGHT = 220
TOP = 24
BOTTOM = 28
PLOT = HEIGHT - TOP - BOTTOM
LINE_WIDTH = 1000  # user units across the nested line drawing
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket on the x axis: its full label, and the axis label if it gets one."""

    label: str
    tick: str | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """Values drawn with the CSS class ``chart-fill-<css>``; stacked in list order."""

    name: str
    css: str
    values: Sequence[float]


def nice_scale(peak: float, *, steps: int = 4) -> list[float]:
    """Gridline values from 0 to a round top at or above ``peak``, for whole counts.

    Small peaks get one gridline per unit, so a single event fills the chart's height.

    >>> nice_scale(0), nice_scale(2), nice_scale(7), nice_scale(130)
    ([0, 1], [0, 1, 2], [0, 2, 4, 6, 8], [0, 50, 100, 150, 200])
    """
    if peak <= steps:
        return list(range(max(1, math.ceil(peak)) + 1))
    raw = max(peak, 1) / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * steps >= peak)
    step = max(1, math.ceil(step))
    return [step * i for i in range(steps + 1)]


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _root(chart_id: str, title: str, summary: str, css: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": f"chart {css}",
            "width": "100%",
            "height": str(HEIGHT),
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = summary
    return svg


def _y(value: float, top: float) -> float:
    return TOP + PLOT * (1 - value / top) if top else TOP + PLOT


def _grid(svg: ET.Element, ticks: Sequence[float]) -> None:
    grid = ET.SubElement(svg, "g", {"class": "chart-grid", "aria-hidden": "true"})
    for value in ticks:
        y = _num(_y(value, ticks[-1]))
        ET.SubElement(grid, "line", {"x1": "0", "x2": "100%", "y1": y, "y2": y})


def _labels(
    svg: ET.Element, points: Sequence[Point], ticks: Sequence[float], fmt: Callable[[float], str]
) -> None:
    """Y labels sit just above their gridline at the left; x labels under their bucket."""
    axis = ET.SubElement(svg, "g", {"class": "chart-axis", "aria-hidden": "true"})
    for value in ticks[1:]:
        y = _num(_y(value, ticks[-1]) - 5)
        ET.SubElement(axis, "text", {"x": "2", "y": y}).text = fmt(value)
    n = len(points)
    for i, point in enumerate(points):
        if point.tick is None:
            continue
        centre = (i + 0.5) / n * 100
        anchor = "start" if centre < 6 else "end" if centre > 94 else "middle"
        x = "0%" if anchor == "start" else "100%" if anchor == "end" else f"{_num(centre)}%"
        attrs = {"x": x, "y": str(HEIGHT - 8), "text-anchor": anchor}
        ET.SubElement(axis, "text", attrs).text = point.tick


def _hits(svg: ET.Element, tips: Sequence[str]) -> None:
    """A transparent column per bucket, whose ``<title>`` is the tooltip."""
    n = len(tips)
    for i, tip in enumerate(tips):
        attrs = {
            "class": "chart-hit",
            "x": f"{_num(i / n * 100)}%",
            "width": f"{_num(100 / n)}%",
            "y": str(TOP),
            "height": str(PLOT),
        }
        ET.SubElement(ET.SubElement(svg, "rect", attrs), "title").text = tip


def _markup(svg: ET.Element) -> Markup:
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 - built by ElementTree


def area(
    chart_id: str,
    title: str,
    summary: str,
    points: Sequence[Point],
    values: Sequence[float | None],
    *,
    tips: Sequence[str],
    top: float = 1.0,
    fmt: Callable[[float], str] = lambda v: f"{v:.0%}",
) -> Markup:
    """A filled line of ``values`` (between 0 and ``top``), the last value called out.

    Leading ``None`` values (nothing to measure yet, e.g. days before the first account) are
    left blank: the line starts at the first real value instead of drawing a false zero.
    """
    if not (len(points) == len(values) == len(tips)) or not points:
        raise ValueError("one value and one tip per point, and at least one point")
    svg = _root(chart_id, title, summary, "chart-area")
    ticks = [top * i / 4 for i in range(5)]
    _grid(svg, ticks)
    n = len(values)
    start = next((i for i, v in enumerate(values) if v is not None), None)
    if start is None or any(v is None for v in values[start:]):
        if start is not None:
            raise ValueError("only leading values may be missing")
        _hits(svg, tips)
        _labels(svg, points, ticks, fmt)
        return _markup(svg)
    known = [v for v in values[start:] if v is not None]
    xs = [(i + 0.5) / n * LINE_WIDTH for i in range(start, n)]
    ys = [_y(min(max(v, 0.0), top), top) - TOP for v in known]
    line = " L ".join(f"{_num(x)},{_num(y)}" for x, y in zip(xs, ys, strict=True))
    drawing = ET.SubElement(
        svg,
        "svg",
        {
            "x": "0",
            "y": str(TOP),
            "width": "100%",
            "height": str(PLOT),
            "viewBox": f"0 0 {LINE_WIDTH} {PLOT}",
            "preserveAspectRatio": "none",
            "overflow": "visible",
            "aria-hidden": "true",
        },
    )
    fill = f"M {_num(xs[0])},{PLOT} L {line} L {_num(xs[-1])},{PLOT} Z"
    ET.SubElement(drawing, "path", {"class": "chart-fill-accent-soft", "d": fill})
    ET.SubElement(
        drawing,
        "path",
        {"class": "chart-line", "d": f"M {line}", "vector-effect": "non-scaling-stroke"},
    )
    last_x = f"{_num((n - 0.5) / n * 100)}%"
    last_y = ys[-1] + TOP
    ET.SubElement(
        svg, "circle", {"class": "chart-dot", "cx": last_x, "cy": _num(last_y), "r": "4.5"}
    )
    callout = {
        "class": "chart-value",
        "x": last_x,
        "y": _num(last_y - 10 if last_y - 10 > TOP + 12 else last_y + 22),
        "text-anchor": "end",
        "aria-hidden": "true",
    }
    ET.SubElement(svg, "text", callout).text = fmt(known[-1])
    _hits(svg, tips)
    _labels(svg, points, ticks, fmt)
    return _markup(svg)


def bars(
    chart_id: str,
    title: str,
    summary: str,
    points: Sequence[Point],
    series: Sequence[Series],
    *,
    tips: Sequence[str],
    empty: str = "Nothing to show yet",
) -> Markup:
    """Bars per point; several series stack from the bottom in the order given."""
    n = len(points)
    if not n or len(tips) != n or any(len(s.values) != n for s in series):
        raise ValueError("one value per series and one tip per point, and at least one point")
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    ticks = nice_scale(max(totals, default=0))
    svg = _root(chart_id, title, summary, "chart-bars")
    _grid(svg, ticks)
    slot = 100 / n
    group = ET.SubElement(svg, "g", {"aria-hidden": "true"})
    for i in range(n):
        base = 0.0
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            y_top, y_base = _y(base + value, ticks[-1]), _y(base, ticks[-1])
            attrs = {
                "class": f"chart-fill-{s.css}",
                "x": f"{_num(i * slot + slot * 0.14)}%",
                "width": f"{_num(slot * 0.72)}%",
                "y": _num(y_top),
                "height": _num(max(y_base - y_top, 1.0)),
            }
            ET.SubElement(group, "rect", attrs)
            base += value
    if not any(totals):
        middle = str(TOP + PLOT // 2)
        attrs = {"class": "chart-empty", "x": "50%", "y": middle, "text-anchor": "middle"}
        ET.SubElement(svg, "text", attrs).text = empty
    _hits(svg, tips)
    _labels(svg, points, ticks, lambda v: f"{v:g}")
    return _markup(svg)
