"""Compact extracts: only the columns an importer reads, both header rows kept, zipped.

An extract keeps every record in its original order, so record numbers (and the respondent
hashes made from them) are those of the full file: importing the extract or the full file
gives the same responses, and curation carries over between the two.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

# A fixed timestamp, so that rebuilding an extract from the same file gives the same bytes.
_STAMP = (2020, 1, 1, 0, 0, 0)


def extract_write(
    *,
    target: Path,
    member: str,
    headers: list[list[str]],
    records: Iterable[tuple[int, list[str]]],
    columns: list[int],
) -> int:
    """Write the chosen columns of the header rows and records into a zip; returns records."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for header in headers:
        writer.writerow([header[i] for i in columns])
    count = 0
    for _number, row in records:
        writer.writerow([row[i] if i < len(row) else "" for i in columns])
        count += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    info = zipfile.ZipInfo(Path(member).name, date_time=_STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(info, out.getvalue().encode("utf-8"), compresslevel=9)
    return count
