"""Reading the responses CSV, or the zip that holds it, and its header rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from .layout import FRAMEWORK_PATTERN
from .waves import KaggleImportError


def source_read(path: Path) -> tuple[str, str]:
    """(member name, decoded text) of a responses CSV or of the zip that holds it."""
    if not path.is_file():
        raise KaggleImportError(f"{path} is not a file")
    name = path.name
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = _responses_member(archive)
            if member is None:
                raise KaggleImportError(f"{name} holds no CSV file")
            raw = archive.read(member)
            name = member
    else:
        raw = path.read_bytes()
        if raw.startswith(b"PK\x03\x04"):
            raise KaggleImportError(f"{name} is a damaged or truncated zip")
    if not raw.strip():
        raise KaggleImportError(f"{name} is empty")
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise KaggleImportError(
            f"{name} is not UTF-8 (invalid byte at offset {error.start})"
        ) from None


def _responses_member(archive: zipfile.ZipFile) -> str | None:
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

    def rank(info: zipfile.ZipInfo) -> tuple[int, int]:
        lower = Path(info.filename).name.lower()
        preferred = "multiplechoice" in lower or ("response" in lower and "free" not in lower)
        return (0 if preferred else 1, -info.file_size)

    return min(members, key=rank).filename


def rows_read(
    text: str, *, progress: bool = False
) -> tuple[list[str], list[str], Iterable[tuple[int, list[str]]]]:
    """Header rows and an iterator of (record number, row); refuses a missing header."""
    reader = csv.reader(io.StringIO(text))
    try:
        codes = next(reader, None)
        texts = next(reader, None)
    except csv.Error as error:
        raise KaggleImportError(f"not a CSV file: {error}") from None
    if codes is None or texts is None:
        raise KaggleImportError("missing header rows: expected column codes, then question texts")
    if len(texts) != len(codes):
        raise KaggleImportError(
            f"missing header rows: row 2 has {len(texts)} columns, row 1 has {len(codes)}"
        )
    if not any(FRAMEWORK_PATTERN.search(t) for t in texts) and any(
        FRAMEWORK_PATTERN.search(c) for c in codes
    ):
        raise KaggleImportError("missing header rows: row 1 holds question texts, not column codes")
    total = max(text.count("\n") - 2, 0)

    def records() -> Iterable[tuple[int, list[str]]]:
        bar = tqdm(total=total, unit="row", desc="Reading", disable=not progress, leave=False)
        try:
            for number, row in enumerate(reader, start=3):
                bar.update(1)
                yield number, row
        except csv.Error as error:
            raise KaggleImportError(f"not a CSV file: {error}") from None
        finally:
            bar.close()

    return codes, texts, records()
