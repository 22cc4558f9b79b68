"""Reading a source: a CSV file, or the zip that holds it, and its header rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tqdm import tqdm

from .waves import ImporterError


def source_read(path: Path, *, rank: Callable[[str], int] | None = None) -> tuple[str, str]:
    """(member name, decoded text) of a CSV or of the zip that holds it.

    In a zip, macOS junk is skipped; `rank` orders the CSV members (lowest first; ties go
    to the largest).
    """
    if not path.is_file():
        raise ImporterError(f"{path} is not a file")
    name = path.name
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = _member(archive, rank)
            if member is None:
                raise ImporterError(f"{name} holds no CSV file")
            raw = archive.read(member)
            name = member
    else:
        raw = path.read_bytes()
        if raw.startswith(b"PK\x03\x04"):
            raise ImporterError(f"{name} is a damaged or truncated zip")
    if not raw.strip():
        raise ImporterError(f"{name} is empty")
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImporterError(f"{name} is not UTF-8 (invalid byte at offset {error.start})") from None


def zip_member_text(path: Path, member: str) -> str | None:
    """The decoded text of another member of the same zip (a schema file), if there is one."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = {Path(n).name.lower(): n for n in archive.namelist() if not n.startswith("__")}
        found = names.get(member.lower())
        return archive.read(found).decode("utf-8-sig") if found else None


def _member(archive: zipfile.ZipFile, rank: Callable[[str], int] | None) -> str | None:
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not Path(info.filename).name.startswith("._")
        and info.filename.lower().endswith(".csv")
    ]
    if not members:
        return None
    order = rank or (lambda name: 0)
    chosen = min(members, key=lambda i: (order(Path(i.filename).name.lower()), -i.file_size))
    return chosen.filename


def rows_read(
    text: str, *, header_rows: int, progress: bool = False
) -> tuple[list[list[str]], Iterator[tuple[int, list[str]]]]:
    """The header rows and an iterator of (record number, row); refuses missing headers."""
    reader = csv.reader(io.StringIO(text))
    headers: list[list[str]] = []
    try:
        for _ in range(header_rows):
            row = next(reader, None)
            if row is None:
                break
            headers.append(row)
    except csv.Error as error:
        raise ImporterError(f"not a CSV file: {error}") from None
    if len(headers) < header_rows:
        raise ImporterError(f"missing header rows: expected {header_rows}, found {len(headers)}")
    for number, header in enumerate(headers[1:], start=2):
        if len(header) != len(headers[0]):
            raise ImporterError(
                f"missing header rows: row {number} has {len(header)} columns, "
                f"row 1 has {len(headers[0])}"
            )
    total = max(text.count("\n") - header_rows, 0)

    def records() -> Iterator[tuple[int, list[str]]]:
        bar = tqdm(total=total, unit="row", desc="Reading", disable=not progress, leave=False)
        try:
            for number, row in enumerate(reader, start=header_rows + 1):
                bar.update(1)
                yield number, row
        except csv.Error as error:
            raise ImporterError(f"not a CSV file: {error}") from None
        finally:
            bar.close()

    return headers, records()
