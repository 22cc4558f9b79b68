"""Vega-Lite specs of a report's charts, drawn with altair in two layouts: wide and phone.

The phone layout is drawn for a 390 px screen at its own size (at most PHONE.total px wide,
so a browser never scales it down): titles wrap, legends go below, small multiples stack,
and every text is at least FONT_SIZE px. Labels are placed so that they never overlap:
line-end labels are pushed apart, and the migration grid keeps its column headers upright
only when they fit and turns them otherwise.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt

from .selectors import ChartData, wave_number

FONT = "Liberation Sans, DejaVu Sans, sans-serif"
FONT_SIZE = 12  # every text in a chart; 11 px is the floor a phone needs
TITLE_SIZE = 15
INK = "#1d2330"
MUTED = "#5b6475"
# Colour-blind-safe categorical palette (Okabe-Ito, without yellow for contrast on white).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#999999"]
LABEL_GAP = FONT_SIZE + 3  # vertical room a line-end label needs, px


@dataclass(frozen=True)
class Layout:
    name: str
    total: int  # the whole picture's width, px (phone: what a 390 px screen shows unscaled)
    width: int  # a single chart's plot width
    facet_width: int
    facet_columns: int
    label_limit: int  # longest axis label, px, before it is cut with an ellipsis
    title_chars: int  # wrap titles at this many characters
    subtitle_chars: int
    legend: str  # where legends go
    padding: int
    grid_columns: int  # most columns the migration grid draws (the table has every move)


WIDE = Layout("wide", 720, 560, 150, 4, 200, 80, 100, "right", 12, 12)
PHONE = Layout("phone", 340, 200, 90, 2, 110, 34, 46, "bottom", 4, 6)
LAYOUTS = {"wide": WIDE, "phone": PHONE}


def _title(chart: ChartData, layout: Layout) -> alt.TitleParams:
    title = chart.title
    if chart.synthetic:
        title = f"{title} (synthetic demo data)"
    subtitle = textwrap.wrap(chart.subtitle, layout.subtitle_chars)
    if chart.caveat:
        subtitle += textwrap.wrap(chart.caveat, layout.subtitle_chars)
    if chart.source:
        subtitle += textwrap.wrap(chart.source, layout.subtitle_chars)
    return title_params(title, subtitle, layout)


def title_params(
    title: str, subtitle: list[str], layout: Layout, offset: int = 8
) -> alt.TitleParams:
    """A chart's title and its wrapped subtitle lines, in the house style."""
    return alt.TitleParams(
        textwrap.wrap(title, layout.title_chars),
        subtitle=subtitle,
        anchor="start",
        fontSize=TITLE_SIZE,
        subtitleFontSize=FONT_SIZE,
        subtitleColor=MUTED,
        color=INK,
        offset=offset,
    )


def _legend(layout: Layout, **extra: Any) -> alt.Legend:
    if layout.legend == "bottom":
        return alt.Legend(orient="bottom", direction="horizontal", columns=2, **extra)
    return alt.Legend(orient="right", labelLimit=220, **extra)


def _nice_max(value: float) -> float:
    step = 0.05 if value <= 0.3 else 0.1
    return min(1.0, max(step, step * -(-value // step)))


# Advance widths of Liberation Sans (Arial's metrics), in thousandths of an em: enough to
# size a label column and shorten a label before Vega would cut it with an ellipsis.
_WIDTHS = {
    **dict.fromkeys(" ,.:;!'ijlI|", 278),
    **dict.fromkeys("ftr-()[]/", 333),
    **dict.fromkeys("ckszvxyJ", 500),
    **dict.fromkeys("abdeghnopqu0123456789L_", 556),
    **dict.fromkeys("FTZ", 611),
    **dict.fromkeys("ABEKPSVXY", 667),
    **dict.fromkeys("CDHNRUw", 722),
    **dict.fromkeys("GOQ", 778),
    **dict.fromkeys("mM%", 889),
    "W": 944,
}


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """The width of `text` in px at `size`, a little over what the renderer draws."""
    return sum(_WIDTHS.get(char, 667) for char in text) * size / 1000 * 1.04


def shorten_labels(names: list[str], room: float, suffixes: list[str] | None = None) -> list[str]:
    """Each name cut to fit `room` px with its suffix, by whole words while they stay distinct.

    A name that fits is kept; one that does not loses words from its end; only a first word
    that is itself too long is cut with an ellipsis.
    """
    suffixes = suffixes or [""] * len(names)
    found: list[str] = []
    for index, (name, suffix) in enumerate(zip(names, suffixes, strict=True)):
        others = {n for i, n in enumerate(names) if i != index} | set(found)
        if text_width(name + suffix) <= room:
            found.append(name)
            continue
        words = name.split()
        short = ""
        for count in range(len(words) - 1, 0, -1):
            candidate = " ".join(words[:count])
            if text_width(candidate + suffix) <= room and candidate not in others:
                short = candidate
                break
        if not short:
            short = name
            while len(short) > 1 and text_width(short + "…" + suffix) > room:
                short = short[:-1]
            short = short.rstrip() + "…"
        found.append(short)
    return found


def spread_labels(wanted: list[float], gap: float, low: float, high: float) -> list[float]:
    """Pixel positions as close to `wanted` as possible, at least `gap` apart, in [low, high].

    `wanted` must be sorted; the answer keeps its order.
    """
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, low, placed[-1] + gap) if placed else max(y, low))
    if placed and placed[-1] > high:  # pushed off the bottom: push back up from there
        placed[-1] = high
        for index in range(len(placed) - 2, -1, -1):
            placed[index] = min(placed[index], placed[index + 1] - gap)
    return placed


def _runs(chart: ChartData, rows: list[dict[str, Any]]) -> list[list[str]]:
    """The chart's waves in runs asked alike: the lines are joined within a run only."""
    run_of = {row["wave"]: row.get("run", 0) for row in rows}
    runs: list[list[str]] = []
    last = None
    for wave in chart.wave_order:
        if wave not in run_of:
            continue
        if not runs or run_of[wave] != last:
            runs.append([])
        runs[-1].append(wave)
        last = run_of[wave]
    return runs


def _label_groups(
    chart: ChartData, rows: list[dict[str, Any]], runs: list[list[str]]
) -> list[list[dict[str, Any]]]:
    """For each run, every line's last point in it, highest first: the points to name."""
    groups = []
    for run in runs:
        last: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["wave"] in run and (
                row["choice_label"] not in last
                or run.index(row["wave"]) >= run.index(last[row["choice_label"]]["wave"])
            ):
                last[row["choice_label"]] = row
        groups.append(sorted(last.values(), key=lambda row: -row["share"]))
    return groups


def _label_texts(group: list[dict[str, Any]], room: float) -> list[str]:
    suffixes = [f" {row['share'] * 100:.0f}%" for row in group]
    names = shorten_labels([row["choice_label"] for row in group], room, suffixes)
    return [name + suffix for name, suffix in zip(names, suffixes, strict=True)]


def _trend(chart: ChartData, layout: Layout) -> alt.TopLevelMixin:
    rows = chart.drawn
    numeric = all(wave_number(w) is not None for w in chart.wave_order)
    spread = len(chart.order)
    height = 340 if layout is WIDE else 300
    top = _nice_max(max((row["ci_high"] or row["share"] for row in rows), default=0.1))
    # The line-end labels need room beside the plot.
    width = layout.width
    runs = _runs(chart, rows)
    # Waves that are not numbers have no room between them: their lines are named at the end.
    groups = _label_groups(chart, rows, runs if numeric else [sum(runs, [])])
    # Every run is named at its end, so no point is told apart by colour alone: the last run
    # beside the plot, each earlier one in a column of its own before the break that ends it.
    inner = groups[:-1] if numeric else []
    inner_texts = [_label_texts(group, layout.label_limit) for group in inner]
    column = max((text_width(text) + 14 for texts in inner_texts for text in texts), default=0.0)
    core = 28 * len(chart.wave_order)  # the least room the points themselves need, px
    if inner and width - len(inner) * column < core:
        column = max(40.0, (width - core) / len(inner))
        inner_texts = [_label_texts(group, column - 14) for group in inner]
    positions: dict[str, Any] = {}
    rules: dict[tuple[str, str], float] = {}
    if numeric:
        nums = sorted(wave_number(w) or 0.0 for w in chart.wave_order)
        gap = min((b - a for a, b in zip(nums, nums[1:], strict=False)), default=1.0)
        # Lines are nudged apart within a wave so their interval bars do not overlap, by at
        # most half the gap between waves.
        step = gap / 2 / max(1, spread - 1)

        def place(room: float) -> float:
            at = None
            for index, run in enumerate(runs):
                for wave in run:
                    number = wave_number(wave) or 0.0
                    if at is None:
                        at = number
                    elif wave == run[0]:
                        rule = at + gap / 4 + room + gap / 12
                        rules[(runs[index - 1][-1], wave)] = rule
                        at = rule + gap / 3
                    else:
                        at += number - (wave_number(run[run.index(wave) - 1]) or 0.0)
                    positions[wave] = at
            return (at or 0.0) - positions[runs[0][0]] + 2 * gap / 3 if runs else gap

        # The label columns' width in x units, so that each is `column` px on the plot.
        room = 0.0
        if inner:
            span = place(0.0)
            room = column * span / (width - len(inner) * column)
        span = place(room)
        for row in rows:
            offset = (chart.order.index(row["choice_label"]) - (spread - 1) / 2) * step
            row["x"] = positions[row["wave"]] + offset
        low = positions[runs[0][0]] - gap / 3 if runs else 0.0
        values = [positions[w] for w in chart.wave_order if w in positions]
        names = " : ".join(
            f"abs(datum.value - {positions[w]!r}) < 1e-6 ? {w!r}"
            for w in chart.wave_order
            if w in positions
        )
        x = alt.X(
            "x:Q",
            title="Wave",
            scale=alt.Scale(domain=[low, low + span], nice=False),
            axis=alt.Axis(
                values=values, grid=False, labelExpr=f"{names} : ''" if names else alt.Undefined
            ),
        )
    else:
        for row in rows:
            row["x"] = row["wave"]
        x = alt.X("x:O", title="Wave", sort=chart.wave_order)
    y = alt.Y(
        "share:Q",
        # On a phone the subtitle says what the numbers are, and the plot needs the width.
        title="Share of respondents" if layout is WIDE else None,
        axis=alt.Axis(format=".0%"),
        scale=alt.Scale(domain=[0, top], nice=False, clamp=True),
    )
    base = alt.Chart(alt.Data(values=rows))
    color = alt.Color(
        "choice_label:N",
        sort=chart.order,
        scale=alt.Scale(domain=chart.order, range=PALETTE),
        legend=None,  # every line is named at its end instead
    )
    # The latest wording is drawn solid, earlier wordings dashed, so the eye follows the
    # comparable run and the legend names what was asked when. Only runs with a line in
    # them are drawn, so only they are in the legend: a run of one wave is points only.
    counts: dict[tuple[str, Any], int] = {}
    for row in rows:
        key = (row["choice_label"], row.get("run", 0))
        counts[key] = counts.get(key, 0) + 1
    lined = [row for row in rows if counts[(row["choice_label"], row.get("run", 0))] > 1]
    wordings = list(dict.fromkeys(row["wording"] for row in chart.rows))
    drawn = [w for w in wordings if any(row["wording"] == w for row in lined)]
    dash = alt.StrokeDash(
        "wording:N",
        title="Question",
        scale=alt.Scale(
            domain=drawn or wordings,
            range=[[5, 3] if w != wordings[-1] else [1, 0] for w in drawn or wordings],
        ),
        legend=alt.Legend(orient="bottom") if chart.breaks and drawn else None,
    )
    layers = [
        base.mark_rule(opacity=0.7).encode(x=x, y="ci_low:Q", y2="ci_high:Q", color=color),
        alt.Chart(alt.Data(values=lined))
        .mark_line(strokeWidth=2)
        .encode(x=x, y=y, color=color, detail="run:N", strokeDash=dash),
        base.mark_point(filled=True, size=45).encode(x=x, y=y, color=color),
    ]
    labels = []
    for index, group in enumerate(groups):
        if index < len(inner):
            texts = inner_texts[index]
        else:
            # The last run's labels sit beside the plot, at most label_limit px wide.
            texts = _label_texts(group, layout.label_limit - 4) if numeric else []
        labels += _end_labels(group, texts, height, top)
    layers.append(_label_layer(chart, labels, layout, numeric))
    if chart.breaks and numeric:
        marks = []
        for index, found in enumerate(chart.breaks):
            at = rules.get((found["previous_wave"], found["wave"]))
            if at is None:
                pair = (
                    positions.get(found["wave"], 0.0),
                    positions.get(found["previous_wave"], 0.0),
                )
                at = sum(pair) / 2
            # Above the plot, one row per break, running away from the nearer edge.
            left = at <= low + span / 2
            marks.append(
                {
                    "at": at,
                    "label": found.get("label") or "Break",
                    "y": -9 - index * LABEL_GAP,
                    "align": "left" if left else "right",
                }
            )
        rule = alt.Chart(alt.Data(values=marks))
        layers.append(rule.mark_rule(strokeDash=[5, 4], color=MUTED).encode(x="at:Q"))
        for align, dx in (("left", 4), ("right", -4)):
            layers.append(
                rule.transform_filter(f"datum.align == '{align}'")
                .mark_text(align=align, baseline="bottom", color=MUTED, dx=dx)  # type: ignore[arg-type]
                .encode(x="at:Q", y=alt.Y("y:Q", scale=None), text="label:N")
            )
    return alt.layer(*layers).properties(width=width, height=height)


def _end_labels(
    group: list[dict[str, Any]], texts: list[str], height: int, top: float
) -> list[dict[str, Any]]:
    """Names for a run's last points, pushed apart so no two labels overlap."""
    wanted = [height * (1 - row["share"] / top) for row in group]
    placed = spread_labels(wanted, LABEL_GAP, LABEL_GAP / 2, height)
    numeric = all(isinstance(row["x"], float) for row in group)
    x_end = max((row["x"] for row in group), default=0.0) if numeric else None
    if not texts:
        texts = [f"{row['choice_label']} {row['share'] * 100:.0f}%" for row in group]
    return [
        {
            "x": x_end if x_end is not None else row["x"],
            "label_y": y,
            "choice_label": row["choice_label"],
            "text": text,
        }
        for row, y, text in zip(group, placed, texts, strict=True)
    ]


def _label_layer(
    chart: ChartData, labels: list[dict[str, Any]], layout: Layout, numeric: bool
) -> alt.Chart:
    return (
        alt.Chart(alt.Data(values=labels))
        .mark_text(
            align="left", baseline="middle", dx=8, fontSize=FONT_SIZE, limit=layout.label_limit
        )
        .encode(
            x=alt.X("x:Q" if numeric else "x:O"),
            y=alt.Y("label_y:Q", scale=None),
            text="text:N",
            color=alt.Color(
                "choice_label:N",
                sort=chart.order,
                scale=alt.Scale(domain=chart.order, range=PALETTE),
                legend=None,
            ),
        )
    )


def _dots(chart: ChartData, layout: Layout) -> alt.TopLevelMixin:
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
        axis=alt.Axis(labelLimit=layout.label_limit),
    )
    x = alt.X(
        "share:Q",
        title="Share",
        axis=alt.Axis(format=".0%", tickCount=4),
        scale=alt.Scale(zero=True),
    )
    several = len(chart.wave_order) > 1
    color: Any  # a channel, or alt.value(...) for one colour
    if chart.facet:
        color = alt.Color(
            "choice_label:N",
            sort=chart.order,
            legend=None,
            scale=alt.Scale(domain=chart.order, range=PALETTE),
        )
    elif several:
        color = alt.Color(
            "wave:N",
            sort=chart.wave_order,
            title="Wave",
            scale=alt.Scale(range=PALETTE),
            legend=_legend(layout),
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
            .properties(width=layout.facet_width, height=alt.Step(20))
            .facet(
                facet=alt.Facet(
                    "choice_label:N",
                    sort=chart.order,
                    title=None,
                    header=alt.Header(labelFontSize=FONT_SIZE + 1, labelFontWeight="bold"),
                ),
                columns=layout.facet_columns,
            )
        )
    height = max(120, 26 * len(chart.order) * (len(chart.wave_order) if several else 1))
    width = layout.width if layout is PHONE else layout.width - 160
    return layers.properties(width=width, height=height)


def _change(chart: ChartData, layout: Layout) -> alt.TopLevelMixin:
    rows = chart.drawn
    for row in rows:
        if row["flag"] == "no-detectable-change":
            row["verdict"] = "no detectable change"
        else:
            row["verdict"] = "increase" if row["share"] > 0 else "decrease"
    y = alt.Y(
        "choice_label:N", sort=chart.order, title=None, axis=alt.Axis(labelLimit=layout.label_limit)
    )
    x = alt.X(
        "share:Q",
        title="Change, percentage points",
        axis=alt.Axis(format="+.0%", tickCount=4),
    )
    color = alt.Color(
        "verdict:N",
        title=None,
        scale=alt.Scale(
            domain=["increase", "decrease", "no detectable change"],
            range=["#0072B2", "#D55E00", "#999999"],
        ),
        legend=alt.Legend(orient="bottom", direction="horizontal", columns=2),
    )
    base = alt.Chart()
    layers = [
        base.mark_rule(color=MUTED, strokeDash=[3, 3]).encode(x=alt.datum(0)),
        base.mark_rule(strokeWidth=2).encode(x="ci_low:Q", x2="ci_high:Q", y=y, color=color),
        base.mark_point(filled=True, size=60).encode(x=x, y=y, color=color),
    ]
    pairs = list(dict.fromkeys(row["pair"] for row in rows))
    header = alt.Header(labelFontSize=FONT_SIZE + 1, labelFontWeight="bold")
    layered = alt.layer(*layers, data=alt.Data(values=rows))
    if layout is PHONE:  # one pair under the other
        return layered.properties(width=layout.width, height=22 * len(chart.order)).facet(
            row=alt.Row("pair:N", sort=pairs, title=None, header=header)
        )
    return layered.properties(
        width=max(160, (layout.width - 160) // max(1, len(pairs))), height=26 * len(chart.order)
    ).facet(column=alt.Column("pair:N", sort=pairs, title=None, header=header))


def _heatmap(chart: ChartData, layout: Layout) -> alt.TopLevelMixin:
    rows = [dict(row) for row in chart.rows]
    for row in rows:
        row["label"] = "—" if row["share"] is None else f"{row['share'] * 100:.0f}%"
    # Only moves someone can see make the grid; the widest moves first when it must be cut.
    weight: dict[str, float] = {}
    for row in rows:
        for name in ("option_label", "choice_label"):
            weight[row[name]] = weight.get(row[name], 0.0) + (row["share"] or 0.0)
    targets = [t for t in dict.fromkeys(row["option_label"] for row in rows) if weight[t] > 0]
    sources = [s for s in dict.fromkeys(row["choice_label"] for row in rows) if weight[s] > 0]
    targets = sorted(targets, key=lambda t: -weight[t])[: layout.grid_columns] or targets
    sources = sorted(sources, key=lambda s: -weight[s])[: layout.grid_columns * 2] or sources
    rows = [r for r in rows if r["option_label"] in targets and r["choice_label"] in sources]
    cell = 40 if layout is PHONE else 64
    upright = all(len(t) * FONT_SIZE * 0.6 < cell - 4 for t in targets)
    x = alt.X(
        "option_label:N",
        sort=targets,
        scale=alt.Scale(domain=targets),
        title="Moved to",
        axis=alt.Axis(
            orient="top",
            labelAngle=0 if upright else -90,
            labelAlign="center" if upright else "left",
            labelBaseline="bottom" if upright else "middle",
            labelLimit=layout.label_limit,
        ),
    )
    y = alt.Y(
        "choice_label:N",
        sort=sources,
        scale=alt.Scale(domain=sources),
        title="Moved from",
        axis=alt.Axis(labelLimit=layout.label_limit),
    )
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
                legend=alt.Legend(format=".0%", orient="bottom", direction="horizontal"),
            )
        ),
        base.mark_text(fontSize=FONT_SIZE).encode(
            text="label:N",
            color=alt.condition("datum.share > 0.3", alt.value("white"), alt.value(INK)),
        ),
    ).properties(width=cell * len(targets), height=max(80, 32 * len(sources)))


BUILDERS: dict[str, Callable[[ChartData, Layout], alt.TopLevelMixin]] = {
    "trend": _trend,
    "dots": _dots,
    "change": _change,
    "heatmap": _heatmap,
}


def chart_spec(chart: ChartData, layout: Layout = WIDE) -> dict[str, Any]:
    # Rows are copied: builders add drawing fields that must not leak into the table or CSV.
    drawn = ChartData(**{**chart.__dict__, "rows": [dict(row) for row in chart.rows]})
    spec = (
        BUILDERS[chart.kind](drawn, layout)
        .properties(title=_title(chart, layout))
        .configure(font=FONT, background="white", padding=layout.padding)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelColor=INK)
        # Number axes drop a tick label rather than let two touch.
        .configure_axisQuantitative(labelOverlap="greedy", labelSeparation=6)
        .configure_legend(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE, labelLimit=200)
        .configure_header(labelFontSize=FONT_SIZE, titleFontSize=FONT_SIZE)
        .configure_text(fontSize=FONT_SIZE)
    )
    return spec.to_dict()
