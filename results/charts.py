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

import altair as alt
import vl_convert
from django.db import IntegrityError, transaction

from .disclosure.columns import PUBLIC_COLUMNS
from .drawing import FONT, INK, MUTED, WIDE, Layout, chart_spec
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


# -- What other data says: outside signals beside the survey (results.comparison) ------------

COMPARISON_WIDTH = 250
COMPARISON_COLOURS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]


def comparison_spec(comparison: Any) -> dict[str, Any]:
    """Small multiples, one per framework, every line on one time axis; 330 px wide in all,
    so it reads at a phone's width without being scaled down."""
    order = [line["line"] for line in comparison.lines]
    frameworks = [comparison.labels[key] for key in comparison.focus]
    # A gap (a missing figure) ends a run, so the line breaks there instead of bridging it.
    drawn: list[dict[str, Any]] = []
    runs: dict[tuple[str, str], int] = {}
    for row in sorted(comparison.rows, key=lambda r: (r["source"], r["framework"], r["date"])):
        key = (row["source"], row["framework"])
        if row["share"] is None:
            runs[key] = runs.get(key, 0) + 1
            continue
        drawn.append({**row, "run": f"{key[0]}-{key[1]}-{runs.get(key, 0)}", "mark": "value"})
    # A source's breaks are marked only beside its own lines.
    shown = {(row["source"], row["framework_label"]) for row in drawn}
    for item in comparison.breaks:
        for label in frameworks:
            if (item["source"], label) in shown:
                mark = "stretch" if item["end"] else "break"
                drawn.append({**item, "framework_label": label, "mark": mark})
    years = sorted({int(row["date"][:4]) for row in drawn if row.get("date")})
    ticks = [alt.DateTime(year=y) for y in range(years[0], years[-1] + 2, 2)] if years else []
    colour = alt.Color(
        "line:N",
        sort=order,
        scale=alt.Scale(domain=order, range=COMPARISON_COLOURS[: len(order)]),
        legend=alt.Legend(
            title=None,
            orient="bottom",
            columns=1,
            labelLimit=330,
            symbolType="stroke",
            symbolStrokeWidth=3,
            symbolOpacity=1,
        ),
    )
    x = alt.X(
        "date:T",
        title=None,
        axis=alt.Axis(values=ticks, format="%Y", grid=False, labelFontSize=11),
    )
    y = alt.Y(
        "share:Q",
        title=None,
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=".0%", values=[0, 0.5, 1], labelFontSize=11),
    )
    signal = "datum.mark == 'value' && datum.source != 'survey'"
    survey = "datum.mark == 'value' && datum.source == 'survey'"
    base = alt.Chart()
    layers = alt.layer(
        # A break at a point is a dashed rule; a stretch of incomparable figures, a pale band.
        base.transform_filter("datum.mark == 'break'")
        .mark_rule(strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x="date:T", color=colour),
        base.transform_filter("datum.mark == 'stretch'")
        .mark_rect(opacity=0.12)
        .encode(x="date:T", x2="end:T", color=colour),
        base.transform_filter(signal)
        .mark_line(strokeWidth=1.6)
        .encode(x=x, y=y, color=colour, detail="run:N"),
        base.transform_filter(signal + " && datum.period.length == 4")
        .mark_point(filled=True, size=16)
        .encode(x=x, y=y, color=colour),
        base.transform_filter(survey)
        .mark_rule(strokeWidth=2)
        .encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=colour),
        base.transform_filter(survey)
        .mark_point(filled=True, size=50, shape="diamond")
        .encode(x=x, y=y, color=colour),
    )
    title = "What other data says"
    if comparison.synthetic:
        title += " (synthetic survey)"
    spec = (
        alt.layer(*layers.layer, data=alt.Data(values=drawn))
        .properties(width=COMPARISON_WIDTH, height=100)
        .facet(
            facet=alt.Facet(
                "framework_label:N",
                sort=frameworks,
                title=None,
                header=alt.Header(
                    labelOrient="top",
                    labelAnchor="start",
                    labelFontSize=12,
                    labelFontWeight="bold",
                    labelColor=INK,
                ),
            ),
            columns=1,
            spacing=8,
            title=alt.TitleParams(
                title,
                subtitle=["Share among the compared frameworks,", "each line in its own unit"],
                anchor="start",
                fontSize=15,
                subtitleFontSize=12,
                subtitleColor=MUTED,
                color=INK,
            ),
        )
        .configure(font=FONT, background="white", padding=8)
        .configure_view(stroke=None)
        .configure_legend(labelFontSize=11, labelColor=INK)
    )
    return spec.to_dict()


def comparison_image(
    snapshot: Snapshot, name: str, build: Callable[[], Any | None]
) -> ChartImage | None:
    """The stored rendering of the comparison; its name changes when a signal does."""
    stored = ChartImage.objects.filter(snapshot=snapshot, name=name).first()
    if stored is not None:
        return stored
    comparison = build()
    if comparison is None:
        return None
    spec = comparison_spec(comparison)
    svg, png = vl_convert.vegalite_to_svg(spec), vl_convert.vegalite_to_png(spec, scale=2)
    try:
        with transaction.atomic():
            return ChartImage.objects.create(snapshot=snapshot, name=name, svg=svg, png=png)
    except IntegrityError:
        return ChartImage.objects.get(snapshot=snapshot, name=name)
