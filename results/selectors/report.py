"""The trend report of a published snapshot, assembled from its cells and the series' spec.

Which wave speaks: rankings, "latest" figures and the default breakdowns use the latest wave
in which enough people answered the headline question (`min_answers_for`); a wave with
fewer is never drawn, and says "not enough answers yet: N of M needed" instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Max, Q
from django.utils.text import slugify

from survey.models import Series

from ..models import Cell, Snapshot
from ..spec import ChartSpec, ReportSpec, min_answers_for, spec_for
from .cells import CELL_FIELDS, cell_public, flag_meaning, snapshot_cells
from .summary import Labels, summary_questions, summary_waves, universe_breaks, wording_runs

# Still read by results.comparison; the report itself takes its headline from the series' spec.
HEADLINE_QUESTION = "frameworks_used"


@dataclass
class ChartData:
    """One chart's data: tidy rows (already public), and how to draw and tabulate them."""

    name: str
    kind: str  # trend | dots | change | heatmap
    title: str
    subtitle: str
    rows: list[dict[str, Any]]
    alt: str
    notes: list[str] = field(default_factory=list)
    breaks: list[dict[str, Any]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # item labels, top first
    wave_order: list[str] = field(default_factory=list)
    facet: str = ""  # row field that splits the chart into small multiples
    synthetic: bool = False
    source: str = ""
    definition: str = ""  # the formula and base, in one sentence
    item_label: str = "Choice"
    empty: str = ""  # why nothing is drawn ("not enough answers yet: ..."); "" when drawn
    fact: str = ""  # the spec's sentence about the focus choice, with placeholders
    caveat: str = ""  # drawn in the picture too: who was asked, when that breaks comparison

    @property
    def drawn(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["share"] is not None]


@dataclass
class WaveState:
    """How many answered a wave's headline question, and whether that is enough to speak."""

    label: str
    answered: int | None  # None: fewer than k, so the number itself is hidden
    needed: int
    k: int
    n: int | None = None
    title: str = ""
    is_open: bool = False

    @property
    def enough(self) -> bool:
        return self.answered is not None and self.answered >= self.needed

    @property
    def shortfall(self) -> str:
        """'not enough answers yet: 30 of 100 needed' (empty when there are enough)."""
        if self.enough:
            return ""
        have = f"fewer than {self.k}" if self.answered is None else f"{self.answered:,}"
        return f"not enough answers yet: {have} of {self.needed:,} needed"

    @property
    def n_text(self) -> str:
        """'n = 30', or 'fewer than 10 answers' when the count itself is hidden."""
        count = self.answered if self.answered is not None else self.n
        return f"fewer than {self.k} answers" if count is None else f"n = {count:,}"


@dataclass
class Report:
    snapshot: Snapshot
    series: Series
    spec: ReportSpec
    summary: dict[str, Any]
    synthetic: bool
    waves: list[dict[str, Any]]
    states: list[WaveState]
    speaking_wave: str  # "" when no wave has enough answers
    headline: ChartData | None
    changes: ChartData | None
    focus: list[ChartData]
    breakdowns: dict[str, list[ChartData]]  # by wave, for every wave with enough answers
    wording_notes: list[str]
    focus_label: str = ""  # the label of the spec's focus choice

    @property
    def charts(self) -> list[ChartData]:
        found = [self.headline, self.changes, *self.focus]
        found += [chart for charts in self.breakdowns.values() for chart in charts]
        return [chart for chart in found if chart is not None]

    def chart(self, name: str) -> ChartData | None:
        return next((chart for chart in self.charts if chart.name == name), None)

    @property
    def enough(self) -> bool:
        return bool(self.speaking_wave)

    @property
    def trend_heading(self) -> str:
        return self.spec.trend_title

    def state(self, wave: str) -> WaveState | None:
        return next((state for state in self.states if state.label == wave), None)

    @property
    def speaks(self) -> str:
        """Which wave the figures come from, and why the later ones do not speak."""
        if not self.speaking_wave:
            return ""
        later = self.states[[s.label for s in self.states].index(self.speaking_wave) + 1 :]
        text = f"{self.speaking_wave}, the latest wave with enough answers"
        quiet = [
            f"the {s.title or s.label + ' wave'} {'is open with' if s.is_open else 'has'} "
            f"{s.n_text}"
            for s in later
        ]
        return text + ("; " + "; ".join(quiet) if quiet else "")

    @property
    def shortfall(self) -> str:
        """The series' own "not enough answers yet" state (its latest wave's numbers)."""
        if self.enough or not self.states:
            return ""
        return self.states[-1].shortfall


def _row(
    chart: str, cell: dict[str, Any], labels: Labels, series: str, synthetic: bool
) -> dict[str, Any]:
    question, flag = cell["question"], cell["flag"] or ""
    is_migration = cell["measure"] == Cell.Measure.MIGRATION
    option = cell["option"]
    return {
        "series": series,
        "chart": chart,
        **cell,
        "choice_label": labels.choice(question, cell["choice"]),
        "option_label": (
            labels.any_choice.get(option, option)
            if is_migration
            else labels.column(question, option)
        )
        if option
        else "",
        "segment_label": labels.choice(cell["dimension"], cell["segment"])
        if cell["dimension"]
        else "",
        "flag_meaning": flag_meaning(flag) if flag else "",
        "synthetic": synthetic,
        "wording": "",
    }


def wave_number(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


def _source_line(summary: dict[str, Any], waves: list[str]) -> str:
    sources = []
    for wave in summary_waves(summary):
        if wave["label"] in waves and wave.get("source") and wave["source"] not in sources:
            sources.append(str(wave["source"]))
    return "Source: " + "; ".join(sources) if sources else ""


def _is_open(wave: dict[str, Any], today: date) -> bool:
    """Fielding started and has not ended (as the snapshot recorded it)."""
    started, ended = wave.get("fielded_from"), wave.get("fielded_to")
    return bool(started) and (not ended or str(ended) >= today.isoformat())


def wave_states(
    summary: dict[str, Any], answered: dict[str, int | None], needed: int, k: int, today: date
) -> list[WaveState]:
    states = []
    for wave in summary_waves(summary):
        label = wave["label"]
        states.append(
            WaveState(
                label=label,
                answered=answered.get(label),
                needed=needed,
                k=k,
                n=wave.get("n"),
                title=str(wave.get("title") or ""),
                is_open=_is_open(wave, today),
            )
        )
    return states


def headline_answered(cells: list[dict[str, Any]], question: str) -> dict[str, int | None]:
    """Answers to the headline question per wave: the base of its overall share cells."""
    answered: dict[str, int | None] = {}
    for cell in cells:
        if cell["measure"] == Cell.Measure.SHARE and cell["question"] == question:
            if not cell["dimension"] and not cell["option"]:
                base = cell["base_n"]
                known = answered.get(cell["wave"])
                answered[cell["wave"]] = max(base, known or 0) if base is not None else known
    return answered


def _wanted(spec: ReportSpec) -> Q:
    headline = spec.headline_question
    wanted = Q(measure=Cell.Measure.SHARE, question=headline) | Q(
        measure=Cell.Measure.CHANGE, question=headline, dimension=""
    )
    for chart in spec.charts_in("focus"):
        if chart.measure == Cell.Measure.SHARE:
            wanted |= Q(
                measure=chart.measure,
                question=chart.question or headline,
                option=chart.option,
                dimension="",
            )
        else:
            wanted |= Q(measure=chart.measure, dimension="")
    return wanted


def report_build(snapshot: Snapshot, *, today: date | None = None) -> Report:
    """Assemble the trend report of a published snapshot (one query over its cells)."""
    summary = snapshot.summary or {}
    series = snapshot.series
    spec = spec_for(series)
    synthetic = bool((summary.get("series") or {}).get("is_synthetic", series.is_synthetic))
    labels = Labels.from_summary(summary)
    waves = summary_waves(summary)
    wave_order = [w["label"] for w in waves]
    cells = [
        cell_public(dict(zip(CELL_FIELDS, values, strict=True)))
        for values in snapshot_cells(snapshot).filter(_wanted(spec)).values_list(*CELL_FIELDS)
    ]
    for cell in cells:
        if cell["wave"] not in wave_order:  # tolerate a summary that misses a wave
            wave_order.append(cell["wave"])
    k = int(summary.get("k") or series.k_threshold)
    states = wave_states(
        summary,
        headline_answered(cells, spec.headline_question),
        min_answers_for(spec, k),
        k,
        today or date.today(),
    )
    known = {state.label for state in states}
    states += [
        WaveState(label=w, answered=None, needed=min_answers_for(spec, k), k=k)
        for w in wave_order
        if w not in known
    ]
    speaking = [state.label for state in states if state.enough]
    context = _Context(summary, labels, series.slug, synthetic, wave_order, spec, states)
    context.speaking = speaking[-1] if speaking else ""
    headline, notes = _headline(context, cells) if speaking else (None, [])
    items = headline.order if headline else []
    return Report(
        snapshot=snapshot,
        series=series,
        spec=spec,
        summary=summary,
        synthetic=synthetic,
        waves=waves,
        states=states,
        speaking_wave=context.speaking,
        headline=headline,
        changes=_changes(context, cells, items) if speaking else None,
        focus=[_focus_chart(context, chart, cells) for chart in spec.charts_in("focus")]
        if speaking
        else [],
        breakdowns={wave: _breakdowns(context, cells, items, wave) for wave in speaking},
        wording_notes=notes,
        focus_label=labels.choice(spec.headline_question, spec.focus.choice)
        if spec.focus and spec.focus.choice
        else "",
    )


@dataclass
class _Context:
    summary: dict[str, Any]
    labels: Labels
    slug: str
    synthetic: bool
    wave_order: list[str]
    spec: ReportSpec
    states: list[WaveState]
    speaking: str = ""

    def rows(self, chart: str, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_row(chart, cell, self.labels, self.slug, self.synthetic) for cell in cells]

    def enough(self, wave: str) -> bool:
        return any(state.label == wave and state.enough for state in self.states)

    def quiet_note(self, waves: set[str]) -> str:
        """Which of the given waves are left out, and how many answers each still needs."""
        quiet = [s for s in self.states if s.label in waves and not s.enough]
        if not quiet:
            return ""
        return "Not drawn: " + "; ".join(f"{s.label}, {s.shortfall}" for s in quiet) + "."

    def chart(self, spec: ChartSpec, **fields: Any) -> ChartData:
        waves = sorted({row["wave"] for row in fields["rows"]}, key=self.wave_order.index)
        fields.setdefault("definition", spec.definition)
        fields.setdefault("fact", spec.fact)
        return ChartData(
            kind=spec.kind,
            synthetic=self.synthetic,
            source=_source_line(self.summary, waves),
            wave_order=waves,
            item_label=self.spec.item_label,
            **fields,
        )


def _fill(text: str, **values: Any) -> str:
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text  # a placeholder the spec misspelled shows as written, never an error


def _without_wave(title: str) -> str:
    """A chart title for its "not enough" state: it shows no wave, so it names none."""
    return re.sub(r"\s*\(\{wave\}\)|,\s*\{wave\}|\s+in\s+\{wave\}", "", title)


def _rank_items(rows: list[dict[str, Any]], wave_order: list[str], wave: str = "") -> list[str]:
    """Item labels by their share in `wave` (else the latest wave that has one), highest first."""
    best: dict[str, tuple[int, int, float]] = {}
    for row in rows:
        share = row["share"] if row["share"] is not None else -1.0
        rank = (int(row["wave"] == wave), wave_order.index(row["wave"]), share)
        label = row["choice_label"]
        if label not in best or rank > best[label]:
            best[label] = rank
    return sorted(best, key=lambda label: best[label], reverse=True)


def _headline(context: _Context, cells: list[dict[str, Any]]) -> tuple[ChartData | None, list]:
    spec = context.spec
    question = spec.headline_question
    chart_spec = spec.chart("headline") or ChartSpec(
        name="headline", kind="trend", measure="share", title=""
    )
    everything = [
        c
        for c in cells
        if c["measure"] == Cell.Measure.SHARE
        and c["question"] == question
        and not c["dimension"]
        and not c["option"]
    ]
    found = [c for c in everything if context.enough(c["wave"])]
    if not found:
        return None, []
    rows = context.rows("headline", found)
    order = _rank_items(rows, context.wave_order, context.speaking)
    if spec.none_choice:
        none_label = context.labels.choice(question, spec.none_choice)
        order = [label for label in order if label != none_label]
    order = order[: chart_spec.items or None]
    rows = [row for row in rows if row["choice_label"] in order]
    waves = [w for w in context.wave_order if any(row["wave"] == w for row in rows)]
    runs = wording_runs(context.summary, question, waves)
    texts = context.labels.texts.get(question, {})
    spans: dict[int, list[str]] = {}
    for wave in waves:
        spans.setdefault(runs[wave], []).append(wave)
    wording = {
        run: f"asked {span[0]}" if len(span) == 1 else f"asked {span[0]} to {span[-1]}"
        for run, span in spans.items()
    }
    for row in rows:
        row["run"] = runs[row["wave"]]
        row["wording"] = wording[row["run"]]
        row["question_text"] = texts.get(row["wave"], "")
    notes, breaks = [], []
    for run in sorted(spans)[1:]:
        first, previous = spans[run][0], spans[run - 1][-1]
        if texts.get(first) == texts.get(previous):
            continue  # a universe break, said below
        notes.append(
            f"The question changed between {previous} and {first}: {previous} asked "
            f"“{texts.get(previous, '?')}”, {first} asked “{texts.get(first, '?')}”. "
            "The lines are not joined across this break: the answers measure different things."
        )
        label = "Wording changed"
        breaks.append({"wave": first, "previous_wave": previous, "label": label})
    for found_break in universe_breaks(context.summary, question):
        if found_break["wave"] in waves and found_break["previous_wave"] in waves:
            notes.append(universe_note(found_break))
            breaks.append({**found_break, "label": "Who was asked changed"})
    if quiet := context.quiet_note({c["wave"] for c in everything}):
        notes.append(quiet)
    latest = waves[-1]
    words = {
        "wave": context.speaking,
        "items": len(order),
        "question_text": texts.get(context.speaking) or texts.get(latest) or question,
    }
    chart = context.chart(
        chart_spec,
        name="headline",
        title=_fill(chart_spec.title, **words),
        subtitle=_fill(chart_spec.subtitle, **words),
        rows=rows,
        alt=f"Line chart of the share of respondents giving each of {len(order)} answers "
        + (f"in each wave from {waves[0]} to {latest}" if len(waves) > 1 else f"in {latest}")
        + "; the table below gives every number.",
        notes=notes,
        breaks=breaks,
        order=order,
    )
    return chart, notes


def universe_note(found: dict[str, Any]) -> str:
    everyone = "everyone who reached the question"
    before = (found.get("previous_universe") or everyone).rstrip(".")
    after = (found.get("universe") or everyone).rstrip(".")
    return (
        f"Who was asked changed between {found['previous_wave']} and {found['wave']} "
        f"({found['previous_wave']}: {before}; {found['wave']}: {after}). Shares on either "
        "side describe different groups, so no change is computed across this break."
    )


def _changes(context: _Context, cells: list[dict[str, Any]], items: list[str]) -> ChartData | None:
    chart_spec = context.spec.chart("changes")
    if chart_spec is None:
        return None
    found = [
        c
        for c in cells
        if c["measure"] == Cell.Measure.CHANGE
        and context.enough(c["wave"])
        and context.enough(c["compare_wave"])
    ]
    rows = [row for row in context.rows("changes", found) if row["choice_label"] in items]
    if not rows:
        return None
    for row in rows:
        row["pair"] = f"{row['compare_wave']} → {row['wave']}"
    notes = [
        "Where the interval includes zero the data show no detectable change. Changes across "
        "a change in question wording, or in who was asked, are not computed."
    ]
    empty = ""
    if not any(row["share"] is not None for row in rows):
        reasons = {
            "wording-break": "the question's wording changed between {compare_wave} and {wave}",
            "universe-break": "who was asked changed between {compare_wave} and {wave}",
        }
        said = dict.fromkeys(
            reasons.get(
                row["flag"], "the changes between {compare_wave} and {wave} are hidden"
            ).format(**row)
            for row in rows
        )
        empty = "No change to draw: " + "; ".join(said)
    return context.chart(
        chart_spec,
        name="changes",
        title=_fill(chart_spec.title, wave=context.speaking, items=len(items)),
        subtitle=_fill(chart_spec.subtitle, wave=context.speaking, items=len(items)),
        rows=rows,
        alt="Dot chart of the change in each share between consecutive waves, with "
        "intervals; the table below gives every number.",
        notes=notes,
        order=items,
        empty=empty,
    )


def _focus_chart(context: _Context, spec: ChartSpec, cells: list[dict[str, Any]]) -> ChartData:
    """A focus chart over the waves with enough answers, or its "not enough" state."""
    if spec.measure == Cell.Measure.SHARE:
        question = spec.question or context.spec.headline_question
        everything = [
            c
            for c in cells
            if c["measure"] == spec.measure
            and c["question"] == question
            and c["option"] == spec.option
            and not c["dimension"]
        ]
    else:
        everything = [c for c in cells if c["measure"] == spec.measure and not c["dimension"]]
    found = [c for c in everything if context.enough(c["wave"])]
    wave = context.speaking
    if spec.kind == "heatmap" and found:
        wave = max((c["wave"] for c in found), key=context.wave_order.index)
        found = [c for c in found if c["wave"] == wave]
    rows = context.rows(spec.name, found)
    empty = ""
    if not rows:
        asked = sorted({c["wave"] for c in everything}, key=context.wave_order.index)
        lacking = [s for s in context.states if s.label in asked and not s.enough]
        empty = (
            "; ".join(f"{s.label}: {s.shortfall}" for s in lacking).capitalize()
            if lacking
            else "Not asked in any wave with enough answers"
        )
    notes = []
    if rows and (quiet := context.quiet_note({c["wave"] for c in everything})):
        notes.append(quiet)
    order = _rank_items(rows, context.wave_order, wave)
    focus = [context.labels.choice("", key) for key in context.spec.focus_choices]
    return context.chart(
        spec,
        name=spec.name,
        title=_fill(spec.title if rows else _without_wave(spec.title), wave=wave, items=len(order)),
        subtitle=_fill(spec.subtitle, wave=wave, items=len(order)),
        rows=rows,
        alt=f"{'Grid' if spec.kind == 'heatmap' else 'Dot chart'} of {spec.title[:1].lower()}"
        f"{spec.title[1:].rstrip('?')}; the table below gives every number.",
        notes=notes,
        # The focus choices lead, so the chart answers the report's question first.
        order=[*[f for f in focus if f in order], *[o for o in order if o not in focus]],
        empty=empty,
    )


def breakdown_name(wave: str, dimension: str) -> str:
    return f"breakdown-{slugify(wave)}-{dimension}"


def _breakdowns(
    context: _Context, cells: list[dict[str, Any]], items: list[str], wave: str
) -> list[ChartData]:
    spec = context.spec
    chart_specs = spec.charts_in("breakdowns")
    if not chart_specs:
        return []
    chart_spec = chart_specs[0]
    question = spec.headline_question
    found = [
        c
        for c in cells
        if c["measure"] == Cell.Measure.SHARE
        and c["question"] == question
        and c["dimension"]
        and c["wave"] == wave
    ]
    questions = summary_questions(context.summary)
    dimensions = [q["key"] for q in questions if q.get("is_dimension")]
    dimensions += sorted({c["dimension"] for c in found} - set(dimensions))
    texts = context.labels.texts
    focus = [context.labels.choice(question, key) for key in spec.focus_choices]
    limit = chart_spec.items or None
    charts = []
    for dimension in dimensions:
        name = breakdown_name(wave, dimension)
        # A segment where no one answered (not asked of them) has nothing to draw.
        rows = [
            row
            for row in context.rows(name, found)
            if row["dimension"] == dimension and row["base_n"] != 0
        ]
        present = {row["choice_label"] for row in rows}
        shown = [item for item in focus if item in present]
        shown += [item for item in items if item in present and item not in shown]
        shown = shown[:limit] or _rank_items(rows, context.wave_order, wave)[:limit]
        rows = [row for row in rows if row["choice_label"] in shown]
        if not rows:
            continue
        segment_order = list(context.labels.choices.get(dimension, {}).values())
        rows.sort(
            key=lambda row: (
                shown.index(row["choice_label"]),
                segment_order.index(row["segment_label"])
                if row["segment_label"] in segment_order
                else len(segment_order),
            )
        )
        words = dimension.replace("_", " ")
        question_text = texts.get(dimension, {}).get(wave) or next(
            iter(reversed(texts.get(dimension, {}).values())), words
        )
        # A break matters here only when the wave on its other side speaks too.
        notes = [
            universe_note(b)
            for b in universe_breaks(context.summary, dimension)
            if (b["wave"] == wave and context.enough(b["previous_wave"]))
            or (b["previous_wave"] == wave and context.enough(b["wave"]))
        ]
        universe = (universe_of(context.summary, dimension, wave) or "").rstrip(".")
        caveat = f"Who was asked in {wave}: {universe}." if universe else ""
        if notes and not caveat:
            caveat = f"Who was asked changed at {wave}: see the note below."
        elif caveat and not notes:
            notes.append(f"Who was asked in {wave}: {universe}.")
        values = {"wave": wave, "dimension": words, "question_text": question_text}
        charts.append(
            context.chart(
                chart_spec,
                name=name,
                title=_fill(chart_spec.title, items=len(shown), **values),
                subtitle=_fill(chart_spec.subtitle, items=len(shown), **values),
                rows=rows,
                alt=f"Small multiples: for each of {len(shown)} answers, the share giving it "
                f"in each {words} group, with intervals; the table below gives every number.",
                order=shown,
                facet="choice_label",
                notes=notes,
                caveat=caveat,
            )
        )
    return charts


def universe_of(summary: dict[str, Any], question: str, wave: str) -> str:
    for entry in summary_questions(summary):
        if entry["key"] == question:
            asked = (entry.get("waves") or {}).get(wave) or {}
            return str(asked.get("universe") or "")
    return ""


def series_shortfalls(series_list: list[Series], today: date | None = None) -> dict[int, str]:
    """For listings: each series whose latest published snapshot has no wave that speaks,
    with its latest wave's "not enough answers yet: N of M needed" (in four queries)."""
    latest: dict[int, int] = {}
    published = (
        Snapshot.objects.published()
        .filter(series__in=series_list, status=Snapshot.Status.READY)
        .order_by("series_id", "-published_at", "-pk")
        .values_list("series_id", "pk")
    )
    for series_id, pk in published:
        latest.setdefault(series_id, pk)
    summaries = dict(Snapshot.objects.filter(pk__in=latest.values()).values_list("pk", "summary"))
    specs = {series.pk: spec_for(series) for series in series_list}
    questions = {spec.headline_question for spec in specs.values()}
    bases: dict[int, list[dict[str, Any]]] = {}
    rows = (
        Cell.objects.filter(
            snapshot_id__in=latest.values(),
            measure=Cell.Measure.SHARE,
            question__in=questions,
            dimension="",
            option="",
        )
        .values("snapshot_id", "question", "wave", "flag")
        .annotate(base_n=Max("base_n"))
    )
    for row in rows:
        bases.setdefault(row["snapshot_id"], []).append(
            cell_public({**row, "measure": Cell.Measure.SHARE, "dimension": "", "option": ""})
        )
    found = {}
    for series in series_list:
        pk = latest.get(series.pk)
        if pk is None:
            continue
        summary = summaries.get(pk) or {}
        spec = specs[series.pk]
        k = int(summary.get("k") or series.k_threshold)
        answered = headline_answered(bases.get(pk, []), spec.headline_question)
        states = wave_states(summary, answered, min_answers_for(spec, k), k, today or date.today())
        if states and not any(state.enough for state in states):
            found[series.pk] = states[-1].shortfall
    return found
