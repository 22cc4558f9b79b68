"""The import of one wave: read and check everything, then write in one transaction."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils.text import slugify

from ...curation import quality_flags_compute
from ...identity import keyed_hash
from ...models import Answer, Choice, Response
from ...services import Structure, response_import
from ...taxonomy import TaxonomyIndex, normalize, taxonomy_seed
from ..regions import region_of
from .bulk import rows_write
from .labels import _Labels, _resolver
from .layout import NUMERIC, layout_detect
from .source import rows_read, source_read
from .structure import _curation_detach, _curation_restore, _structure_create, _survey_replace
from .waves import CHANNEL, DEFAULT_LICENSE, KNOWN_WAVES, ImportSummary, KaggleImportError


def kaggle_import(
    *,
    path: Path,
    wave: str,
    series_slug: str = "ml-frameworks",
    license: str | None = None,
    attribution: str | None = None,
    source: str | None = None,
    progress: bool = False,
) -> ImportSummary:
    """Read a Kaggle responses file into the closed survey `kaggle-<wave>`, replacing it."""
    started = time.perf_counter()
    wave = wave.strip()
    if not re.fullmatch(r"[\w.-]{1,40}", wave):
        raise KaggleImportError(f"wave label {wave!r} must be 1-40 letters, digits, '.', '-'")
    summary = ImportSummary(wave=wave, survey=f"kaggle-{slugify(wave)}")
    summary.member, text = source_read(path)
    codes, texts, records = rows_read(text, progress=progress)
    layout = layout_detect(codes, texts)
    taxonomy_seed()
    index = TaxonomyIndex.load()
    keys = ["frameworks_used", *layout.singles]
    labels = {key: _Labels(key, _resolver(key, index)) for key in keys}
    parsed: list[tuple[int, dict[str, Any], int | None]] = []
    derived_students = 0
    for number, row in records:
        summary.rows_read += 1
        if len(row) != layout.width:
            if not any(cell.strip() for cell in row):
                summary.skipped["empty line"] += 1
                continue
            raise KaggleImportError(
                f"ragged row: record {number} has {len(row)} columns, the header has {layout.width}"
            )
        values: dict[str, Any] = {}
        used = [
            labels["frameworks_used"](row[i], summary)
            for i in layout.frameworks.columns
            if row[i].strip()
        ]
        used = [key for key in dict.fromkeys(used) if key]
        if used:
            values["frameworks_used"] = used
            summary.answered_frameworks += 1
            if layout.frameworks.other_text is not None:
                other = row[layout.frameworks.other_text].strip()
                if other and not NUMERIC.match(other) and "other" in used:
                    values["frameworks_used__other"] = other
        for key, (i, _text) in layout.singles.items():
            if row[i].strip():
                choice_key = labels[key](row[i], summary)
                if choice_key:
                    values[key] = choice_key
        if (
            "role" in layout.singles
            and "role" not in values
            and layout.student is not None
            and normalize(row[layout.student]) == "yes"
        ):
            # 2022 asks students "are you a student?" instead of showing them the title list.
            values["role"] = labels["role"]("Student", summary)
            derived_students += 1
        if not values:
            summary.skipped["answered none of the imported questions"] += 1
            continue
        duration = None
        if layout.duration is not None and row[layout.duration].strip().isdigit():
            duration = int(row[layout.duration])
        parsed.append((number, values, duration))
    if not parsed:
        raise KaggleImportError("no respondent answered any of the imported questions")
    if derived_students:
        summary.notes.append(
            f"role: {derived_students:,} respondents who said they are students counted as "
            "Student (this wave does not show students the title list)"
        )
    fields = {**KNOWN_WAVES.get(wave, {})}
    if license:
        fields["license"] = license
    if attribution:
        fields["attribution"] = attribution
    if source:
        fields["source"] = source
    if wave not in KNOWN_WAVES and not license:
        fields["license"] = DEFAULT_LICENSE
        summary.notes.append(f"Unknown wave {wave}: pass --license; stored {DEFAULT_LICENSE!r}")
    fields.setdefault(
        "attribution", f"Kaggle, {wave} Kaggle Machine Learning & Data Science Survey"
    )
    fields.setdefault("source", f"Kaggle Machine Learning & Data Science Survey {wave}")
    with transaction.atomic():
        survey = _survey_replace(summary=summary, series_slug=series_slug, wave=wave, **fields)
        carried = _curation_detach(survey)
        _structure_create(survey=survey, layout=layout, labels=labels)
        structure = Structure.of(survey)
        responses: list[Response] = []
        answers: list[Answer] = []
        for number, values, duration in parsed:
            if "country" in values:
                region = region_of(
                    structure.choices[
                        (structure.by_key["country"].pk, Choice.Role.OPTION, values["country"])
                    ].label
                )
                if region:
                    values["region"] = region
            response, rows = response_import(
                survey=survey,
                respondent_hash=keyed_hash(f"kaggle:{wave}:{number}", purpose="import"),
                values=values,
                channel=CHANNEL,
                source_row=str(number),
                structure=structure,
            )
            response.duration_seconds = duration
            responses.append(response)
            answers += rows
        rows_write(Response, responses, progress=progress)
        for answer in answers:
            answer.response_id = answer.response.pk
        rows_write(Answer, answers, progress=progress)
        _curation_restore(survey, carried)
        if connection.vendor == "postgresql":
            # Fresh statistics, so the flag queries and the next snapshot plan well.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Response._meta.db_table}, {Answer._meta.db_table}")
        quality_flags_compute(survey_id=survey.pk)
    summary.imported = len(responses)
    no_region = (
        Counter(
            structure.choices[
                (structure.by_key["country"].pk, Choice.Role.OPTION, v["country"])
            ].label
            for _, v, _ in parsed
            if "country" in v and "region" not in v
        )
        if "country" in structure.by_key
        else Counter()
    )
    for country, count in sorted(no_region.items()):
        summary.notes.append(f"region: {country!r} has no region ({count:,} rows)")
    summary.seconds = time.perf_counter() - started
    return summary
