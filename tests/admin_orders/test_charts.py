"""Server-drawn SVG bar charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from booking import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (20, 20), (51, 100)]
)
def test_nice_ceiling(value, ceiling):
    assert charts.nice_ceiling(value) == ceiling


def test_bars_scale_to_the_largest_value_and_text_is_escaped():
    bars = [
        charts.Bar("1 Jun", 10, "Monday 1 June: 10 tickets"),
        charts.Bar("2 Jun", 5, "<script>alert(1)</script>"),
        charts.Bar("3 Jun", 0, "Wednesday 3 June: 0 tickets"),
    ]
    svg = str(charts.bar_chart(bars, chart_id="c", title="Sales & more", description="d <b>"))
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Sales & more"
    assert root.find(f"{SVG}desc").text == "d <b>"
    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    assert heights[0] == pytest.approx(2 * heights[1]) and heights[2] == 0
    assert "<script>" not in svg
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "10" in labels and "1 Jun" in labels


def test_many_days_keep_their_labels_apart():
    bars = [charts.Bar(f"{n} Mar", n, f"{n} March") for n in range(1, 61)]
    root = ET.fromstring(str(charts.bar_chart(bars, chart_id="c", title="t", description="d")))
    day_labels = [t for t in root.iter(f"{SVG}text") if t.text and "Mar" in t.text]
    assert len(list(root.iter(f"{SVG}rect"))) == 60
    assert len(day_labels) <= charts.MAX_LABELS
