"""What other data says: outside signals beside the survey's framework shares.

Each signal's figures become, per period, each focus framework's share among the focus
frameworks the source published for that period (its own denominator: downloads, developers,
papers). The survey's shares come from the published snapshot's overall cells of the
headline question and are renormalised the same way: a framework's share divided by the sum
of the focus frameworks' shares, its 95% interval scaled by the same factor (the
denominator's own uncertainty is not included). Nothing here touches responses, and signals
are published aggregates from elsewhere: they pass through this report spec, not through the
respondent disclosure rules.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from signals.models import Source
from signals.selectors import (
    break_labels,
    economy_regions,
    entity_points,
    entity_points_by_scope,
    framework_names,
    signal_sources,
    signals_version,
)
from survey.models import Series

from .models import Snapshot
from .selectors import (
    HEADLINE_QUESTION,
    Labels,
    cell_public,
    snapshot_cells,
    summary_waves,
    wave_number,
)

DEFAULT_FOCUS = ["pytorch", "tensorflow", "jax", "keras"]
SURVEY = "survey"
# How each signal is drawn: its short name in the legend, whether periods are pooled by year
# (conference venues meet in different months; one year is one point), and whether a figure
# is placed at its period's end (a snapshot of the 30 days before it) or its middle.
LINES: dict[str, dict[str, Any]] = {
    "pypi-downloads": {"name": "PyPI", "yearly": False, "at_end": True},
    "github-innovation-graph": {"name": "GitHub", "yearly": False, "at_end": False},
    "conference-papers": {"name": "Conference papers", "yearly": True, "at_end": False},
    "transformer-papers": {"name": "Transformer papers", "yearly": False, "at_end": False},
}
# A change in share smaller than this between a line's first and last year reads as flat.
FLAT = 0.05
COLUMNS = [
    "line",
    "source",
    "unit",
    "framework",
    "framework_label",
    "period",
    "date",
    "value",
    "denominator",
    "share",
    "ci_low",
    "ci_high",
    "share_as_is",
    "ci_low_as_is",
    "ci_high_as_is",
    "base_n",
    "compared",
    "missing",
    "break",
    "licence",
    "attribution",
]


def focus_choices(series: Series) -> list[str]:
    """The series' focus frameworks, from its report spec when the spec names them."""
    try:
        from .spec import spec_for  # noqa: PLC0415 (the report spec is newer than this module)
    except ImportError:
        return list(DEFAULT_FOCUS)
    choices = list(getattr(spec_for(series), "focus_choices", None) or [])
    return choices or list(DEFAULT_FOCUS)


@dataclass
class Comparison:
    focus: list[str]
    labels: dict[str, str]
    rows: list[dict[str, Any]]
    sources: list[Source]
    lines: list[dict[str, str]]
    breaks: list[dict[str, Any]]
    conclusions: list[str]
    regions: list[dict[str, Any]] = field(default_factory=list)
    region_note: str = ""
    synthetic: bool = False

    @property
    def drawn(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["share"] is not None]

    def csv_rows(self) -> list[list[Any]]:
        return [[row.get(name, "") for name in COLUMNS] for row in self.rows]


def comparison_name() -> str:
    """The chart's stored name: new whenever a signal is re-imported from another file."""
    digest = hashlib.sha256(signals_version().encode()).hexdigest()[:12]
    return f"comparison-{digest}"


def _legend(name: str, unit: str) -> str:
    return f"{name}: {unit}"


def _shares(values: dict[str, int | None], covered: list[str]) -> tuple[dict, int, list[str]]:
    shown = {key: value for key, value in values.items() if key in covered and value is not None}
    return shown, sum(shown.values()), sorted(shown)


def _signal_rows(source: Source, focus: list[str], labels: dict[str, str]) -> list[dict]:
    spec = LINES[source.key]
    points = entity_points(source, focus, yearly=spec["yearly"])
    covered = [key for key in focus if any(p.values.get(key) is not None for p in points)]
    if spec["yearly"]:
        periods = [(str(y), date(y, 1, 1), date(y, 12, 31)) for y in {p.start.year for p in points}]
        marks = break_labels(source.breaks.all(), periods)
    else:
        marks = break_labels(source.breaks.all(), [(p.period, p.start, p.end) for p in points])
    line = _legend(spec["name"], source.unit)
    rows = []
    for point in points:
        shown, total, compared = _shares(point.values, covered)
        for key in covered:
            value = point.values.get(key)
            missing = ""
            if value is None:
                missing = source.missing_rule or "Not published for this period."
            elif total == 0:
                missing = "None of the compared frameworks counted in this period."
            elif key in point.partial:
                missing = "Partial: some economies under the publication threshold left out."
            share = value / total if value is not None and total else None
            rows.append(
                {
                    "line": line,
                    "source": source.key,
                    "unit": source.unit,
                    "framework": key,
                    "framework_label": labels[key],
                    "period": point.period,
                    "date": (point.end if spec["at_end"] else point.middle).isoformat(),
                    "value": value,
                    "denominator": total or None,
                    "share": share,
                    "compared": " ".join(compared),
                    "missing": missing,
                    "break": "; ".join(marks.get(point.period, [])),
                    "licence": source.licence,
                    "attribution": source.attribution,
                }
            )
    return rows


def _wave_date(wave: dict[str, Any]) -> date | None:
    start, end = wave.get("fielded_from"), wave.get("fielded_to")
    if start and end:
        low, high = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
        return date.fromordinal((low.toordinal() + high.toordinal()) // 2)
    number = wave_number(wave["label"])
    return date(int(number), 7, 1) if number and 1990 < number < 2100 else None


def _survey_cells(snapshot: Snapshot, focus: list[str], dimension: str = "") -> list[dict]:
    cells = snapshot_cells(
        snapshot,
        {"question": HEADLINE_QUESTION, "measure": "share", "dimension": dimension},
    ).filter(choice__in=focus)
    fields = ["wave", "choice", "segment", "base_n", "share", "ci_low", "ci_high", "flag"]
    return [cell_public(cell) for cell in cells.values(*fields)]


def _renormalised(cells: list[dict], focus: list[str]) -> dict[str, dict[str, Any]]:
    """choice -> the share and interval divided by the sum of the shown focus shares."""
    shown = {c["choice"]: c for c in cells if c["choice"] in focus and c["share"] is not None}
    total = sum(c["share"] for c in shown.values())
    out = {}
    for cell in cells:
        scaled = cell["choice"] in shown and total > 0
        out[cell["choice"]] = {
            "share": cell["share"] / total if scaled else None,
            "ci_low": cell["ci_low"] / total if scaled and cell["ci_low"] is not None else None,
            "ci_high": (
                min(1.0, cell["ci_high"] / total)
                if scaled and cell["ci_high"] is not None
                else None
            ),
            "compared": " ".join(sorted(shown)),
        }
    return out


def _survey_rows(snapshot: Snapshot, focus: list[str], labels: dict[str, str]) -> list[dict]:
    summary = snapshot.summary or {}
    waves = {wave["label"]: wave for wave in summary_waves(summary)}
    by_wave: dict[str, list[dict]] = defaultdict(list)
    for cell in _survey_cells(snapshot, focus):
        by_wave[cell["wave"]].append(cell)
    line = _legend("Survey", "respondents (95% interval)")
    rows = []
    for wave_label, cells in by_wave.items():
        wave = waves.get(wave_label, {"label": wave_label})
        when = _wave_date(wave)
        if when is None:
            continue
        scaled = _renormalised(cells, focus)
        for cell in sorted(cells, key=lambda c: focus.index(c["choice"])):
            key = cell["choice"]
            rows.append(
                {
                    "line": line,
                    "source": SURVEY,
                    "unit": "respondents",
                    "framework": key,
                    "framework_label": labels[key],
                    "period": wave_label,
                    "date": when.isoformat(),
                    "value": None,
                    "denominator": None,
                    **scaled[key],
                    "share_as_is": cell["share"],
                    "ci_low_as_is": cell["ci_low"],
                    "ci_high_as_is": cell["ci_high"],
                    "base_n": cell["base_n"],
                    "missing": "" if cell["share"] is not None else "Suppressed or not shown.",
                    "break": "",
                    "licence": wave.get("license") or "",
                    "attribution": wave.get("attribution") or "",
                }
            )
    return rows


def _direction(rows: list[dict]) -> tuple[str, str] | None:
    """'rising' / 'falling' / 'flat' between a line's first and last year, and the years."""
    years: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        years[int(row["date"][:4])].append(row["share"])
    if len(years) < 2:
        return None
    first, last = min(years), max(years)
    change = sum(years[last]) / len(years[last]) - sum(years[first]) / len(years[first])
    word = "rising" if change > FLAT else "falling" if change < -FLAT else "flat"
    return word, f"{first}–{last}"


def _survey_direction(rows: list[dict]) -> tuple[str, str] | None:
    ordered = sorted(rows, key=lambda row: row["date"])
    if len(ordered) < 2:
        return None
    first, last = ordered[0], ordered[-1]
    if None in (first["ci_low"], first["ci_high"], last["ci_low"], last["ci_high"]):
        return None
    span = f"{first['period']}–{last['period']}"
    if last["ci_low"] > first["ci_high"]:
        return "rising", span
    if last["ci_high"] < first["ci_low"]:
        return "falling", span
    return "no clear change", span


def _conclusions(rows: list[dict], focus: list[str], labels: dict[str, str]) -> list[str]:
    """One sentence per framework, claiming only what every line that covers it shows."""
    names = {row["source"]: row["line"].split(":")[0] for row in rows}
    sentences = []
    for key in focus:
        found: dict[str, tuple[str, str]] = {}
        for source in dict.fromkeys(row["source"] for row in rows):
            mine = [r for r in rows if r["source"] == source and r["framework"] == key]
            mine = [r for r in mine if r["share"] is not None]
            result = _survey_direction(mine) if source == SURVEY else _direction(mine)
            if result is not None:
                found[source] = result
        if not found:
            continue
        words = {word for word, _ in found.values()}
        listed = ", ".join(f"{names[s]} {span}" for s, (_w, span) in found.items())
        if len(words) == 1 and len(found) > 1:
            sentences.append(
                f"{labels[key]}: {words.pop()} in all {len(found)} lines that cover it ({listed})."
            )
        else:
            parts = "; ".join(f"{names[s]} {w} ({span})" for s, (w, span) in found.items())
            sentences.append(f"{labels[key]}: the lines do not agree: {parts}.")
    return sentences


def _region_view(snapshot: Snapshot, labels: Labels) -> tuple[list[dict], str]:
    """GitHub's PyTorch share of PyTorch + TensorFlow developers by survey region, beside the
    survey's, for the last full year GitHub covers up to the survey's latest wave."""
    source = next((s for s in signal_sources() if s.key == "github-innovation-graph"), None)
    cells = _survey_cells(snapshot, ["pytorch", "tensorflow"], dimension="region")
    if source is None or not cells:
        return [], ""
    order = [wave["label"] for wave in summary_waves(snapshot.summary or {})]
    # The latest wave with a region share shown (a new wave may have every region hidden).
    shown = [c["wave"] for c in cells if c["share"] is not None] or [c["wave"] for c in cells]
    latest = max(shown, key=lambda w: order.index(w) if w in order else -1)
    quarters: dict[int, int] = defaultdict(int)
    for point in entity_points(source, ["pytorch", "tensorflow"]):
        quarters[point.start.year] += 1
    full = sorted(year for year, count in quarters.items() if count == 4)
    if not full:
        return [], ""
    number = wave_number(latest)
    year = max([y for y in full if number is None or y <= number] or [full[0]])
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    economies: dict[str, set[str]] = defaultdict(set)
    regions_of = economy_regions()
    per_economy = entity_points_by_scope(source, ["pytorch", "tensorflow"], regions_of)
    for code, points in sorted(per_economy.items()):
        region = regions_of[code]
        for point in points:
            pytorch, tensorflow = point.values["pytorch"], point.values["tensorflow"]
            # Only quarters where both are published: a missing one is under 100, not 0.
            if point.start.year == year and pytorch is not None and tensorflow is not None:
                totals[region][0] += pytorch
                totals[region][1] += tensorflow
                economies[region].add(code)
    survey: dict[str, dict[str, dict]] = defaultdict(dict)
    for cell in cells:
        if cell["wave"] == latest:
            survey[cell["segment"]][cell["choice"]] = cell
    regions = []
    for segment in dict.fromkeys([*survey, *totals]):
        pytorch, tensorflow = totals.get(segment, [0, 0])
        scaled = _renormalised(list(survey.get(segment, {}).values()), ["pytorch", "tensorflow"])
        mine = scaled.get("pytorch", {})
        regions.append(
            {
                "region": segment,
                "label": labels.choice("region", segment),
                "github_share": pytorch / (pytorch + tensorflow) if pytorch + tensorflow else None,
                "github_developers": pytorch + tensorflow,
                "economies": ", ".join(sorted(economies.get(segment, []))),
                "survey_share": mine.get("share"),
                "survey_ci_low": mine.get("ci_low"),
                "survey_ci_high": mine.get("ci_high"),
                "survey_n": (survey.get(segment, {}).get("pytorch") or {}).get("base_n"),
            }
        )
    note = (
        f"GitHub {year} (four quarters, only quarters where an economy has both PyTorch and "
        f"TensorFlow figures) beside survey wave {latest}."
    )
    return regions, note


def comparison_build(snapshot: Snapshot) -> Comparison | None:
    """The comparison for a published snapshot, or None without signals or survey shares."""
    sources = [source for source in signal_sources() if source.key in LINES]
    if not sources:
        return None
    series = snapshot.series
    focus = focus_choices(series)
    summary_labels = Labels.from_summary(snapshot.summary or {})
    names = framework_names(focus)
    labels = {}
    for key in focus:
        label = summary_labels.choice(HEADLINE_QUESTION, key)
        labels[key] = names[key] if label == key else label
    rows = _survey_rows(snapshot, focus, labels)
    if not rows:
        # Signals stand beside a survey's framework shares; without them there is nothing to
        # set them beside (a poll's report, another series).
        return None
    lines = [{"line": rows[0]["line"], "source": SURVEY}]
    for source in sources:
        mine = _signal_rows(source, focus, labels)
        if mine:
            lines.append({"line": mine[0]["line"], "source": source.key})
        rows += mine
    breaks = [
        {
            "source": source.key,
            "line": _legend(LINES[source.key]["name"], source.unit),
            "name": LINES[source.key]["name"],
            "date": item.start.isoformat(),
            "end": item.end.isoformat() if item.end else "",
            "label": item.label,
            "note": item.note,
        }
        for source in sources
        for item in source.breaks.all()
    ]
    regions, region_note = _region_view(snapshot, summary_labels)
    return Comparison(
        focus=focus,
        labels=labels,
        rows=rows,
        sources=sources,
        lines=lines,
        breaks=breaks,
        conclusions=_conclusions(rows, focus, labels),
        regions=regions,
        region_note=region_note,
        synthetic=bool((snapshot.summary or {}).get("series", {}).get("is_synthetic")),
    )


# -- The page's section ---------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _year_table(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Framework by year, one column per line: yearly mean shares (the survey's with its
    interval), the same numbers as the chart, condensed."""
    lines = [line["source"] for line in comparison.lines]
    names = {line["source"]: line["line"] for line in comparison.lines}
    cells: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    for row in comparison.drawn:
        cells[(row["framework"], int(row["date"][:4]), row["source"])].append(row)
    body = []
    for key in comparison.focus:
        years = sorted({year for framework, year, _ in cells if framework == key})
        for year in years:
            line = [comparison.labels[key], str(year)]
            for source in lines:
                found = cells.get((key, year, source), [])
                if not found:
                    line.append("")
                elif source == SURVEY:
                    row = found[-1]
                    line.append(
                        f"{_pct(row['share'])} ({_pct(row['ci_low'])}–{_pct(row['ci_high'])})"
                    )
                else:
                    line.append(_pct(sum(r["share"] for r in found) / len(found)))
            body.append(line)
    return ["Framework", "Year", *[names[s] for s in lines]], body


def comparison_page(snapshot: Snapshot) -> dict[str, Any] | None:
    """What the report's "What other data says" section shows, or None without signals."""
    comparison = comparison_build(snapshot)
    if comparison is None:
        return None
    slug, name = snapshot.series.slug, comparison_name()
    base = f"/reports/{slug}/charts/comparison"
    head, rows = _year_table(comparison)
    units = ", ".join(f"{line['line']}" for line in comparison.lines)
    return {
        "comparison": comparison,
        "links": {ext: f"{base}.{ext}?v={snapshot.pk}-{name}" for ext in ("svg", "png", "csv")},
        "focus_labels": ", ".join(comparison.labels[key] for key in comparison.focus),
        "head": head,
        "rows": rows,
        "alt": (
            "Small multiples, one per framework ("
            + ", ".join(comparison.labels[k] for k in comparison.focus)
            + "), of each framework's share among them over time, one line per source: "
            + units
            + ". "
            + " ".join(comparison.conclusions)
        ),
        "regions": [
            {
                **region,
                "github": (
                    f"{_pct(region['github_share'])} ({region['economies']})"
                    if region["github_share"] is not None
                    else "— (no economy with both figures published)"
                ),
                "survey": (
                    f"{_pct(region['survey_share'])} ({_pct(region['survey_ci_low'])}–"
                    f"{_pct(region['survey_ci_high'])}), n = {region['survey_n']}"
                    if region["survey_share"] is not None
                    else "— (not shown)"
                ),
            }
            for region in comparison.regions
        ],
    }
