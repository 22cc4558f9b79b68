"""Import a wave of the Kaggle Machine Learning & Data Science Survey (2018-2022 layouts).

The responses CSV has column codes in row 1 and question texts in row 2; codes change every
wave, texts barely do, so questions are found by text patterns. Labels go through the
taxonomy; a label it does not know becomes a choice marked for review. Everything is read
and checked before anything is written, and the write is one transaction.
"""

from .bulk import rows_write
from .importer import kaggle_import
from .labels import NOT_APPLICABLE, QUESTION_KINDS
from .layout import (
    DURATION_PATTERN,
    FRAMEWORK_PATTERN,
    FUTURE_PATTERN,
    NUMERIC,
    SELECTED,
    SINGLE_PATTERNS,
    STUDENT_PATTERN,
    TEXT_COLUMN,
    Layout,
    Multi,
    layout_detect,
    question_text,
)
from .source import rows_read, source_read
from .structure import DIMENSIONS, QUESTION_ORDER
from .waves import CHANNEL, DEFAULT_LICENSE, KNOWN_WAVES, ImportSummary, KaggleImportError

__all__ = [
    "CHANNEL",
    "DEFAULT_LICENSE",
    "DIMENSIONS",
    "DURATION_PATTERN",
    "FRAMEWORK_PATTERN",
    "FUTURE_PATTERN",
    "KNOWN_WAVES",
    "NOT_APPLICABLE",
    "NUMERIC",
    "QUESTION_KINDS",
    "QUESTION_ORDER",
    "SELECTED",
    "SINGLE_PATTERNS",
    "STUDENT_PATTERN",
    "TEXT_COLUMN",
    "ImportSummary",
    "KaggleImportError",
    "Layout",
    "Multi",
    "kaggle_import",
    "layout_detect",
    "question_text",
    "rows_read",
    "rows_write",
    "source_read",
]
