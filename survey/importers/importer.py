"""One wave imported from a file by a layout: read and check everything, then write at once.

The steps: read the source (CSV or zip), find the layout's questions by text, resolve every
label through the taxonomy, then in one transaction replace the wave (curation carried
over), create its structure through `survey_create`, write responses and answers with the
one COPY writer, and recompute quality flags. A refused file changes nothing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from ..curation import quality_flags_compute
from ..identity import keyed_hash
from ..models import Answer, Response
from ..taxonomy import TaxonomyIndex, normalize, taxonomy_seed
from .labels import Labels, labels_for
from .layout import Found, Layout, layout_find
from .responses import Respondent, responses_write
from .source import rows_read, source_read, zip_member_text
from .structure import structure_write
from .waves import ImporterError, ImportSummary, curation_restore, wave_replace

NUMERIC = re.compile(r"^-?\d+$")  # a free-text cell replaced by a row index carries no text


@dataclass
class WaveInfo:
    """What is known of a wave beyond its file: where it comes from and who was asked."""

    slug: str
    title: str
    license: str
    attribution: str
    source: str
    channel: str
    universes: dict[str, str] = field(default_factory=dict)


def file_read(
    *, layout: Layout, path: Path, summary: ImportSummary, progress: bool = False
) -> tuple[Found, list[list[str]], Iterator[tuple[int, list[str]]]]:
    """The layout's columns in the file, its header rows, and an iterator of its records."""
    summary.member, text = source_read(path, rank=layout.member_rank)
    headers, records = rows_read(text, header_rows=layout.header_rows, progress=progress)
    codes = headers[0]
    if layout.schema is not None:
        schema_member, parse = layout.schema
        schema = zip_member_text(path, schema_member)
        if schema is None:
            raise ImporterError(f"no {schema_member} beside the responses: it holds the questions")
        by_code = parse(schema)
        texts = [by_code.get(code, "") for code in codes]
    else:
        texts = headers[layout.texts_row]
    return layout_find(layout, codes, texts), headers, records


def wave_import(
    *,
    layout: Layout,
    path: Path,
    wave: str,
    info: WaveInfo,
    series_slug: str,
    progress: bool = False,
) -> ImportSummary:
    """Read a file of the layout into the closed survey `info.slug`, replacing it."""
    started = time.perf_counter()
    summary = ImportSummary(wave=wave, survey=info.slug)
    found, _headers, records = file_read(
        layout=layout, path=path, summary=summary, progress=progress
    )
    taxonomy_seed()
    index = TaxonomyIndex.load()
    labels: dict[str, Labels] = {}
    for single in layout.singles:
        labels[single.key] = labels_for(
            key=single.key,
            index=index,
            taxonomy=single.taxonomy,
            not_applicable=single.not_applicable,
        )
    for multi in layout.multis:
        labels[multi.key] = labels_for(
            key=multi.key,
            index=index,
            taxonomy=multi.taxonomy,
            special=True,
            known_only=multi.known_only,
        )
    respondents = respondents_parse(found=found, records=records, labels=labels, summary=summary)
    notes, unassigned = _groupings(layout=layout, labels=labels, respondents=respondents)
    with transaction.atomic():
        survey, carried = wave_replace(
            series_slug=series_slug,
            slug=info.slug,
            wave=wave,
            title=info.title,
            fields={
                "license": info.license,
                "attribution": info.attribution,
                "source": info.source,
            },
        )
        structure = structure_write(
            survey=survey,
            layout=layout,
            found=found,
            labels=labels,
            universes=info.universes,
            notes=notes,
        )
        summary.imported = responses_write(
            survey=survey,
            structure=structure,
            respondents=respondents,
            channel=info.channel,
            respondent_hash=lambda number: keyed_hash(
                f"{info.channel.removeprefix('import:')}:{wave}:{number}", purpose="import"
            ),
        )
        curation_restore(survey, carried)
        if connection.vendor == "postgresql":
            # Fresh statistics, so the flag queries and the next snapshot plan well.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Response._meta.db_table}, {Answer._meta.db_table}")
        quality_flags_compute(survey_id=survey.pk)
    for (key, label), count in sorted(unassigned.items()):
        summary.notes.append(f"{key}: {label!r} has no {key} ({count:,} rows)")
    summary.seconds = time.perf_counter() - started
    return summary


def respondents_parse(
    *,
    found: Found,
    records: Iterator[tuple[int, list[str]]],
    labels: dict[str, Labels],
    summary: ImportSummary,
) -> list[Respondent]:
    """Each record's values by question key; refuses ragged rows, skips empty ones."""
    respondents: list[Respondent] = []
    stood_in: Counter[str] = Counter()
    for number, row in records:
        summary.rows_read += 1
        if len(row) != found.width:
            if not any(cell.strip() for cell in row):
                summary.skipped["empty line"] += 1
                continue
            raise ImporterError(
                f"ragged row: record {number} has {len(row)} columns, the header has {found.width}"
            )
        values: dict[str, Any] = {}
        for key, multi in found.multis.items():
            cells = [row[i] for i in multi.columns]
            if multi.packed:
                cells = [label for cell in cells for label in cell.split(multi.packed)]
            ticked = [cell for cell in cells if cell.strip()]
            # Whoever ticked anything answered, Other alone included.
            chosen = [k for k in dict.fromkeys(labels[key](cell, summary) for cell in ticked) if k]
            if ticked and not chosen and labels[key].known_only:
                chosen = [labels[key]("None", summary) or "none"]  # none of the kind's entities
            if chosen:
                values[key] = chosen
                summary.answered[key] += 1
                if multi.other_text is not None and "other" in chosen:
                    other = row[multi.other_text].strip()
                    if other and not NUMERIC.match(other):
                        values[f"{key}__other"] = other
        for key, (i, _text) in found.singles.items():
            if row[i].strip():
                choice_key = labels[key](row[i], summary)
                if choice_key:
                    values[key] = choice_key
        for key, (i, screen) in found.screens.items():
            if key not in values and normalize(row[i]) == normalize(screen.answer):
                values[key] = labels[key](screen.label, summary)
                stood_in[key] += 1
        if not values:
            summary.skipped["answered none of the imported questions"] += 1
            continue
        duration = None
        if found.duration is not None and row[found.duration].strip().isdigit():
            duration = int(row[found.duration])
        respondents.append(Respondent(number=number, values=values, duration=duration))
    if not respondents:
        raise ImporterError("no respondent answered any of the imported questions")
    for key, (_i, screen) in found.screens.items():
        if stood_in[key]:
            summary.notes.append(f"{key}: " + screen.note.format(n=f"{stood_in[key]:,}"))
    return respondents


def _groupings(
    *, layout: Layout, labels: dict[str, Labels], respondents: list[Respondent]
) -> tuple[dict[str, str], Counter[tuple[str, str]]]:
    """Derive grouped answers (region from country); what falls in no group is reported."""
    notes: dict[str, str] = {}
    unassigned: Counter[tuple[str, str]] = Counter()
    for grouping in layout.groupings:
        source = labels.get(grouping.source)
        if source is None:
            continue
        group_of = {key: grouping.group(label) for key, (label, _o, _r) in source.choices.items()}
        for respondent in respondents:
            chosen = respondent.values.get(grouping.source)
            if chosen is None:
                continue
            group = group_of.get(chosen)
            if group:
                respondent.values[grouping.key] = group
            else:
                unassigned[(grouping.key, source.choices[chosen][0])] += 1
        missing = sorted({label for (_key, label) in unassigned if _key == grouping.key})
        if missing:
            # Labels only, never counts: help texts are published, and a count here would
            # escape the disclosure control.
            notes[grouping.key] = (
                f"Answers of {grouping.source} with no {grouping.key}, so not counted in "
                f"any {grouping.key}: " + "; ".join(missing) + "."
            )
    return notes, unassigned
