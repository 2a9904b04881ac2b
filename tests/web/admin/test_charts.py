"""The SVG chart builders: well-formed, labelled, escaped, and drawn to scale."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.web.admin.conftest import parse_svg
from twostep.web.pages.admin import charts
from twostep.web.pages.admin.charts import Point, Series

NS = {"svg": "http://www.w3.org/2000/svg"}
POINTS = [Point("Day <1> & co", "d1"), Point("Day 2"), Point("Day 3", "d3")]


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3.5, [0, 1, 2, 3, 4]),
        (5, [0, 2, 4, 6, 8]),
        (36, [0, 10, 20, 30, 40]),
        (451, [0, 200, 400, 600, 800]),
    ],
)
def test_nice_scale(peak: float, ticks: list[int]) -> None:
    assert charts.nice_scale(peak) == ticks


def test_stacked_bars_are_drawn_to_scale_with_a_tip_per_point() -> None:
    svg = parse_svg(
        charts.bars(
            "c1",
            "Checks <per> hour",
            "Summary & more",
            POINTS,
            [Series("ok", "ok", [2, 0, 4]), Series("bad", "fail", [2, 1, 0])],
            tips=["<tip 1>", "tip 2", "tip 3"],
        )  # fmt: skip
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.findtext("svg:title", namespaces=NS) == "Checks <per> hour"
    assert svg.findtext("svg:desc", namespaces=NS) == "Summary & more"
    ok = svg.findall(".//svg:rect[@class='chart-fill-ok']", NS)
    bad = svg.findall(".//svg:rect[@class='chart-fill-fail']", NS)
    assert len(ok) == 2 and len(bad) == 2  # zero values draw nothing
    heights = sorted(float(r.get("height", 0)) for r in ok + bad)
    assert [h / heights[0] for h in heights] == pytest.approx([1, 2, 2, 4])  # values 1, 2, 2, 4
    tips = [t.text for t in svg.findall("svg:rect[@class='chart-hit']/svg:title", NS)]
    assert tips == ["<tip 1>", "tip 2", "tip 3"]
    axis = [t.text for t in svg.findall("svg:g[@class='chart-axis']/svg:text", NS)]
    assert axis == ["1", "2", "3", "4", "d1", "d3"]


def test_bars_without_data_say_so() -> None:
    svg = parse_svg(
        charts.bars(
            "c2",
            "t",
            "s",
            POINTS,
            [Series("n", "danger", [0, 0, 0])],
            tips=["a", "b", "c"],
            empty="Nothing here",
        )  # fmt: skip
    )
    assert svg.findtext("svg:text[@class='chart-empty']", namespaces=NS) == "Nothing here"
    assert not svg.findall(".//svg:rect[@class='chart-fill-danger']", NS)


def test_the_area_chart_draws_a_line_and_calls_out_the_last_value() -> None:
    svg = parse_svg(
        charts.area("c3", "Share", "desc", POINTS, [0.25, 1.5, 0.5], tips=["a", "b", "c"])
    )
    drawing = svg.find("svg:svg", NS)
    assert drawing is not None and drawing.get("preserveAspectRatio") == "none"
    line = drawing.find("svg:path[@class='chart-line']", NS)
    assert line is not None and line.get("vector-effect") == "non-scaling-stroke"
    points = line.get("d", "")[2:].split(" L ")
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[1] == 0.0  # 150% is clipped to the top
    assert ys[0] == pytest.approx(ys[2] * 1.5)
    assert svg.findtext("svg:text[@class='chart-value']", namespaces=NS) == "50%"
    assert svg.find("svg:circle[@class='chart-dot']", NS) is not None


def test_the_area_chart_leaves_days_before_the_first_account_blank() -> None:
    svg = parse_svg(
        charts.area("c4", "Share", "desc", POINTS, [None, None, 0.5], tips=["a", "b", "c"])
    )
    drawing = svg.find("svg:svg", NS)
    assert drawing is not None
    line = drawing.find("svg:path[@class='chart-line']", NS)
    assert line is not None
    assert len(line.get("d", "")[2:].split(" L ")) == 1  # no 0% drawn for the empty days
    fill = drawing.find("svg:path[@class='chart-fill-accent-soft']", NS)
    assert fill is not None and not fill.get("d", "").startswith("M 0")
    assert svg.findtext("svg:text[@class='chart-value']", namespaces=NS) == "50%"
    assert len(svg.findall("svg:rect[@class='chart-hit']", NS)) == 3


def test_the_area_chart_with_nothing_to_measure_draws_no_line() -> None:
    svg = parse_svg(charts.area("c5", "Share", "d", POINTS, [None, None, None], tips=["a"] * 3))
    assert svg.find(".//svg:path[@class='chart-line']", NS) is None


@pytest.mark.parametrize("tips", [["a"], ["a", "b", "c", "d"]])
def test_each_point_needs_a_value_and_a_tip(tips: list[str]) -> None:
    with pytest.raises(ValueError, match="one"):
        charts.area("x", "t", "s", POINTS, [0.1, 0.2, 0.3], tips=tips)
    with pytest.raises(ValueError, match="one"):
        charts.bars("x", "t", "s", POINTS, [Series("n", "ok", [1, 2, 3])], tips=tips)


@pytest.mark.parametrize(
    "module",
    [
        "twostep.web.pages.admin.charts",
        "twostep.web.pages.admin.deps",
        "twostep.web.pages.admin.export",
        "twostep.web.pages.admin.filters",
    ],
)
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
