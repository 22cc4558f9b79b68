"""The trend report of a published snapshot, assembled in one query over its cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from survey.models import Series

from ..models import Cell, Snapshot
from .cells import CELL_FIELDS, cell_public, flag_meaning, snapshot_cells
from .summary import Labels, summary_questions, summary_waves, wording_runs

HEADLINE_QUESTION = "frameworks_used"
STATUS_QUESTION = "framework_status"
NEW_PROJECTS = "new-projects"
HEADLINE_ITEMS = 8
BREAKDOWN_ITEMS = 4


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

    @property
    def drawn(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["share"] is not None]


@dataclass
class Report:
    snapshot: Snapshot
    series: Series
    summary: dict[str, Any]
    synthetic: bool
    waves: list[dict[str, Any]]
    headline: ChartData | None
    changes: ChartData | None
    dead: list[ChartData]
    breakdowns: list[ChartData]
    latest_wave: str
    wording_notes: list[str]
    headline_question: str = HEADLINE_QUESTION

    @property
    def trend_heading(self) -> str:
        return (
            "Framework use over time"
            if self.headline_question == HEADLINE_QUESTION
            else ("Over time")
        )

    @property
    def charts(self) -> list[ChartData]:
        found = [self.headline, self.changes, *self.dead, *self.breakdowns]
        return [chart for chart in found if chart is not None]

    def chart(self, name: str) -> ChartData | None:
        return next((chart for chart in self.charts if chart.name == name), None)


def _row(chart: str, cell: dict[str, Any], labels: Labels, series: str) -> dict[str, Any]:
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


def headline_question(summary: dict[str, Any]) -> str:
    """The question the trend charts: the Census' frameworks question, or a poll's only one."""
    keys = [q["key"] for q in summary_questions(summary) if q.get("published", True)]
    return keys[0] if len(keys) == 1 and HEADLINE_QUESTION not in keys else HEADLINE_QUESTION


def report_build(snapshot: Snapshot) -> Report:
    """Assemble the trend report of a published snapshot in one query over its cells."""
    summary = snapshot.summary or {}
    headline_key = headline_question(summary)
    series = snapshot.series
    synthetic = bool((summary.get("series") or {}).get("is_synthetic", series.is_synthetic))
    labels = Labels.from_summary(summary)
    waves = summary_waves(summary)
    wave_order = [w["label"] for w in waves]
    latest = wave_order[-1] if wave_order else ""
    overall = Q(dimension="")
    wanted = (
        Q(measure=Cell.Measure.SHARE, question=headline_key) & (overall | Q(wave=latest))
        | Q(measure=Cell.Measure.CHANGE, question=headline_key) & overall
        | Q(measure=Cell.Measure.SHARE, question=STATUS_QUESTION, option=NEW_PROJECTS) & overall
        | Q(measure__in=[Cell.Measure.RETENTION, Cell.Measure.MIGRATION]) & overall
    )
    cells = [
        cell_public(dict(zip(CELL_FIELDS, values, strict=True)))
        for values in snapshot_cells(snapshot).filter(wanted).values_list(*CELL_FIELDS)
    ]
    for cell in cells:
        if cell["wave"] not in wave_order:  # tolerate a summary that misses a wave
            wave_order.append(cell["wave"])
    context = _Context(summary, labels, series.slug, synthetic, wave_order, headline_key)

    headline, notes = _headline(context, cells)
    items = headline.order if headline else []
    return Report(
        snapshot=snapshot,
        series=series,
        summary=summary,
        synthetic=synthetic,
        waves=waves,
        headline=headline,
        changes=_changes(context, cells, items),
        dead=[
            chart
            for chart in (
                _new_projects(context, cells),
                _retention(context, cells),
                _migration(context, cells),
            )
            if chart is not None
        ],
        breakdowns=_breakdowns(context, cells, items, latest),
        latest_wave=latest,
        wording_notes=notes,
        headline_question=headline_key,
    )


@dataclass
class _Context:
    summary: dict[str, Any]
    labels: Labels
    slug: str
    synthetic: bool
    wave_order: list[str]
    headline: str = HEADLINE_QUESTION

    def rows(self, chart: str, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_row(chart, cell, self.labels, self.slug) for cell in cells]

    def chart(self, **fields: Any) -> ChartData:
        waves = sorted({row["wave"] for row in fields["rows"]}, key=self.wave_order.index)
        return ChartData(
            synthetic=self.synthetic,
            source=_source_line(self.summary, waves),
            wave_order=waves,
            **fields,
        )


def _rank_items(rows: list[dict[str, Any]], wave_order: list[str]) -> list[str]:
    """Item labels ordered by their share in the latest wave that has one, highest first."""
    best: dict[str, tuple[int, float]] = {}
    for row in rows:
        rank = (wave_order.index(row["wave"]), row["share"] if row["share"] is not None else -1)
        label = row["choice_label"]
        if label not in best or rank > best[label]:
            best[label] = rank
    return sorted(best, key=lambda label: best[label], reverse=True)


def _headline(context: _Context, cells: list[dict[str, Any]]) -> tuple[ChartData | None, list]:
    found = [
        c
        for c in cells
        if c["measure"] == Cell.Measure.SHARE
        and c["question"] == context.headline
        and not c["dimension"]
    ]
    if not found:
        return None, []
    rows = context.rows("headline", found)
    order = _rank_items(rows, context.wave_order)[:HEADLINE_ITEMS]
    rows = [row for row in rows if row["choice_label"] in order]
    waves = [w for w in context.wave_order if any(row["wave"] == w for row in rows)]
    runs = wording_runs(context.summary, context.headline, waves)
    texts = context.labels.texts.get(context.headline, {})
    spans: dict[int, list[str]] = {}
    for wave in waves:
        spans.setdefault(runs[wave], []).append(wave)
    wording = {
        run: f"asked {span[0]}" if len(span) == 1 else f"asked {span[0]}-{span[-1]}"
        for run, span in spans.items()
    }
    for row in rows:
        row["run"] = runs[row["wave"]]
        row["wording"] = wording[row["run"]]
        row["question_text"] = texts.get(row["wave"], "")
    notes, breaks = [], []
    for run in sorted(spans)[1:]:
        first, previous = spans[run][0], spans[run - 1][-1]
        notes.append(
            f"The question changed between {previous} and {first}: {previous} asked "
            f"“{texts.get(previous, '?')}”, {first} asked “{texts.get(first, '?')}”. "
            "The lines are not joined across this break: the answers measure different things."
        )
        breaks.append({"wave": first, "previous_wave": previous})
    latest = waves[-1]
    title = "Which ML frameworks do practitioners use?"
    subtitle = (
        f"Share of respondents using each framework, by wave; the {len(order)} most used in "
        f"{latest}. Bars show 95% intervals."
    )
    if context.headline != HEADLINE_QUESTION:  # a poll's own question
        title = texts.get(latest) or title
        subtitle = "Share of votes for each answer, by round. Bars show 95% intervals."
    chart = context.chart(
        name="headline",
        kind="trend",
        title=title,
        subtitle=subtitle,
        rows=rows,
        alt=f"Line chart of the share of respondents using each of {len(order)} frameworks "
        + (f"in each wave from {waves[0]} to {latest}" if len(waves) > 1 else f"in {latest}")
        + "; the table below gives every number.",
        notes=notes,
        breaks=breaks,
        order=order,
    )
    return chart, notes


def _changes(context: _Context, cells: list[dict[str, Any]], items: list[str]) -> ChartData | None:
    found = [c for c in cells if c["measure"] == Cell.Measure.CHANGE and not c["dimension"]]
    rows = [row for row in context.rows("changes", found) if row["choice_label"] in items]
    if not rows:
        return None
    for row in rows:
        row["pair"] = f"{row['compare_wave']} → {row['wave']}"
    return context.chart(
        name="changes",
        kind="change",
        title="What changed between waves?",
        subtitle="Change in the share using each framework between consecutive waves, in "
        "percentage points, with 95% Newcombe intervals.",
        rows=rows,
        alt="Dot chart of the change in each framework's share between consecutive waves, "
        "with intervals; the table below gives every number.",
        notes=[
            "Where the interval includes zero the data show no detectable change. Changes "
            "across a change in question wording are not computed."
        ],
        order=items,
    )


def _new_projects(context: _Context, cells: list[dict[str, Any]]) -> ChartData | None:
    found = [c for c in cells if c["question"] == STATUS_QUESTION and c["option"] == NEW_PROJECTS]
    if not found:
        return None
    rows = context.rows("new-projects", found)
    return context.chart(
        name="new-projects",
        kind="dots",
        title="Which frameworks do people pick for new projects?",
        subtitle="Of those who rated each framework, the share who use it for new projects.",
        rows=rows,
        alt="Dot chart of the share using each framework for new projects, with intervals; "
        "the table below gives every number.",
        order=_rank_items(rows, context.wave_order),
    )


def _retention(context: _Context, cells: list[dict[str, Any]]) -> ChartData | None:
    found = [c for c in cells if c["measure"] == Cell.Measure.RETENTION]
    if not found:
        return None
    rows = context.rows("retention", found)
    return context.chart(
        name="retention",
        kind="dots",
        title="Who keeps using what they used?",
        subtitle="Of those who ever used each framework, the share still using it.",
        rows=rows,
        alt="Dot chart of each framework's retention, with intervals; the table below gives "
        "every number.",
        order=_rank_items(rows, context.wave_order),
    )


def _migration(context: _Context, cells: list[dict[str, Any]]) -> ChartData | None:
    found = [c for c in cells if c["measure"] == Cell.Measure.MIGRATION]
    if not found:
        return None
    latest = max((c["wave"] for c in found), key=context.wave_order.index)
    rows = context.rows("migration", [c for c in found if c["wave"] == latest])
    return context.chart(
        name="migration",
        kind="heatmap",
        title=f"Where did switchers go? ({latest})",
        subtitle="Among respondents who moved a project from one framework to another, the "
        "share of each move (from, down; to, across).",
        rows=rows,
        alt="Grid of the share of switchers moving from each framework (rows) to each other "
        "framework (columns); the table below gives every number.",
        order=_rank_items(rows, context.wave_order),
    )


def _breakdowns(
    context: _Context, cells: list[dict[str, Any]], items: list[str], wave: str
) -> list[ChartData]:
    found = [
        c
        for c in cells
        if c["measure"] == Cell.Measure.SHARE
        and c["question"] == context.headline
        and c["dimension"]
        and c["wave"] == wave
    ]
    questions = summary_questions(context.summary)
    dimensions = [q["key"] for q in questions if q.get("is_dimension")]
    dimensions += sorted({c["dimension"] for c in found} - set(dimensions))
    texts = context.labels.texts
    charts = []
    for dimension in dimensions:
        rows = [
            row
            for row in context.rows(f"breakdown-{dimension}", found)
            if row["dimension"] == dimension
        ]
        shown = [item for item in items if any(row["choice_label"] == item for row in rows)]
        shown = shown[:BREAKDOWN_ITEMS] or _rank_items(rows, context.wave_order)[:BREAKDOWN_ITEMS]
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
        name = dimension.replace("_", " ")
        question_text = next(iter(reversed(texts.get(dimension, {}).values())), name)
        charts.append(
            context.chart(
                name=f"breakdown-{dimension}",
                kind="dots",
                title=f"Framework use by {name}, {wave}",
                subtitle=f"Share using each framework, by answer to “{question_text}”",
                rows=rows,
                alt=f"Small multiples: for each of {len(shown)} frameworks, the share using it "
                f"in each {name} group, with intervals; the table below gives every number.",
                order=shown,
                facet="choice_label",
            )
        )
    return charts
