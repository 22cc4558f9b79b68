"""Charts of a published snapshot: Vega-Lite specs drawn with altair, rendered offline.

vl-convert renders SVG and PNG in-process (no browser, no network, fonts bundled). A chart is
rendered the first time someone asks for it and kept in `ChartImage`, so each published
snapshot's charts are drawn once. The same data gives the chart's table and CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt
import vl_convert
from django.db import IntegrityError, transaction

from .models import ChartImage, Snapshot
from .selectors import ChartData, wave_number

WIDTH = 560
FACET_WIDTH = 150
FONT = "Liberation Sans, DejaVu Sans, sans-serif"
INK = "#1d2330"
MUTED = "#5b6475"
# Colour-blind-safe categorical palette (Okabe-Ito, without yellow for contrast on white).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#999999"]
CSV_FIELDS = [
    "series",
    "chart",
    "measure",
    "wave",
    "compare_wave",
    "question",
    "choice",
    "choice_label",
    "option",
    "option_label",
    "dimension",
    "segment",
    "segment_label",
    "base_n",
    "count",
    "share",
    "ci_low",
    "ci_high",
    "share_weighted",
    "ci_low_weighted",
    "ci_high_weighted",
    "n_eff",
    "design_effect",
    "flag",
    "flag_meaning",
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
    if change:
        head = ["Framework", "Waves", "Change (pp)", "95% interval"]
    elif chart.kind == "heatmap":
        head = ["From", "To", "Wave", "Share", "95% interval"]
    elif chart.facet:
        head = ["Framework", "Group", "Wave", "Share", "95% interval"]
    else:
        head = ["Framework", "Wave", "Share", "95% interval"]
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


def focus_facts(charts: list[ChartData], choice: str = "tensorflow") -> list[str]:
    """Plain sentences about one framework, from the charts' published rows only."""
    facts = []
    by_name = {chart.name: chart for chart in charts}

    def latest(name: str) -> dict[str, Any] | None:
        chart = by_name.get(name)
        if chart is None:
            return None
        rows = [row for row in chart.drawn if row["choice"] == choice]
        return max(rows, key=lambda row: chart.wave_order.index(row["wave"]), default=None)

    if row := latest("headline"):
        facts.append(
            f"Used regularly by {_pct(row['share'])} of {row['wave']} respondents "
            f"(95% interval {_interval(row)}, n = {_count(row['base_n'])})."
        )
    if row := latest("changes"):
        verdict = (
            "no detectable change"
            if row["flag"] == "no-detectable-change"
            else ("a detectable rise" if row["share"] > 0 else "a detectable fall")
        )
        facts.append(
            f"Change from {row['compare_wave']} to {row['wave']}: {_pct(row['share'], True)} "
            f"percentage points ({_interval(row, True)}): {verdict}."
        )
    if row := latest("new-projects"):
        facts.append(
            f"Chosen for new projects by {_pct(row['share'])} of those who rated it in "
            f"{row['wave']} ({_interval(row)})."
        )
    if row := latest("retention"):
        facts.append(
            f"Still used by {_pct(row['share'])} of those who ever used it ({_interval(row)})."
        )
    return facts


# -- Vega-Lite specs --------------------------------------------------------------------------


def _title(chart: ChartData) -> alt.TitleParams:
    title = chart.title
    if chart.synthetic:
        title = f"{title} (synthetic demo data)"
    subtitle = [chart.subtitle]
    if chart.source:
        subtitle.append(chart.source)
    return alt.TitleParams(
        title, subtitle=subtitle, anchor="start", fontSize=15, subtitleColor=MUTED, color=INK
    )


def _color(order: list[str], title: str | None = None) -> alt.Color:
    return alt.Color(
        "choice_label:N",
        sort=order,
        scale=alt.Scale(domain=order, range=PALETTE),
        legend=alt.Legend(title=title, orient="right", labelLimit=220),
    )


def _trend(chart: ChartData) -> alt.TopLevelMixin:
    rows = chart.drawn
    numeric = all(wave_number(w) is not None for w in chart.wave_order)
    spread = len(chart.order)
    if numeric:
        nums = sorted(wave_number(w) for w in chart.wave_order)
        gap = min((b - a for a, b in zip(nums, nums[1:], strict=False)), default=1.0)
        # Frameworks are nudged apart within a wave so their interval bars do not overlap,
        # by at most a third of the gap between waves.
        step = gap / 3 / max(1, spread - 1)
        for row in rows:
            offset = (chart.order.index(row["choice_label"]) - (spread - 1) / 2) * step
            row["x"] = wave_number(row["wave"]) + offset
        x = alt.X(
            "x:Q",
            title="Wave",
            scale=alt.Scale(domain=[nums[0] - gap / 3, nums[-1] + gap / 3], nice=False),
            axis=alt.Axis(values=nums, format="d", grid=False),
        )
    else:
        for row in rows:
            row["x"] = row["wave"]
        x = alt.X("x:O", title="Wave", sort=chart.wave_order)
    y = alt.Y("share:Q", title="Share of respondents", axis=alt.Axis(format=".0%"))
    base = alt.Chart(alt.Data(values=rows))
    color = _color(chart.order)
    # The latest wording is drawn solid, earlier wordings dashed, so the eye follows the
    # comparable run and the legend names what was asked when.
    wordings = list(dict.fromkeys(row["wording"] for row in chart.rows))
    dash = alt.StrokeDash(
        "wording:N",
        title="Question",
        scale=alt.Scale(domain=wordings, range=[[5, 3]] * (len(wordings) - 1) + [[1, 0]]),
        legend=alt.Legend(orient="bottom") if chart.breaks else None,
    )
    layers = [
        base.mark_rule(opacity=0.7).encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=color),
        base.mark_line(strokeWidth=2).encode(
            x=x, y=y, color=color, detail="run:N", strokeDash=dash
        ),
        base.mark_point(filled=True, size=45).encode(x=x, y=y, color=color),
    ]
    if chart.breaks and numeric:
        marks = [
            {
                "at": (wave_number(b["wave"]) + wave_number(b["previous_wave"])) / 2,
                "label": "Question wording changed",
            }
            for b in chart.breaks
        ]
        rule = alt.Chart(alt.Data(values=marks))
        layers.append(rule.mark_rule(strokeDash=[5, 4], color=MUTED).encode(x="at:Q"))
        layers.append(
            rule.mark_text(align="left", dx=4, dy=-4, baseline="top", color=MUTED).encode(
                x="at:Q", y=alt.value(0), text="label:N"
            )
        )
    return alt.layer(*layers).properties(width=WIDTH, height=340, title=_title(chart))


def _dots(chart: ChartData) -> alt.TopLevelMixin:
    rows = chart.drawn
    y_field = "segment_label" if chart.facet else "choice_label"
    y_order = (
        list(dict.fromkeys(row["segment_label"] for row in chart.rows))
        if chart.facet
        else chart.order
    )
    # Every group keeps its place on the axis, so a suppressed one shows as a gap, not absent.
    y = alt.Y(
        f"{y_field}:N",
        sort=y_order,
        title=None,
        scale=alt.Scale(domain=y_order),
        axis=alt.Axis(labelLimit=200),
    )
    x = alt.X("share:Q", title="Share", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=True))
    several = len(chart.wave_order) > 1
    if chart.facet:
        color = alt.Color(
            "choice_label:N",
            sort=chart.order,
            legend=None,
            scale=alt.Scale(domain=chart.order, range=PALETTE),
        )
    elif several:
        color = alt.Color(
            "wave:N", sort=chart.wave_order, title="Wave", scale=alt.Scale(range=PALETTE)
        )
    else:
        color = alt.value(PALETTE[0])
    extra = {"yOffset": alt.YOffset("wave:N", sort=chart.wave_order)} if several else {}
    base = alt.Chart() if chart.facet else alt.Chart(alt.Data(values=rows))
    layers = alt.layer(
        base.mark_rule(strokeWidth=2).encode(
            x="ci_low:Q", x2="ci_high:Q", y=y, color=color, **extra
        ),
        base.mark_point(filled=True, size=60).encode(x=x, y=y, color=color, **extra),
    )
    if chart.facet:
        return (
            alt.layer(*layers.layer, data=alt.Data(values=rows))
            .properties(width=FACET_WIDTH)
            .facet(
                facet=alt.Facet("choice_label:N", sort=chart.order, title=None),
                columns=4,
                title=_title(chart),
            )
        )
    height = max(120, 26 * len(chart.order) * (len(chart.wave_order) if several else 1))
    return layers.properties(width=WIDTH - 160, height=height, title=_title(chart))


def _change(chart: ChartData) -> alt.TopLevelMixin:
    rows = chart.drawn
    for row in rows:
        if row["flag"] == "no-detectable-change":
            row["verdict"] = "no detectable change"
        else:
            row["verdict"] = "increase" if row["share"] > 0 else "decrease"
    y = alt.Y("choice_label:N", sort=chart.order, title=None)
    x = alt.X("share:Q", title="Change, percentage points", axis=alt.Axis(format="+.0%"))
    color = alt.Color(
        "verdict:N",
        title=None,
        scale=alt.Scale(
            domain=["increase", "decrease", "no detectable change"],
            range=["#0072B2", "#D55E00", "#999999"],
        ),
        legend=alt.Legend(orient="bottom"),
    )
    base = alt.Chart()
    layers = [
        base.mark_rule(color=MUTED, strokeDash=[3, 3]).encode(x=alt.datum(0)),
        base.mark_rule(strokeWidth=2).encode(x="ci_low:Q", x2="ci_high:Q", y=y, color=color),
        base.mark_point(filled=True, size=60).encode(x=x, y=y, color=color),
    ]
    pairs = list(dict.fromkeys(row["pair"] for row in rows))
    return (
        alt.layer(*layers, data=alt.Data(values=rows))
        .properties(
            width=max(160, (WIDTH - 160) // max(1, len(pairs))), height=26 * len(chart.order)
        )
        .facet(column=alt.Column("pair:N", sort=pairs, title=None), title=_title(chart))
    )


def _heatmap(chart: ChartData) -> alt.TopLevelMixin:
    rows = [dict(row) for row in chart.rows]
    for row in rows:
        row["label"] = "—" if row["share"] is None else f"{row['share'] * 100:.0f}%"
    targets = list(dict.fromkeys(row["option_label"] for row in rows))
    sources = list(dict.fromkeys(row["choice_label"] for row in rows))
    x = alt.X(
        "option_label:N",
        sort=targets,
        scale=alt.Scale(domain=targets),
        title="Moved to",
        axis=alt.Axis(orient="top", labelAngle=0),
    )
    y = alt.Y("choice_label:N", sort=sources, scale=alt.Scale(domain=sources), title="Moved from")
    base = alt.Chart(alt.Data(values=rows)).encode(x=x, y=y)
    shown, hidden = "datum.share != null", "datum.share == null"
    return alt.layer(
        # Suppressed moves stay on the grid as grey cells marked with a dash, not as blanks.
        base.transform_filter(hidden).mark_rect(stroke="white", color="#e6e8ee"),
        base.transform_filter(shown)
        .mark_rect(stroke="white")
        .encode(
            color=alt.Color(
                "share:Q",
                title="Share",
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(format=".0%"),
            )
        ),
        base.mark_text(fontSize=13).encode(
            text="label:N",
            color=alt.condition("datum.share > 0.3", alt.value("white"), alt.value(INK)),
        ),
    ).properties(
        width=max(120, 80 * len(targets)), height=max(80, 36 * len(sources)), title=_title(chart)
    )


BUILDERS: dict[str, Callable[[ChartData], alt.TopLevelMixin]] = {
    "trend": _trend,
    "dots": _dots,
    "change": _change,
    "heatmap": _heatmap,
}


def chart_spec(chart: ChartData) -> dict[str, Any]:
    # Rows are copied: builders add drawing fields that must not leak into the table or CSV.
    drawn = ChartData(**{**chart.__dict__, "rows": [dict(row) for row in chart.rows]})
    spec = (
        BUILDERS[chart.kind](drawn)
        .configure(font=FONT, background="white", padding=12)
        .configure_view(stroke=None)
    )
    return spec.to_dict()


def chart_render(chart: ChartData) -> tuple[str, bytes]:
    spec = chart_spec(chart)
    return vl_convert.vegalite_to_svg(spec), vl_convert.vegalite_to_png(spec, scale=2)


def chart_image(
    snapshot: Snapshot, name: str, build: Callable[[], ChartData | None]
) -> ChartImage | None:
    """The stored rendering of a chart, rendered and stored on first request."""
    stored = ChartImage.objects.filter(snapshot=snapshot, name=name).first()
    if stored is not None:
        return stored
    chart = build()
    if chart is None:
        return None
    svg, png = chart_render(chart)
    try:
        with transaction.atomic():
            return ChartImage.objects.create(snapshot=snapshot, name=name, svg=svg, png=png)
    except IntegrityError:
        # Another request rendered it at the same time; theirs is the same picture.
        return ChartImage.objects.get(snapshot=snapshot, name=name)


# -- What other data says: outside signals beside the survey (results.comparison) ------------

COMPARISON_WIDTH = 250
COMPARISON_COLOURS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00"]


def comparison_spec(comparison: Any) -> dict[str, Any]:
    """Small multiples, one per framework, every line on one time axis; 330 px wide in all,
    so it reads at a phone's width without being scaled down."""
    order = [line["line"] for line in comparison.lines]
    frameworks = [comparison.labels[key] for key in comparison.focus]
    # A gap (a missing figure) ends a run, so the line breaks there instead of bridging it.
    drawn, runs = [], {}
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
