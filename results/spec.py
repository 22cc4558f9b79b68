"""A series' report spec: its headline question, focus choices, derived measures and charts.

The spec is data on the series (`Series.report_spec`, seeded from the questionnaire that
makes the series, such as survey/census.py's REPORT_SPEC). The pipeline derives its measures
from it and the report page its sections, so nothing under results/ names a series' own
questions or choices. A series without a spec gets `default_spec`: the first multi-choice
(else single-choice) question as headline, its trend, changes and breakdowns, no derived
measures.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey.models import Question, Series

logger = logging.getLogger(__name__)

KINDS = ("trend", "change", "dots", "heatmap")  # how a chart is drawn
MEASURES = ("share", "change", "retention", "migration")  # the cells it draws
SECTIONS = ("trend", "focus", "breakdowns")  # where on the page it goes
HEADLINE_ITEMS = 8


class ReportSpecError(ValueError):
    """A report spec that cannot be read; the message names the field."""


@dataclass(frozen=True)
class Retention:
    question: str  # matrix question key, e.g. "framework_status"
    still_columns: tuple[str, ...]  # ("new-projects", "existing-only")
    stopped_columns: tuple[str, ...]  # ("stopped",)


@dataclass(frozen=True)
class Migration:
    from_question: str  # "migration_from"
    to_question: str  # "migration_to"


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the report: what it draws, how, and the words around it.

    `title` and `subtitle` may use {wave}, {items}, {dimension} and {question_text};
    `definition` is the one sentence under the chart that states its formula and base.
    A chart in the "breakdowns" section is drawn once per dimension and wave.
    """

    name: str
    kind: str
    measure: str
    title: str
    section: str = "trend"
    subtitle: str = ""
    question: str = ""  # blank: the headline question (share and change charts)
    option: str = ""  # a matrix column the chart draws (share of a matrix row)
    items: int = 0  # how many choices it shows, most used first (0: all)
    definition: str = ""
    fact: str = ""  # a sentence about the focus choice: {share} {interval} {n} {wave} {label}


@dataclass(frozen=True)
class Focus:
    """The question the focus section answers, and the choice its facts are about."""

    title: str
    intro: str = ""
    choice: str = ""


@dataclass(frozen=True)
class ReportSpec:
    headline_question: str
    focus_choices: tuple[str, ...]
    retention: Retention | None
    migration: Migration | None
    charts: tuple[ChartSpec, ...]
    focus: Focus | None = None
    none_choice: str = ""  # the headline choice that means "none of these"
    item_label: str = "Choice"  # what a headline choice is called in table headings
    min_answers: int | None = None  # answers a wave needs, when above 10·k (min_answers_for)
    trend_title: str = "Over time"  # the heading of the trend section

    def charts_in(self, section: str) -> tuple[ChartSpec, ...]:
        return tuple(chart for chart in self.charts if chart.section == section)

    def chart(self, name: str) -> ChartSpec | None:
        return next((chart for chart in self.charts if chart.name == name), None)


def min_answers_for(spec: ReportSpec, k: int) -> int:
    """Answers to the headline question a wave needs before it ranks or breaks down.

    With fewer than 10·k answers, every choice used by under a tenth of them is a hidden
    count, so a ranking would leave out choices many people use. A spec may ask for more,
    never for less: a one-question poll hides small counts exactly as a survey does.
    """
    return max(10 * k, spec.min_answers or 0)


def _text(data: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise ReportSpecError(f"{where}: {name!r} must be a non-empty string")
    return value


def _keys(data: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ReportSpecError(f"{where}: {name!r} must be a list of keys")
    return tuple(value)


def _chart(data: Any, index: int) -> ChartSpec:
    where = f"charts[{index}]"
    if not isinstance(data, Mapping):
        raise ReportSpecError(f"{where} must be an object")
    kind = _text(data, "kind", where, required=True)
    measure = _text(data, "measure", where) or "share"
    section = _text(data, "section", where) or "trend"
    for name, value, allowed in (
        ("kind", kind, KINDS),
        ("measure", measure, MEASURES),
        ("section", section, SECTIONS),
    ):
        if value not in allowed:
            raise ReportSpecError(f"{where}: {name} {value!r} is not one of {', '.join(allowed)}")
    items = data.get("items", 0)
    if not isinstance(items, int) or isinstance(items, bool) or items < 0:
        raise ReportSpecError(f"{where}: 'items' must be a whole number, 0 or more")
    return ChartSpec(
        name=_text(data, "name", where, required=True),
        kind=kind,
        measure=measure,
        title=_text(data, "title", where, required=True),
        section=section,
        subtitle=_text(data, "subtitle", where),
        question=_text(data, "question", where),
        option=_text(data, "option", where),
        items=items,
        definition=_text(data, "definition", where),
        fact=_text(data, "fact", where),
    )


def spec_load(data: Mapping[str, Any]) -> ReportSpec:
    """Read a report spec from its JSON form; a malformed one raises ReportSpecError."""
    if not isinstance(data, Mapping):
        raise ReportSpecError("a report spec must be an object")
    retention = migration = focus = None
    if (raw := data.get("retention")) is not None:
        if not isinstance(raw, Mapping):
            raise ReportSpecError("retention must be an object")
        retention = Retention(
            question=_text(raw, "question", "retention", required=True),
            still_columns=_keys(raw, "still_columns", "retention"),
            stopped_columns=_keys(raw, "stopped_columns", "retention"),
        )
        if not retention.still_columns or not retention.stopped_columns:
            raise ReportSpecError("retention: still_columns and stopped_columns are required")
    if (raw := data.get("migration")) is not None:
        if not isinstance(raw, Mapping):
            raise ReportSpecError("migration must be an object")
        migration = Migration(
            from_question=_text(raw, "from_question", "migration", required=True),
            to_question=_text(raw, "to_question", "migration", required=True),
        )
    if (raw := data.get("focus")) is not None:
        if not isinstance(raw, Mapping):
            raise ReportSpecError("focus must be an object")
        focus = Focus(
            title=_text(raw, "title", "focus", required=True),
            intro=_text(raw, "intro", "focus"),
            choice=_text(raw, "choice", "focus"),
        )
    charts_data = data.get("charts", [])
    if not isinstance(charts_data, list):
        raise ReportSpecError("charts must be a list")
    charts = tuple(_chart(chart, index) for index, chart in enumerate(charts_data))
    names = [chart.name for chart in charts]
    if len(set(names)) != len(names):
        raise ReportSpecError("charts: every chart needs its own name")
    min_answers = data.get("min_answers")
    if min_answers is not None and (not isinstance(min_answers, int) or min_answers < 1):
        raise ReportSpecError("min_answers must be a whole number, 1 or more")
    return ReportSpec(
        headline_question=_text(data, "headline_question", "spec", required=True),
        focus_choices=_keys(data, "focus_choices", "spec"),
        retention=retention,
        migration=migration,
        charts=charts,
        focus=focus,
        none_choice=_text(data, "none_choice", "spec"),
        item_label=_text(data, "item_label", "spec") or "Choice",
        min_answers=min_answers,
        trend_title=_text(data, "trend_title", "spec") or "Over time",
    )


def default_spec(headline_question: str = "") -> ReportSpec:
    """The generic report: a headline question's trend, its changes and its breakdowns."""
    return ReportSpec(
        headline_question=headline_question,
        focus_choices=(),
        retention=None,
        migration=None,
        charts=(
            ChartSpec(
                name="headline",
                kind="trend",
                measure="share",
                title="{question_text}",
                subtitle="Share of respondents giving each answer, by wave; the {items} most "
                "given in {wave}. Bars show 95% intervals.",
                items=HEADLINE_ITEMS,
                definition="Share = respondents who gave the answer / respondents who answered "
                "the question in that wave.",
            ),
            ChartSpec(
                name="changes",
                kind="change",
                measure="change",
                title="What changed between waves?",
                subtitle="Change in each share between consecutive waves, in percentage "
                "points, with 95% Newcombe intervals.",
                definition="Change = share in the later wave - share in the earlier wave; "
                "where the interval includes zero there is no detectable change.",
            ),
            ChartSpec(
                name="breakdown",
                kind="dots",
                measure="share",
                section="breakdowns",
                items=4,
                title="Answers by {dimension}, {wave}",
                subtitle="Share giving each answer, by answer to “{question_text}”",
                definition="Share = respondents in the group who gave the answer / "
                "respondents in the group who answered the question.",
            ),
        ),
    )


def _first_question(series: Series) -> str:
    """The latest wave's first multi-choice question, else its first single-choice one."""
    found = list(
        Question.objects.filter(
            survey__series=series, kind__in=[Question.Kind.MULTI, Question.Kind.SINGLE]
        )
        .order_by("-survey__wave_label", "page__position", "position")
        .values_list("survey__wave_label", "kind", "key")
    )
    latest = [row for row in found if row[0] == found[0][0]] if found else []
    multi = [key for _, kind, key in latest if kind == Question.Kind.MULTI]
    return (multi or [key for _, _, key in latest] or [""])[0]


def spec_for(series: Series) -> ReportSpec:
    """The series' report spec, or the generic default when it has none (or a broken one)."""
    data = series.report_spec
    if data:
        try:
            return spec_load(data)
        except ReportSpecError as error:
            # A spec edited by hand must not take the report down: the generic report stands
            # in and the log says why.
            logger.warning("Report spec of %s is unreadable (%s); using the default", series, error)
    return default_spec(_first_question(series))
