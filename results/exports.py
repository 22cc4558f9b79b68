"""CSV exports: rows from generators, one writer, streamed, safe to open in a spreadsheet.

The writer neutralizes anything a spreadsheet would run as a formula: a text value starting
with = + - @ | % tab or carriage return gets a leading apostrophe (as defusedcsv does, plus
tab and CR, which defusedcsv lets through). Numbers stay numbers, so a negative change is
still -0.05.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

from signals.selectors import signal_sources

from .disclosure.columns import COLUMNS, PUBLIC_COLUMNS
from .models import Cell, Snapshot
from .selectors import FLAG_MEANINGS, snapshot_cell_rows, summary_questions, summary_waves

FORMULA_STARTS = ("=", "+", "-", "@", "|", "%", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?[0-9][0-9,.]*$")
BATCH = 500

CELL_COLUMNS = list(PUBLIC_COLUMNS)
CODEBOOK_COLUMNS = [
    "record",
    "wave",
    "question",
    "kind",
    "role",
    "key",
    "text",
    "is_dimension",
    "group",
    "published",
    "source",
    "license",
    "attribution",
    "fielded_from",
    "fielded_to",
    "n",
    "synthetic",
]
SYNTHETIC_NOTE = (
    "Synthetic demo data: generated responses that describe no real people. "
    "Do not cite these numbers as findings."
)


def safe_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _safe_row(row: Sequence[Any]) -> list[Any]:
    """safe_value of every value, with the common types (numbers, None, plain text) inline."""
    out = []
    for value in row:
        kind = type(value)
        if kind is float or kind is int:
            out.append(value)
        elif value is None:
            out.append("")
        elif kind is str:
            if value[:1] in FORMULA_START_SET and not PLAIN_NUMBER.match(value):
                value = "'" + value
            out.append(value)
        else:
            out.append(safe_value(value))
    return out


FORMULA_START_SET = frozenset(FORMULA_STARTS)


def csv_lines(fieldnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header and the rows as CSV text, BATCH rows per chunk, written by the C writer's
    writerows into one buffer per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_value(name) for name in fieldnames])
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    rows = iter(rows)
    while True:
        batch = list(map(_safe_row, itertools.islice(rows, BATCH)))
        if batch:
            writer.writerows(batch)
        chunk = buffer.getvalue()
        if chunk:
            yield chunk
        if len(batch) < BATCH:
            return
        buffer.seek(0)
        buffer.truncate()


def csv_response(
    filename: str,
    fieldnames: Sequence[str],
    rows: Iterable[Sequence[Any]],
    headers: dict[str, str] | None = None,
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in csv_lines(fieldnames, rows)),
        content_type="text/csv; charset=utf-8; header=present",
        headers=headers,
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def break_text(found: dict[str, Any]) -> str:
    """A break in words: what changed between which waves, so no change is computed."""
    waves = f"between {found.get('previous_wave')} and {found.get('wave')}"
    if found.get("kind") == "universe":
        everyone = "everyone who reached the question"
        return (
            f"Who was asked changed {waves}: from "
            f"{(found.get('previous_universe') or everyone).rstrip('.')} "
            f"to {(found.get('universe') or everyone).rstrip('.')}. Changes across it are flagged "
            "universe-break and never computed."
        )
    return f"The wording changed {waves}. Changes across it are flagged wording-break."


def cell_rows(snapshot: Snapshot) -> Iterator[list[Any]]:
    slug = snapshot.series.slug
    series = (snapshot.summary or {}).get("series") or {}
    synthetic = bool(series.get("is_synthetic", snapshot.series.is_synthetic))
    for cell in snapshot_cell_rows(snapshot):
        cell["series"] = slug
        cell["synthetic"] = synthetic  # every row says so, not only the file name
        yield [cell[name] for name in CELL_COLUMNS]


def codebook_rows(snapshot: Snapshot) -> Iterator[list[Any]]:
    """Series, sources, questions and choices per wave, measures, flags and CSV columns."""
    summary = snapshot.summary or {}
    series = summary.get("series") or {}
    synthetic = bool(series.get("is_synthetic", snapshot.series.is_synthetic))

    def row(record: str, **values: Any) -> list[Any]:
        values.setdefault("synthetic", synthetic)  # every row says so, not only the file name
        return [record if name == "record" else values.get(name) for name in CODEBOOK_COLUMNS]

    yield row(
        "series",
        key=snapshot.series.slug,
        text=SYNTHETIC_NOTE if synthetic else snapshot.series.title,
        synthetic=synthetic,
    )
    for wave in summary_waves(summary):
        yield row(
            "source",
            wave=wave["label"],
            key=wave.get("survey"),
            text=wave.get("title"),
            source=wave.get("source"),
            license=wave.get("license"),
            attribution=wave.get("attribution"),
            fielded_from=wave.get("fielded_from"),
            fielded_to=wave.get("fielded_to"),
            n=wave.get("n"),
            synthetic=bool(wave.get("is_synthetic", synthetic)),
        )
    # Outside signals shown beside the survey: published aggregates from elsewhere.
    for signal in signal_sources():
        yield row(
            "signal",
            key=signal.key,
            text=f"{signal.name}. Unit: {signal.unit}. {signal.measures}",
            source=signal.url,
            license=signal.licence,
            attribution=signal.attribution,
        )
    for question in summary_questions(summary):
        key, kind = question["key"], question.get("kind", "")
        common = {
            "question": key,
            "kind": kind,
            "is_dimension": bool(question.get("is_dimension", False)),
            "published": bool(question.get("published", True)),
        }
        for wave, asked in (question.get("waves") or {}).items():
            asked = asked or {}
            yield row("question", wave=wave, key=key, text=asked.get("text"), **common)
            if asked.get("universe"):
                # Who was asked, when not everyone who reached the question.
                yield row("universe", wave=wave, key=key, text=asked["universe"], **common)
            role = "row" if kind == "matrix" else "option"
            coarser = asked.get("grouped_into") or ""
            for choice_key, label, *group in asked.get("choices") or []:
                # A finer question's choice names the coarser one it adds up into.
                into = f"{coarser}:{group[0]}" if coarser and group and group[0] else ""
                yield row("choice", wave=wave, role=role, key=choice_key, text=label,
                          group=into, **common)  # fmt: skip
            for column_key, label in asked.get("columns") or []:
                yield row("choice", wave=wave, role="column", key=column_key, text=label, **common)
    for found in summary.get("breaks") or []:
        if isinstance(found, dict):
            yield row(
                "break",
                wave=found.get("wave"),
                question=found.get("question"),
                key=found.get("kind") or "wording",
                text=break_text(found),
            )
    for measure in Cell.Measure:
        yield row("measure", key=measure.value, text=measure.label)
    for flag, meaning in FLAG_MEANINGS.items():
        if flag:
            yield row("flag", key=flag, text=meaning)
    for name in CELL_COLUMNS:
        yield row("column", key=name, text=COLUMNS[name].meaning)
