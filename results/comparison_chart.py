"""The picture of "What other data says", in the report's two layouts (results.drawing).

Small multiples, one per framework, on one shared time axis that every panel labels. Each
line is drawn per stretch (results.comparability): never joined across a break, a change in
the compared frameworks or a missing figure. The legend is drawn beside the panels from the
same marks the panels use: a stroke per signal (with a dot where a point is a pooled year),
and for the survey its diamond with an interval bar, since survey waves are points that a line
joins only within a stretch.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import altair as alt
import vl_convert
from django.db import IntegrityError, transaction

from .charts import image_name
from .comparability import SURVEY
from .drawing import FONT, FONT_SIZE, INK, PHONE, WIDE, Layout, title_params
from .models import ChartImage, Snapshot

COLOURS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]
ROW = FONT_SIZE + 8  # a legend row's height, px
LINE = FONT_SIZE + 3  # a wrapped legend label's next line, px
SAMPLE = 26  # a legend sample's width, px
AXIS = 40  # room a panel's percentage labels take left of it, px
SPACING = 28  # between two panels side by side, px
CHAR = 6.6  # a 12 px character's mean width, px, for wrapping legend labels


def _panel_size(layout: Layout, panels: int) -> tuple[int, int, int]:
    """Columns, plot width and height of one panel in the layout."""
    room = layout.total - 2 * layout.padding
    if layout is PHONE:
        return 1, room - AXIS - 6, 130
    columns = min(2, panels)
    return columns, (room - SPACING * (columns - 1)) // columns - AXIS, 150


def _drawn(comparison: Any) -> list[dict[str, Any]]:
    """Rows with the fields the marks need: the run a line joins, whether a point stands alone."""
    drawn: list[dict[str, Any]] = []
    gaps: dict[tuple[str, str], int] = {}
    ordered = sorted(comparison.rows, key=lambda r: (r["source"], r["framework"], r["date"]))
    for row in ordered:
        key = (row["source"], row["framework"])
        if row["share"] is None:  # a missing figure ends a run: a gap, never bridged
            gaps[key] = gaps.get(key, 0) + 1
            continue
        run = f"{key[0]}|{key[1]}|{row.get('stretch', '')}|{gaps.get(key, 0)}"
        drawn.append({**row, "run": run, "mark": "value"})
    sizes: dict[str, int] = {}
    for row in drawn:
        sizes[row["run"]] = sizes.get(row["run"], 0) + 1
    for row in drawn:
        # A point no line reaches is drawn as a dot, so it is not lost.
        row["dot"] = sizes[row["run"]] == 1 or len(str(row["period"])) == 4
    frameworks = [comparison.labels[key] for key in comparison.focus]
    shown = {(row["source"], row["framework_label"]) for row in drawn}
    marks = []
    for item in comparison.breaks:
        for label in frameworks:
            if (item["source"], label) in shown:
                mark = "stretch" if item["end"] else "break"
                marks.append({**item, "framework_label": label, "mark": mark})
    return drawn + marks


def _legend(order: list[str], colours: list[str], yearly: set[str], width: int) -> alt.LayerChart:
    """One row per line, its sample drawn with the marks the panels use; then the break key."""
    entries = [(line, line, "line") for line in order] + [
        ("", "A break: the line is not joined across it", "break"),
        ("", "Figures not comparable with either side", "band"),
    ]
    chars = int((width - SAMPLE - 10) / CHAR)
    rows: list[dict[str, Any]] = []
    y = 0
    for line, text, kind in entries:
        wrapped = textwrap.wrap(text, chars)
        rows.append({"y": y, "line": line, "text": wrapped, "kind": kind})
        y += ROW + LINE * (len(wrapped) - 1)
    for row in rows:
        row["survey"] = row["line"].startswith("Survey")
        row["dot"] = row["line"] in yearly
    colour = alt.Color("line:N", scale=alt.Scale(domain=order, range=colours), legend=None)
    x0, x1, mid = alt.value(2), alt.value(2 + SAMPLE), alt.value(2 + SAMPLE / 2)
    at = alt.Y("y:Q", scale=None)
    base = alt.Chart(alt.Data(values=rows))
    line_rows = "datum.kind == 'line'"
    return alt.LayerChart(
        layer=[
            base.transform_filter(f"{line_rows} && !datum.survey")
            .mark_rule(strokeWidth=2.5)
            .encode(x=x0, x2=x1, y=at, color=colour),
            base.transform_filter(f"{line_rows} && datum.dot")
            .mark_point(filled=True, size=20, opacity=1)
            .encode(x=mid, y=at, color=colour),
            base.transform_filter(f"{line_rows} && datum.survey")
            .mark_rule(strokeWidth=2)
            .encode(
                x=mid,
                y=alt.Y("top:Q", scale=None),
                y2=alt.Y2("bottom:Q"),
                color=colour,
            )
            .transform_calculate(top="datum.y - 7", bottom="datum.y + 7"),
            base.transform_filter(f"{line_rows} && datum.survey")
            .mark_point(filled=True, size=60, shape="diamond", opacity=1)
            .encode(x=mid, y=at, color=colour),
            base.transform_filter("datum.kind == 'break'")
            .mark_rule(strokeDash=[4, 3], strokeWidth=1.5, color=INK)
            .encode(x=mid, y=alt.Y("top:Q", scale=None), y2=alt.Y2("bottom:Q"))
            .transform_calculate(top="datum.y - 8", bottom="datum.y + 8"),
            base.transform_filter("datum.kind == 'band'")
            .mark_rect(opacity=0.15, color=INK)
            .encode(x=x0, x2=x1, y=alt.Y("top:Q", scale=None), y2=alt.Y2("bottom:Q"))
            .transform_calculate(top="datum.y - 8", bottom="datum.y + 8"),
            base.mark_text(
                align="left",
                baseline="middle",
                lineHeight=LINE,
                fontSize=FONT_SIZE,
                color=INK,
                limit=width - SAMPLE - 10,
            ).encode(x=alt.value(SAMPLE + 10), y=at, text="text:N"),
        ]
    ).properties(width=width, height=y - ROW // 2)


def comparison_spec(comparison: Any, layout: Layout = WIDE) -> dict[str, Any]:
    order = [line["line"] for line in comparison.lines]
    colours = COLOURS[: len(order)]
    frameworks = [comparison.labels[key] for key in comparison.focus]
    drawn = _drawn(comparison)
    dates = sorted(row["date"] for row in drawn if row.get("mark") == "value")
    first, last = int(dates[0][:4]), int(dates[-1][:4]) + 1
    step = 2 if layout is WIDE or last - first <= 8 else 3
    ticks = [alt.DateTime(year=year) for year in range(first, last + 1, step)]
    columns, width, height = _panel_size(layout, len(frameworks))
    colour = alt.Color(
        "line:N", sort=order, scale=alt.Scale(domain=order, range=colours), legend=None
    )
    x = alt.X(
        "date:T",
        title=None,
        scale=alt.Scale(domain=[alt.DateTime(year=first), alt.DateTime(year=last)]),
        # Every panel labels its years: the axes are drawn per panel on one shared scale.
        axis=alt.Axis(values=ticks, format="%Y", grid=False, labelFlush=True),
    )
    y = alt.Y(
        "share:Q",
        title=None,
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=".0%", values=[0, 0.5, 1]),
    )
    signal = f"datum.mark == 'value' && datum.source != '{SURVEY}'"
    survey = f"datum.mark == 'value' && datum.source == '{SURVEY}'"
    base = alt.Chart()
    layers = [
        # A break at a point is a dashed rule; a stretch of incomparable figures, a pale band.
        base.transform_filter("datum.mark == 'stretch'")
        .mark_rect(opacity=0.12)
        .encode(x="date:T", x2="end:T", color=colour),
        base.transform_filter("datum.mark == 'break'")
        .mark_rule(strokeDash=[4, 3], strokeWidth=1.5)
        .encode(x="date:T", color=colour),
        base.transform_filter(signal)
        .mark_line(strokeWidth=1.8)
        .encode(x=x, y=y, color=colour, detail="run:N"),
        base.transform_filter(signal + " && datum.dot")
        .mark_point(filled=True, size=20, opacity=1)
        .encode(x=x, y=y, color=colour),
        base.transform_filter(survey)
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=colour, detail="run:N"),
        base.transform_filter(survey)
        .mark_rule(strokeWidth=2)
        .encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=colour),
        base.transform_filter(survey)
        .mark_point(filled=True, size=60, shape="diamond", opacity=1)
        .encode(x=x, y=y, color=colour),
    ]
    title = "What other data says"
    if comparison.synthetic:
        title += " (synthetic survey)"
    subtitle = (
        "Each framework's share among the compared frameworks, each line in its own unit; "
        "no line is joined across a break"
    )
    panels = (
        alt.layer(*layers, data=alt.Data(values=drawn))
        .properties(width=width, height=height)
        .facet(
            facet=alt.Facet(
                "framework_label:N",
                sort=frameworks,
                title=None,
                header=alt.Header(
                    labelOrient="top",
                    labelAnchor="start",
                    labelFontSize=FONT_SIZE + 1,
                    labelFontWeight="bold",
                    labelColor=INK,
                ),
            ),
            columns=columns,
            spacing={"row": 14, "column": 28},
        )
        .resolve_axis(x="independent", y="independent")
    )
    # The legend starts where the first panel's plot does, under its percentage labels.
    legend_width = columns * (width + AXIS) + SPACING * (columns - 1) - AXIS
    yearly = {row["line"] for row in drawn if row.get("dot") and row["source"] != SURVEY}
    spec = (
        alt.vconcat(panels, _legend(order, colours, yearly, legend_width), spacing=16)
        .properties(
            title=title_params(
                title, textwrap.wrap(subtitle, layout.subtitle_chars), layout, offset=10
            )
        )
        .configure(font=FONT, background="white", padding=layout.padding)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelColor=INK)
        .configure_header(labelFontSize=FONT_SIZE + 1)
        .configure_text(fontSize=FONT_SIZE)
    )
    return spec.to_dict()


def comparison_image(
    snapshot: Snapshot, name: str, build: Callable[[], Any | None], layout: Layout = WIDE
) -> ChartImage | None:
    """The stored rendering of the comparison; its name changes when a signal does."""
    stored_name = image_name(name, layout)
    stored = ChartImage.objects.filter(snapshot=snapshot, name=stored_name).first()
    if stored is not None:
        return stored
    comparison = build()
    if comparison is None:
        return None
    spec = comparison_spec(comparison, layout)
    svg, png = vl_convert.vegalite_to_svg(spec), vl_convert.vegalite_to_png(spec, scale=2)
    try:
        with transaction.atomic():
            return ChartImage.objects.create(snapshot=snapshot, name=stored_name, svg=svg, png=png)
    except IntegrityError:
        return ChartImage.objects.get(snapshot=snapshot, name=stored_name)
