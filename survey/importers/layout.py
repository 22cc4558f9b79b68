"""A wave layout as a description, and finding its questions among a file's columns by text.

A layout says which questions of a series a file holds and how to recognise them: phrases of
their text (codes change every wave, texts barely do), the taxonomy kind their labels map
through, labels that mean "not asked", screening questions that stand in for an answer, and
groupings (country -> region). `layout_find` turns it into the columns of one file.

Headers follow the Qualtrics export convention the Kaggle surveys use: a multi-select
question has one column per choice, its text "<question> - Selected Choice - <label>", and
free-text boxes end in "- Text".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .waves import ImporterError

SELECTED = re.compile(r"\s+-\s+Selected Choice(?:\s+-\s+|$)", re.I)
TEXT_COLUMN = re.compile(r"-\s*(?:other(?:\s+\w+)?\s*-\s*)?text\s*$", re.I)
OTHER_TEXT = re.compile(r"\s+-\s+Other\s+-\s+Text", re.I)


@dataclass(frozen=True)
class Single:
    """A single-choice question: one column, the label of the chosen answer."""

    key: str
    patterns: tuple[str, ...]  # lowercase phrases of its text; the first one found wins
    taxonomy: str | None = None  # entity kind its labels map through; None: labels are choices
    dimension: bool = False
    not_applicable: tuple[str, ...] = ()  # labels that mean "not asked" (counted, not stored)


@dataclass(frozen=True)
class Multi:
    """A multi-select question: every column whose question text matches, Other included."""

    key: str
    pattern: str  # regex on the question text
    taxonomy: str
    exclude: str = ""  # regex of texts that look alike but ask something else
    dimension: bool = False
    # One cell holds every label ticked, separated by this (Kaggle 2017: "Python,R,SQL").
    packed: str = ""
    # The question asks about more than the taxonomy kind (2017's "tools and technologies"):
    # keep the labels the taxonomy knows, leave the others out (counted in the summary), and
    # record a respondent who gave only others as "None", so the base stays who answered.
    known_only: bool = False


@dataclass(frozen=True)
class Screen:
    """A screening question that replaces an answer: "are you a student?" -> role Student."""

    pattern: str  # regex on the screening question's text
    answer: str  # the screening answer (normalized) that stands in
    key: str  # the question it stands in for
    label: str  # the label recorded for it
    note: str  # what the summary says, with {n} for the count


@dataclass(frozen=True)
class Grouping:
    """A coarser question derived from another (region from country), recorded as such."""

    key: str
    source: str
    choices: Sequence[tuple[str, str]]
    group: Callable[[str], str | None]  # source label -> key of the coarser choice
    help_text: str
    dimension: bool = True


@dataclass(frozen=True)
class Layout:
    """Everything an importer needs to know about one family of files."""

    name: str
    singles: tuple[Single, ...]
    multis: tuple[Multi, ...]
    order: tuple[str, ...]  # question order in the wave's survey (multis follow)
    header_rows: int = 2
    texts_row: int = 1  # index of the header row holding question texts
    screens: tuple[Screen, ...] = ()
    groupings: tuple[Grouping, ...] = ()
    duration: str = ""  # regex of the text of the duration column, if any
    member_rank: Callable[[str], int] | None = None  # which CSV of a zip holds the responses
    # Files whose question texts live in another file (a schema), not in a header row:
    # (schema member name in the zip, function from its text to {column code: question text}).
    schema: tuple[str, Callable[[str], dict[str, str]]] | None = None
    page_title: str = "Imported questions"


@dataclass
class MultiColumns:
    text: str
    columns: list[int]
    other_text: int | None = None
    packed: str = ""


@dataclass
class Found:
    """Where one file holds the layout's questions."""

    width: int
    multis: dict[str, MultiColumns]
    singles: dict[str, tuple[int, str]]
    screens: dict[str, tuple[int, Screen]] = field(default_factory=dict)
    duration: int | None = None

    def columns_read(self) -> list[int]:
        """Every column the importer reads, in file order (what an extract keeps)."""
        found = {i for i, _text in self.singles.values()}
        found |= {i for i, _screen in self.screens.values()}
        for multi in self.multis.values():
            found.update(multi.columns)
            if multi.other_text is not None:
                found.add(multi.other_text)
        if self.duration is not None:
            found.add(self.duration)
        return sorted(found)


def question_text(text: str) -> str:
    """The question as asked, without "- Selected Choice ..." and "(Select all that apply)"."""
    base = SELECTED.split(text, maxsplit=1)[0]
    base = re.sub(r"\(\s*select all that apply\s*\)\s*:?", "", base, flags=re.I)
    return " ".join(base.split()).rstrip(" :-")


def layout_find(layout: Layout, codes: list[str], texts: list[str]) -> Found:
    """Find the layout's questions among the columns, by their text."""
    width = len(texts)
    text_columns = {i for i, t in enumerate(texts) if TEXT_COLUMN.search(t.strip())}
    taken: set[int] = set()
    multis: dict[str, MultiColumns] = {}
    for multi in layout.multis:
        pattern = re.compile(multi.pattern, re.I)
        exclude = re.compile(multi.exclude, re.I) if multi.exclude else None
        groups: dict[str, list[int]] = {}
        other_text: dict[str, int] = {}
        for i, text in enumerate(texts):
            if not pattern.search(text) or (exclude and exclude.search(text)):
                continue
            base = question_text(OTHER_TEXT.split(text)[0])
            if i in text_columns:
                other_text.setdefault(base, i)
            elif SELECTED.search(text) or "select all" in text.lower():
                groups.setdefault(base, []).append(i)
        if not groups:
            if any(pattern.search(c) for c in codes) and codes is not texts:
                raise ImporterError(
                    "missing header rows: row 1 holds question texts, not column codes"
                )
            raise ImporterError(
                f"unknown layout: no question for {multi.key} in the header "
                f"(its text matches /{multi.pattern}/)"
            )
        base, columns = next(iter(groups.items()))
        multis[multi.key] = MultiColumns(
            text=base, columns=columns, other_text=other_text.get(base), packed=multi.packed
        )
        taken.update(columns)
    singles: dict[str, tuple[int, str]] = {}
    for single in layout.singles:
        for phrase in single.patterns:
            found = next(
                (
                    i
                    for i, t in enumerate(texts)
                    if i not in text_columns
                    and i not in taken
                    and phrase in t.lower()
                    and "select all" not in t.lower()
                ),
                None,
            )
            if found is not None:
                singles[single.key] = (found, question_text(texts[found]))
                taken.add(found)
                break
    screens: dict[str, tuple[int, Screen]] = {}
    for screen in layout.screens:
        at = next((i for i, t in enumerate(texts) if re.search(screen.pattern, t, re.I)), None)
        if at is not None and screen.key in singles:
            screens[screen.key] = (at, screen)
    duration = None
    if layout.duration:
        duration = next(
            (i for i, t in enumerate(texts) if re.search(layout.duration, t, re.I)), None
        )
    return Found(width=width, multis=multis, singles=singles, screens=screens, duration=duration)
