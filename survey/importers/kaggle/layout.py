"""Finding the questions among a wave's columns by their text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .waves import KaggleImportError

# Single-choice questions: series key -> text patterns (lowercase), first match wins.
SINGLE_PATTERNS: dict[str, tuple[str, ...]] = {
    "role": ("title most similar to your current role", "current job title", "current role"),
    "company_size": ("size of the company", "how many employees", "number of employees"),
    "industry": ("in what industry", "which industry", "industry"),
    "country": ("which country", "country"),
    "ml_experience": (
        "years have you used machine learning methods",
        "years have you been using machine learning",
    ),
}
FRAMEWORK_PATTERN = re.compile(r"machine learning frameworks|\bml frameworks\b", re.I)
# A framework question about the future is another question ("hope to become familiar").
FUTURE_PATTERN = re.compile(r"next 2 years|hope to|familiar with", re.I)
STUDENT_PATTERN = re.compile(r"are you currently a student", re.I)
DURATION_PATTERN = re.compile(r"duration|time from start to finish", re.I)
SELECTED = re.compile(r"\s+-\s+Selected Choice(?:\s+-\s+|$)", re.I)
TEXT_COLUMN = re.compile(r"-\s*(?:other(?:\s+\w+)?\s*-\s*)?text\s*$", re.I)
# Kaggle 2018 replaced free texts by row indices in this file; such cells carry no text.
NUMERIC = re.compile(r"^-?\d+$")


@dataclass
class Multi:
    text: str
    columns: list[int]
    other_text: int | None = None


@dataclass
class Layout:
    width: int
    frameworks: Multi
    singles: dict[str, tuple[int, str]]
    duration: int | None = None
    student: int | None = None


def question_text(text: str) -> str:
    """The question as asked, without Kaggle's "- Selected Choice" and "(Select all...)"."""
    base = SELECTED.split(text, maxsplit=1)[0]
    base = re.sub(r"\(\s*select all that apply\s*\)\s*:?", "", base, flags=re.I)
    return " ".join(base.split()).rstrip(" :-")


def layout_detect(codes: list[str], texts: list[str]) -> Layout:
    """Find the questions the series knows among the columns, by their text."""
    width = len(codes)
    text_columns = {
        i
        for i, (c, t) in enumerate(zip(codes, texts, strict=True))
        if TEXT_COLUMN.search(t.strip()) or c.upper().endswith(("_TEXT", "_OTHER"))
    }
    groups: dict[str, list[int]] = {}
    other_text: dict[str, int] = {}
    for i, text in enumerate(texts):
        if not FRAMEWORK_PATTERN.search(text) or FUTURE_PATTERN.search(text):
            continue
        base = question_text(re.split(r"\s+-\s+Other\s+-\s+Text", text, flags=re.I)[0])
        if i in text_columns:
            other_text.setdefault(base, i)
        elif SELECTED.search(text) or "select all" in text.lower():
            groups.setdefault(base, []).append(i)
    if not groups:
        raise KaggleImportError(
            "unknown layout: no question about machine learning frameworks in row 2"
        )
    base, columns = next(iter(groups.items()))
    frameworks = Multi(text=base, columns=columns, other_text=other_text.get(base))
    taken = set(columns)
    singles: dict[str, tuple[int, str]] = {}
    for key, patterns in SINGLE_PATTERNS.items():
        for pattern in patterns:
            found = next(
                (
                    i
                    for i, t in enumerate(texts)
                    if i not in text_columns
                    and i not in taken
                    and pattern in t.lower()
                    and "select all" not in t.lower()
                ),
                None,
            )
            if found is not None:
                singles[key] = (found, question_text(texts[found]))
                taken.add(found)
                break
    duration = next((i for i, t in enumerate(texts) if DURATION_PATTERN.search(t)), None)
    student = next((i for i, t in enumerate(texts) if STUDENT_PATTERN.search(t)), None)
    return Layout(
        width=width, frameworks=frameworks, singles=singles, duration=duration, student=student
    )
