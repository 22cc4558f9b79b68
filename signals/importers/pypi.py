"""PyPI downloads of framework packages in the 30 days before each top-packages snapshot."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .base import Parsed, Row, SignalFileError, csv_records, whole

COLUMNS = ["commit_date", "last_update", "nrows"]
# Package names the framework taxonomy does not know as names of a framework.
PACKAGES = {"tensorflow-cpu": "tensorflow", "tensorflow-gpu": "tensorflow"}
# Dependencies and nightly builds: counting them would count one install twice.
NOT_FRAMEWORKS = {"jaxlib", "torchvision", "tf-nightly"}
WINDOW_DAYS = 30
SOURCE: dict[str, Any] = {
    "key": "pypi-downloads",
    "name": "PyPI downloads (top PyPI packages snapshots)",
    "url": "https://github.com/hugovk/top-pypi-packages",
    "licence": "Figures from PyPI's public download logs; no licence file in the collecting "
    "repository: only the figures are carried, with attribution.",
    "attribution": "PyPI download counts from the git history of hugovk/top-pypi-packages "
    "(top-pypi-packages-30-days.json / top-pypi-packages.json), by Hugo van Kemenade.",
    "unit": "downloads",
    "measures": "Downloads from PyPI in the 30 days before each snapshot.",
    "biases": "Downloads include CI runs and mirrors, not people; torch installed from "
    "PyTorch's own package index is not counted, so torch is undercounted; TensorFlow is "
    "split over tensorflow, tensorflow-cpu and tensorflow-gpu (summed here; tf-nightly, "
    "jaxlib and torchvision are not counted as frameworks); keras and jax are also pulled in "
    "as dependencies.",
    "missing_rule": "An empty figure means the package was not in that snapshot's top-N list "
    "(500 to 15,000 packages): below the list's cut-off, not zero.",
    "scope_kind": "",
    "additive": True,
}
BREAKS: list[dict[str, Any]] = [
    {
        "start": date(2018, 1, 1),
        "end": date(2018, 12, 31),
        "label": "2018: 365-day and 30-day windows mixed",
        "note": "The 2018 snapshots mix 365-day and 30-day download windows.",
    },
    {
        "start": date(2025, 7, 1),
        "end": None,
        "label": "July 2025: counted on ClickHouse, not BigQuery",
        "note": "The collection moved from BigQuery to ClickHouse (torch jumps from about 32M "
        "to 50M).",
    },
]


def _when(text: str, line: int) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise SignalFileError(f"line {line}: last_update {text[:30]!r} is not a date") from None


def parse(path: Path) -> Parsed:
    rows: list[Row] = []
    seen: set[str] = set()
    for line, record in csv_records(path, COLUMNS):
        packages = [name for name in record if name not in COLUMNS]
        if not packages:
            raise SignalFileError("line 1: no package columns after commit_date,last_update,nrows")
        period = record["last_update"].strip()
        if period in seen:
            raise SignalFileError(f"line {line}: snapshot {period} repeated")
        seen.add(period)
        end = _when(period, line).date()
        listed = whole(record["nrows"], line, "nrows")
        for package in packages:
            value = whole(record[package], line, package, blank_ok=True)
            lookup = None if package in NOT_FRAMEWORKS else PACKAGES.get(package, package)
            missing = "" if value is not None else f"not in the snapshot's top {listed:,} list"
            rows.append(
                Row(
                    period,
                    end - timedelta(days=WINDOW_DAYS),
                    end,
                    "",
                    package,
                    lookup,
                    value,
                    missing,
                )
            )
    if not rows:
        raise SignalFileError("no data rows")
    return Parsed(source=dict(SOURCE), rows=rows, breaks=[dict(b) for b in BREAKS])
