"""A compact extract of a Kaggle responses file: the columns the importer reads, zipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..extract import extract_write
from ..importer import file_read
from ..waves import ImporterError, ImportSummary
from .layout import layout_for


def kaggle_extract(*, path: Path, target: Path, wave: str = "") -> tuple[int, int]:
    """Write the extract of a responses CSV (or its zip) to `target`; (records, columns)."""
    summary = ImportSummary(wave=wave)
    found, headers, records = file_read(layout=layout_for(wave), path=path, summary=summary)

    def checked() -> Iterator[tuple[int, list[str]]]:
        for number, row in records:
            if len(row) != found.width and any(cell.strip() for cell in row):
                raise ImporterError(
                    f"ragged row: record {number} has {len(row)} columns, "
                    f"the header has {found.width}"
                )
            yield number, row

    columns = found.columns_read()
    count = extract_write(
        target=target, member=summary.member, headers=headers, records=checked(), columns=columns
    )
    return count, len(columns)
