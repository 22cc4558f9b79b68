"""Charts of a published snapshot: their tables, CSVs, facts, and pictures rendered offline.

vl-convert renders the Vega-Lite specs of results.drawing to SVG and PNG in-process (no
browser, no network, fonts bundled). A chart is rendered the first time someone asks for it,
in each layout, and kept in `ChartImage`, so each published snapshot's charts are drawn
once. The same data gives the chart's table and CSV.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import vl_convert
from django.db import IntegrityError, transaction

from .disclosure.columns import PUBLIC_COLUMNS
from .drawing import WIDE, Layout, chart_spec
from .models import ChartImage, Snapshot
from .selectors import ChartData, Report

# The chart CSV's columns: the cell's public columns (one schema), then which chart a row
# belongs to, the label beside each key, what the flag means, and the question's wording.
LABELLED = {"choice": "choice_label", "option": "option_label", "segment": "segment_label"}
CSV_FIELDS = [
    *itertools.chain.from_iterable(
        (name, "chart")
        if name == "series"
        else (name, LABELLED[name])
        if name in LABELLED
        else (name, "flag_meaning")
        if name == "flag"
        else (name,)
        for name in PUBLIC_COLUMNS
    ),
    "wording",
]


def chart_csv_rows(chart: ChartData) -> list[list[Any]]:
    return [[row.get(name, "") for name in CSV_FIELDS] for row in chart.rows]


# -- Tables: the alternative to every chart ---------------------------------------------------


@dataclass
class TableCell:
    text: str
    numeric: bool = False


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return ""
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}%"


def _interval(row: dict[str, Any], signed: bool = False, suffix: str = "") -> str:
    low, high = row.get(f"ci_low{suffix}"), row.get(f"ci_high{suffix}")
    if low is None or high is None:
        return ""
    unit = " pp" if signed else "%"
    return f"{_pct(low, signed).rstrip('%')} to {_pct(high, signed).rstrip('%')}{unit}"


def _count(value: int | float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def chart_table(chart: ChartData, weighted: bool = False) -> tuple[list[str], list[list]]:
    """Headings and rows of the table that carries the same numbers as the chart."""
    change = chart.kind == "change"
    head = []
    item = chart.item_label
    if change:
        head = [item, "Waves", "Change (pp)", "95% interval"]
    elif chart.kind == "heatmap":
        head = ["From", "To", "Wave", "Share", "95% interval"]
    elif chart.facet:
        head = [item, "Group", "Wave", "Share", "95% interval"]
    else:
        head = [item, "Wave", "Share", "95% interval"]
    if weighted and not change:
        head += ["Weighted share", "Weighted 95% interval", "Design effect"]
    head += ["n", "Note"]
    body = []
    for row in chart.rows:
        cells = [TableCell(row["choice_label"])]
        if change:
            cells.append(TableCell(row.get("pair", "")))
        elif chart.kind == "heatmap":
            cells.append(TableCell(row["option_label"]))
        elif chart.facet:
            cells.append(TableCell(row["segment_label"]))
        if not change:
            cells.append(TableCell(row["wave"]))
        hidden = row["share"] is None
        cells.append(TableCell("—" if hidden else _pct(row["share"], change), True))
        cells.append(TableCell(_interval(row, change), True))
        if weighted and not change:
            cells.append(TableCell(_pct(row["share_weighted"]), True))
            cells.append(TableCell(_interval(row, suffix="_weighted"), True))
            effect = row.get("design_effect")
            cells.append(TableCell("" if effect is None else f"{effect:.2f}", True))
        cells.append(TableCell(_count(row["base_n"]), True))
        note = row["flag_meaning"]
        if change and row["flag"] == "no-detectable-change":
            note = "No detectable change."
        elif row.get("wording") and chart.kind == "trend":
            note = note or f"Question {row['wording']}."
        cells.append(TableCell(note))
        body.append(cells)
    return head, body


def focus_facts(report: Report) -> list[str]:
    """Plain sentences about the spec's focus choice, from the charts' published rows only."""
    choice = report.spec.focus.choice if report.spec.focus else ""
    if not choice or not report.speaking_wave:
        return []
    facts = []

    def latest(chart: ChartData | None) -> dict[str, Any] | None:
        if chart is None:
            return None
        rows = [row for row in chart.drawn if row["choice"] == choice]
        return max(rows, key=lambda row: chart.wave_order.index(row["wave"]), default=None)

    def said(chart: ChartData, row: dict[str, Any]) -> str:
        values = {
            "share": _pct(row["share"]),
            "interval": _interval(row),
            "n": _count(row["base_n"]),
            "wave": row["wave"],
            "label": row["choice_label"],
        }
        try:
            return chart.fact.format(**values)
        except (KeyError, IndexError, ValueError):
            return chart.fact

    if (row := latest(report.headline)) and report.headline and report.headline.fact:
        facts.append(said(report.headline, row))
    if (row := latest(report.changes)) and row["share"] is not None:
        verdict = (
            "no detectable change"
            if row["flag"] == "no-detectable-change"
            else ("a detectable rise" if row["share"] > 0 else "a detectable fall")
        )
        facts.append(
            f"Change from {row['compare_wave']} to {row['wave']}: {_pct(row['share'], True)} "
            f"percentage points ({_interval(row, True)}): {verdict}."
        )
    for chart in report.focus:
        if chart.fact and (row := latest(chart)):
            facts.append(said(chart, row))
    return facts


# -- Pictures ----------------------------------------------------------------------------------


def chart_render(chart: ChartData, layout: Layout = WIDE) -> tuple[str, bytes]:
    spec = chart_spec(chart, layout)
    return vl_convert.vegalite_to_svg(spec), vl_convert.vegalite_to_png(spec, scale=2)


def image_name(name: str, layout: Layout) -> str:
    # Chart names are slugs, so a dotted suffix can never clash with another chart's name.
    return name if layout is WIDE else f"{name}.{layout.name}"


def chart_image(
    snapshot: Snapshot, name: str, build: Callable[[], ChartData | None], layout: Layout = WIDE
) -> ChartImage | None:
    """The stored rendering of a chart, rendered and stored on first request."""
    stored_name = image_name(name, layout)
    stored = ChartImage.objects.filter(snapshot=snapshot, name=stored_name).first()
    if stored is not None:
        return stored
    chart = build()
    if chart is None:
        return None
    svg, png = chart_render(chart, layout)
    try:
        with transaction.atomic():
            return ChartImage.objects.create(snapshot=snapshot, name=stored_name, svg=svg, png=png)
    except IntegrityError:
        # Another request rendered it at the same time; theirs is the same picture.
        return ChartImage.objects.get(snapshot=snapshot, name=stored_name)
