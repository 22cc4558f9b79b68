"""What other data says: outside signals beside the survey's framework shares.

Each signal's figures become, per period, each focus framework's share among the focus
frameworks the source published for that period (its own denominator: downloads, developers,
papers). The survey's shares come from the published snapshot's overall cells of the
headline question and are renormalised the same way: a framework's share divided by the sum
of the focus frameworks' shares, its 95% interval scaled by the same factor (the
denominator's own uncertainty is not included). Each line is cut into stretches
(results.comparability): a break (a source's change of method; the question's wording or who
was asked it changing between waves) or a change in which compared frameworks have a figure
ends one, because the shares on either side do not divide by the same thing. The chart does
not join a line across stretches and no direction is read across one. Nothing here touches
responses, and signals are published aggregates from elsewhere: they pass through this report
spec, not through the respondent disclosure rules.
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

from .comparability import SURVEY, break_side, conclusions, stretch_numbers
from .models import Snapshot
from .selectors import (
    HEADLINE_QUESTION,
    Labels,
    cell_public,
    snapshot_cells,
    summary_waves,
    wave_number,
    wording_runs,
)

DEFAULT_FOCUS = ["pytorch", "tensorflow", "jax", "keras"]
DRAWING = "v2"  # stretches, two layouts
# How each signal is drawn: its short name in the legend, whether periods are pooled by year
# (conference venues meet in different months; one year is one point), and whether a figure
# is placed at its period's end (a snapshot of the 30 days before it) or its middle.
LINES: dict[str, dict[str, Any]] = {
    "pypi-downloads": {"name": "PyPI", "yearly": False, "at_end": True},
    "github-innovation-graph": {"name": "GitHub", "yearly": False, "at_end": False},
    "conference-papers": {"name": "Conference papers", "yearly": True, "at_end": False},
    "transformer-papers": {"name": "Transformer papers", "yearly": False, "at_end": False},
}
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
    "stretch",
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
    # The drawing's version too: a stored picture drawn the old way is never served again.
    return f"comparison-{DRAWING}-{digest}"


def _legend(name: str, unit: str) -> str:
    return f"{name}: {unit}"


def _shares(values: dict[str, int | None], covered: list[str]) -> tuple[dict, int, list[str]]:
    shown = {key: value for key, value in values.items() if key in covered and value is not None}
    return shown, sum(shown.values()), sorted(shown)


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}–{last}"


def _set_change(before: list[str], after: list[str], labels: dict[str, str], why: str) -> str:
    """Why two neighbouring points are not compared: their compared frameworks differ."""
    said = []
    if gone := [labels[key] for key in before if key not in after]:
        said.append(f"{', '.join(gone)} {why}")
    if new := [labels[key] for key in after if key not in before]:
        said.append(f"{', '.join(new)} counted from here")
    return "Compared frameworks changed (" + "; ".join(said) + ")"


def _signal_rows(source: Source, focus: list[str], labels: dict[str, str]) -> list[dict]:
    spec = LINES[source.key]
    points = entity_points(source, focus, yearly=spec["yearly"])
    covered = [key for key in focus if any(p.values.get(key) is not None for p in points)]
    if spec["yearly"]:
        periods = [(str(y), date(y, 1, 1), date(y, 12, 31)) for y in {p.start.year for p in points}]
        ends = {str(y): date(y, 12, 31) for y in {p.start.year for p in points}}
    else:
        periods = [(p.period, p.start, p.end) for p in points]
        ends = {p.period: p.end for p in points}
    breaks = list(source.breaks.all())
    marks = break_labels(breaks, periods)
    line = _legend(spec["name"], source.unit)
    # A stretch: no break of the source inside it and the same frameworks published at every
    # point, so each share in it divides by the same frameworks' figures.
    compared_sets = [
        compared if total else []
        for _shown, total, compared in (_shares(p.values, covered) for p in points)
    ]
    sides = [break_side(breaks, ends[point.period]) for point in points]
    numbers = stretch_numbers(zip(sides, map(tuple, compared_sets), strict=True))
    names: dict[int, str] = {}
    for number, point in zip(numbers, points, strict=True):
        first = names.get(number, point.period[:10]).split("–")[0]
        names[number] = _span(first, point.period[:10])
    rows = []
    for index, point in enumerate(points):
        shown, total, compared = _shares(point.values, covered)
        marked = list(marks.get(point.period, []))
        if index and sides[index] != sides[index - 1] and not marked:
            crossed = zip(breaks, sides[index - 1], sides[index], strict=True)
            marked += [f"After: {item.label}" for item, was, now in crossed if was != now]
        now, before = compared_sets[index], compared_sets[index - 1] if index else []
        if index and sides[index] == sides[index - 1] and now != before:
            marked.append(_set_change(before, now, labels, "not published"))
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
                    "break": "; ".join(marked),
                    "stretch": names[numbers[index]],
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


def _offered(summary: dict[str, Any], wave: str) -> set[str] | None:
    """The headline question's choices in a wave, or None if the summary does not say."""
    for question in summary.get("questions") or []:
        if isinstance(question, dict) and question.get("key") == HEADLINE_QUESTION:
            asked = (question.get("waves") or {}).get(wave)
            if isinstance(asked, dict) and asked.get("choices"):
                return {str(pair[0]) for pair in asked["choices"]}
    return None


def _question_breaks(summary: dict[str, Any], wave: str, previous: str) -> list[str]:
    """Why the headline question's answers in `wave` are not comparable with `previous`."""
    said = {"wording": "the question's wording changed", "universe": "who was asked changed"}
    found = [
        said.get(str(b.get("kind")), "the question changed")
        for b in summary.get("breaks") or []
        if isinstance(b, dict)
        and b.get("question") == HEADLINE_QUESTION
        and b.get("wave") == wave
        and b.get("previous_wave") == previous
    ]
    return list(dict.fromkeys(found)) or ["the question's wording changed"]


def _survey_rows(
    snapshot: Snapshot, focus: list[str], labels: dict[str, str]
) -> tuple[list[dict], list[dict]]:
    """The survey's rows, and its breaks: a stretch of waves has one wording, one universe and
    the same compared frameworks shown in each wave, so a direction is read only within it."""
    summary = snapshot.summary or {}
    waves = {wave["label"]: wave for wave in summary_waves(summary)}
    by_wave: dict[str, list[dict]] = defaultdict(list)
    for cell in _survey_cells(snapshot, focus):
        by_wave[cell["wave"]].append(cell)
    order = list(waves)
    dated = [
        (label, when)
        for label in sorted(by_wave, key=lambda w: (order.index(w) if w in order else -1, w))
        if (when := _wave_date(waves.get(label, {"label": label}))) is not None
    ]
    runs = wording_runs(summary, HEADLINE_QUESTION, [label for label, _ in dated])
    compared = {
        label: sorted(
            c["choice"] for c in by_wave[label] if c["choice"] in focus and c["share"] is not None
        )
        for label, _ in dated
    }
    numbers = stretch_numbers((runs[label], tuple(compared[label])) for label, _ in dated)
    spans: dict[int, list[str]] = defaultdict(list)
    for number, (label, _) in zip(numbers, dated, strict=True):
        spans[number].append(label)
    covered = [key for key in focus if any(key in compared[label] for label, _ in dated)]
    line = _legend("Survey", "respondents (95% interval)")
    rows, breaks = [], []
    for index, (wave_label, when) in enumerate(dated):
        wave = waves.get(wave_label, {"label": wave_label})
        marked = []
        if index:
            previous, previous_when = dated[index - 1]
            reasons = []
            if runs[wave_label] != runs[previous]:
                reasons += _question_breaks(summary, wave_label, previous)
            elif compared[wave_label] != compared[previous]:
                reasons.append(
                    _set_change(compared[previous], compared[wave_label], labels, "not shown")
                )
            if reasons:
                text = f"{previous} to {wave_label}: " + " and ".join(reasons)
                marked.append(text)
                middle = (previous_when.toordinal() + when.toordinal()) // 2
                breaks.append(
                    {
                        "source": SURVEY,
                        "line": line,
                        "name": "Survey",
                        "date": date.fromordinal(middle).isoformat(),
                        "end": "",
                        "label": text,
                        "note": f"No survey direction is read across {previous} to {wave_label}.",
                    }
                )
        scaled = _renormalised(by_wave[wave_label], focus)
        cells = {cell["choice"]: cell for cell in by_wave[wave_label]}
        offered = _offered(summary, wave_label)
        for key in covered:
            found = cells.get(key)
            if found is None or found["share"] is None:
                missing = (
                    "Not offered in this wave's question."
                    if offered is not None and key not in offered
                    else "Suppressed or not shown."
                )
            else:
                missing = ""
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
                    "share": None,
                    "ci_low": None,
                    "ci_high": None,
                    "compared": " ".join(compared[wave_label]),
                    **scaled.get(key, {}),
                    "share_as_is": found["share"] if found else None,
                    "ci_low_as_is": found["ci_low"] if found else None,
                    "ci_high_as_is": found["ci_high"] if found else None,
                    "base_n": found["base_n"] if found else None,
                    "missing": missing,
                    "break": "; ".join(marked),
                    "stretch": _span(spans[numbers[index]][0], spans[numbers[index]][-1]),
                    "licence": wave.get("license") or "",
                    "attribution": wave.get("attribution") or "",
                }
            )
    return rows, breaks


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
    rows, survey_breaks = _survey_rows(snapshot, focus, labels)
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
    breaks = survey_breaks + [
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
        conclusions=conclusions(rows, focus, labels),
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
    survey_breaks = [item["label"] for item in comparison.breaks if item["source"] == SURVEY]
    waves_of: dict[str, set[str]] = defaultdict(set)
    for row in comparison.drawn:
        if row["source"] == SURVEY:
            waves_of[row["stretch"]].add(row["period"])
    survey_note = ""
    if survey_breaks and all(len(waves) < 2 for waves in waves_of.values()):
        survey_note = (
            "The survey gives no direction here: no two of its waves can be compared ("
            + "; ".join(survey_breaks)
            + "). Its waves are drawn as points, and its shares across the break are not compared."
        )
    return {
        "comparison": comparison,
        "links": {
            **{ext: f"{base}.{ext}?v={snapshot.pk}-{name}" for ext in ("svg", "png", "csv")},
            "phone": f"{base}.phone.svg?v={snapshot.pk}-{name}",
        },
        "survey_note": survey_note,
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
