"""What every importer returns: a source's description, its breaks and its figures."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, overload


class SignalFileError(Exception):
    """A file an importer cannot read; the message is one line, for the command's error."""


@dataclass(frozen=True)
class Row:
    period: str
    period_start: date
    period_end: date
    scope: str
    label: str
    # The name looked up in the framework taxonomy; None: the label names no framework
    # (a total, "unspecified", a topic such as deep-learning).
    lookup: str | None
    value: int | None
    missing: str = ""


@dataclass
class Parsed:
    source: dict[str, Any]
    rows: list[Row]
    breaks: list[dict[str, Any]] = field(default_factory=list)


def csv_records(path: Path, required: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, record) for each data line; SignalFileError on a wrong header."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise SignalFileError(f"cannot open the file ({error.strerror})") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            absent = [name for name in required if name not in header]
            if absent:
                raise SignalFileError(
                    f"line 1: the header lacks {', '.join(absent)} (found {', '.join(header)})"
                )
            for record in reader:
                if None in record or any(value is None for value in record.values()):
                    raise SignalFileError(
                        f"line {reader.line_num}: {len(header)} columns expected, "
                        "the row has a different number"
                    )
                yield reader.line_num, record
        except UnicodeDecodeError:
            raise SignalFileError("the file is not UTF-8 text") from None
        except csv.Error as error:
            raise SignalFileError(f"not a readable CSV ({error})") from None


@overload
def whole(text: str, line: int, column: str, *, blank_ok: Literal[False] = False) -> int: ...
@overload
def whole(text: str, line: int, column: str, *, blank_ok: bool) -> int | None: ...
def whole(text: str, line: int, column: str, *, blank_ok: bool = False) -> int | None:
    """A non-negative whole number, or None for an empty cell where that is allowed."""
    text = text.strip()
    if text == "" and blank_ok:
        return None
    if not (text.isascii() and text.isdigit()):
        raise SignalFileError(f"line {line}: {column} must be a whole number, not {text[:30]!r}")
    return int(text)
