"""One importer per file format; `detect` names the format from a file's header."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from . import github, papers, pypi
from .base import Parsed, Row, SignalFileError

PARSERS: dict[str, Callable[[Path], Parsed]] = {
    "github-innovation-graph": github.parse,
    "pypi-snapshots": pypi.parse,
    "conference-papers": papers.conference_parse,
    "transformer-papers": papers.transformer_parse,
}
HEADERS: dict[str, list[str]] = {
    "github-innovation-graph": github.COLUMNS,
    "pypi-snapshots": pypi.COLUMNS,
    "conference-papers": papers.CONFERENCE_COLUMNS,
    "transformer-papers": papers.TRANSFORMER_COLUMNS,
}

__all__ = ["PARSERS", "Parsed", "Row", "SignalFileError", "detect"]


def detect(path: Path) -> str:
    """The format whose columns the file's header has; SignalFileError if none or unreadable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except OSError as error:
        raise SignalFileError(f"cannot open the file ({error.strerror})") from None
    except (UnicodeDecodeError, csv.Error):
        raise SignalFileError("not a UTF-8 CSV file") from None
    found = [name for name, columns in HEADERS.items() if set(columns) <= set(header)]
    if len(found) != 1:
        raise SignalFileError(
            "line 1: the header matches no known format; name one with --format "
            f"({', '.join(PARSERS)})"
        )
    return found[0]
