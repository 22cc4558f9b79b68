"""Import a wave of the Kaggle Machine Learning & Data Science Survey (2018-2022 layouts).

The responses CSV has column codes in row 1 and question texts in row 2; codes change every
wave, texts barely do, so questions are found by text patterns. Labels go through the
taxonomy; a label it does not know becomes a choice marked for review. Everything is read
and checked before anything is written, and the write is one transaction.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils.text import slugify
from tqdm import tqdm

from .. import census
from ..curation import quality_flags_compute
from ..identity import keyed_hash
from ..models import Answer, Choice, CurationLog, Page, Question, Response, Series, Survey
from ..services import Structure, response_import
from ..taxonomy import DEFAULT_TAXONOMY, TaxonomyIndex, normalize, taxonomy_seed
from .regions import region_of

CHANNEL = "import:kaggle"

# What is known of each published wave; other waves take the command's options.
KNOWN_WAVES: dict[str, dict[str, str]] = {
    "2018": {
        "license": "CC BY-SA 4.0",
        "attribution": "Kaggle, 2018 Kaggle ML & DS Survey",
        "source": "Kaggle ML & DS Survey 2018 (kaggle.com/kaggle/kaggle-survey-2018)",
    },
    "2022": {
        "license": "CC BY 2.0",
        "attribution": "Kaggle, 2022 Kaggle Machine Learning & Data Science Survey",
        "source": "Kaggle Machine Learning & Data Science Survey 2022 "
        "(kaggle.com/competitions/kaggle-survey-2022)",
    },
}
DEFAULT_LICENSE = "Unknown: check the license on the Kaggle dataset page before publishing"


class KaggleImportError(Exception):
    """A file the importer refuses; the message is one line naming the problem."""


# Single-choice questions: series key -> text patterns (lowercase), first match wins.
SINGLE_PATTERNS: dict[str, tuple[str, ...]] = {
    "role": ("title most similar to your current role", "current job title", "current role"),
    "company_size": ("size of the company", "how many employees", "number of employees"),
    "industry": ("in what industry", "which industry", "industry"),
    "country": ("which country", "country"),
    "ml_experience": (
        "years have you used machine learning methods",
        "years have you been using machine learning",
    ),
}
FRAMEWORK_PATTERN = re.compile(r"machine learning frameworks|\bml frameworks\b", re.I)
# A framework question about the future is another question ("hope to become familiar").
FUTURE_PATTERN = re.compile(r"next 2 years|hope to|familiar with", re.I)
STUDENT_PATTERN = re.compile(r"are you currently a student", re.I)
DURATION_PATTERN = re.compile(r"duration|time from start to finish", re.I)
SELECTED = re.compile(r"\s+-\s+Selected Choice(?:\s+-\s+|$)", re.I)
TEXT_COLUMN = re.compile(r"-\s*(?:other(?:\s+\w+)?\s*-\s*)?text\s*$", re.I)
# Kaggle 2018 replaced free texts by row indices in this file; such cells carry no text.
NUMERIC = re.compile(r"^-?\d+$")

QUESTION_KINDS = {
    "role": "role",
    "company_size": "company-size",
    "industry": "industry",
    "ml_experience": "ml-experience",
}
# Labels that say the question does not apply: treated as not asked, counted in the summary.
NOT_APPLICABLE = {"industry": {normalize("I am a student")}}
DIMENSIONS = {"role", "company_size", "industry", "region", "ml_experience"}
QUESTION_ORDER = ["role", "company_size", "industry", "country", "region", "ml_experience"]


@dataclass
class Multi:
    text: str
    columns: list[int]
    other_text: int | None = None


@dataclass
class Layout:
    width: int
    frameworks: Multi
    singles: dict[str, tuple[int, str]]
    duration: int | None = None
    student: int | None = None


@dataclass
class ImportSummary:
    wave: str
    survey: str = ""
    member: str = ""
    rows_read: int = 0
    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_applicable: Counter[tuple[str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    answered_frameworks: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"Wave {self.wave} -> survey {self.survey} (from {self.member})",
            f"Rows read: {self.rows_read:,}; imported: {self.imported:,}; answered the "
            f"framework question: {self.answered_frameworks:,}; {self.seconds:.1f} s",
        ]
        for reason, count in sorted(self.skipped.items()):
            out.append(f"Skipped {count:,} rows: {reason}")
        for (key, label), count in sorted(self.not_applicable.items()):
            out.append(f"{key}: {label!r} treated as not asked ({count:,} rows)")
        if self.unmapped:
            out.append("Labels the taxonomy does not know (kept as choices to review):")
            for (key, label), count in sorted(self.unmapped.items()):
                out.append(f"  {key}: {label!r} ({count:,} answers)")
        out += self.notes
        return out


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


def question_text(text: str) -> str:
    """The question as asked, without Kaggle's "- Selected Choice" and "(Select all...)"."""
    base = SELECTED.split(text, maxsplit=1)[0]
    base = re.sub(r"\(\s*select all that apply\s*\)\s*:?", "", base, flags=re.I)
    return " ".join(base.split()).rstrip(" :-")


def layout_detect(codes: list[str], texts: list[str]) -> Layout:
    """Find the questions the series knows among the columns, by their text."""
    width = len(codes)
    text_columns = {
        i
        for i, (c, t) in enumerate(zip(codes, texts, strict=True))
        if TEXT_COLUMN.search(t.strip()) or c.upper().endswith(("_TEXT", "_OTHER"))
    }
    groups: dict[str, list[int]] = {}
    other_text: dict[str, int] = {}
    for i, text in enumerate(texts):
        if not FRAMEWORK_PATTERN.search(text) or FUTURE_PATTERN.search(text):
            continue
        base = question_text(re.split(r"\s+-\s+Other\s+-\s+Text", text, flags=re.I)[0])
        if i in text_columns:
            other_text.setdefault(base, i)
        elif SELECTED.search(text) or "select all" in text.lower():
            groups.setdefault(base, []).append(i)
    if not groups:
        raise KaggleImportError(
            "unknown layout: no question about machine learning frameworks in row 2"
        )
    base, columns = next(iter(groups.items()))
    frameworks = Multi(text=base, columns=columns, other_text=other_text.get(base))
    taken = set(columns)
    singles: dict[str, tuple[int, str]] = {}
    for key, patterns in SINGLE_PATTERNS.items():
        for pattern in patterns:
            found = next(
                (
                    i
                    for i, t in enumerate(texts)
                    if i not in text_columns
                    and i not in taken
                    and pattern in t.lower()
                    and "select all" not in t.lower()
                ),
                None,
            )
            if found is not None:
                singles[key] = (found, question_text(texts[found]))
                taken.add(found)
                break
    duration = next((i for i, t in enumerate(texts) if DURATION_PATTERN.search(t)), None)
    student = next((i for i, t in enumerate(texts) if STUDENT_PATTERN.search(t)), None)
    return Layout(
        width=width, frameworks=frameworks, singles=singles, duration=duration, student=student
    )


class _Labels:
    """Label -> choice key for one question, remembering what it could not map."""

    def __init__(self, key: str, resolve: Callable[[str], tuple[str, str, bool] | None]) -> None:
        self.key = key
        self.resolve = resolve
        self.cache: dict[str, str | None] = {}
        self.choices: dict[str, tuple[str, bool, bool]] = {}  # key -> (label, other, review)

    def __call__(self, label: str, summary: ImportSummary) -> str | None:
        clean = " ".join(label.split())
        if clean in self.cache:
            choice_key = self.cache[clean]
        else:
            resolved = self.resolve(clean)
            if resolved is None:
                choice_key = None
            else:
                choice_key, choice_label, is_other = resolved
                if choice_key == "":  # unknown label: kept for review
                    choice_key = self._review_key(clean)
                    self.choices.setdefault(choice_key, (clean, False, True))
                else:
                    self.choices.setdefault(choice_key, (choice_label, is_other, False))
            self.cache[clean] = choice_key
        if choice_key is None:
            summary.not_applicable[(self.key, clean)] += 1
        elif self.choices[choice_key][2]:
            summary.unmapped[(self.key, clean)] += 1
        return choice_key

    def _review_key(self, label: str) -> str:
        base = slugify(label)[:70] or "label"
        key, n = base, 1
        while key in self.choices:
            n += 1
            key = f"{base}-{n}"
        return key


def _resolver(key: str, index: TaxonomyIndex) -> Callable[[str], tuple[str, str, bool] | None]:
    kind = QUESTION_KINDS.get(key, "framework" if key == "frameworks_used" else None)
    not_applicable = NOT_APPLICABLE.get(key, set())

    def resolve(label: str) -> tuple[str, str, bool] | None:
        norm = normalize(label)
        if norm in not_applicable:
            return None
        if key == "frameworks_used" and norm in {"none", "other"}:
            return (norm, label.capitalize(), norm == "other")
        if key == "country":
            return (slugify(label)[:80] or "unknown", label, False)
        entity = index.lookup(kind, label) if kind else None
        if entity is None:
            return ("", label, False)
        return (entity.key, entity.name, False)

    return resolve


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


def _survey_replace(
    *, summary: ImportSummary, series_slug: str, wave: str, **fields: str
) -> Survey:
    series_defaults = {"title": series_slug}
    if series_slug == census.CENSUS_SPEC["series"]["slug"]:
        series_defaults = {
            "title": census.CENSUS_SPEC["series"]["title"],
            "description": census.CENSUS_SPEC["series"]["description"],
        }
    series, _ = Series.objects.get_or_create(slug=series_slug, defaults=series_defaults)
    clash = (
        Survey.objects.filter(series=series, wave_label=wave).exclude(slug=summary.survey).first()
    )
    if clash is not None:
        raise KaggleImportError(
            f"wave {wave} of {series_slug} is the survey {clash.slug}, not a Kaggle import"
        )
    elsewhere = (
        Survey.objects.filter(slug=summary.survey).exclude(series=series).select_related("series")
    ).first()
    if elsewhere is not None:
        # The wave's survey slug is global: importing it here would move it out of its series.
        raise KaggleImportError(
            f"wave {wave} is already imported into the series {elsewhere.series.slug}"
            f" (survey {elsewhere.slug}); import it with --series {elsewhere.series.slug}"
        )
    survey, _ = Survey.objects.select_for_update().get_or_create(
        slug=summary.survey,
        defaults={"series": series, "wave_label": wave, "title": ""},
    )
    survey.series = series
    survey.wave_label = wave
    survey.title = f"Kaggle ML & DS Survey {wave}"
    survey.status = Survey.Status.CLOSED
    survey.is_synthetic = False
    survey.license = fields["license"][:200]
    survey.attribution = fields["attribution"][:300]
    survey.source = fields["source"][:200]
    survey.save()
    return survey


@dataclass
class _Carried:
    """Curation decisions of a wave's previous import, by respondent hash."""

    decisions: dict[str, dict[str, Any]]
    logs: dict[str, list[int]]


def _curation_detach(survey: Survey) -> _Carried:
    """Drop the wave's previous rows, keeping curation decisions and logs to re-attach."""
    decisions = {
        row.pop("respondent_hash"): row
        for row in Response.objects.filter(
            survey=survey, curation=Response.Curation.EXCLUDED
        ).values("respondent_hash", "curation", "exclusion_reason", "curated_by", "curated_at")
    }
    logs: dict[str, list[int]] = {}
    for pk, respondent in CurationLog.objects.filter(response__survey=survey).values_list(
        "pk", "response__respondent_hash"
    ):
        logs.setdefault(respondent, []).append(pk)
    CurationLog.objects.filter(response__survey=survey).update(response=None)
    Answer.objects.filter(response__survey=survey).delete()
    Response.objects.filter(survey=survey).delete()
    survey.pages.all().delete()
    return _Carried(decisions=decisions, logs=logs)


def _curation_restore(survey: Survey, carried: _Carried) -> None:
    if not carried.decisions and not carried.logs:
        return
    ids = dict(
        Response.objects.filter(
            survey=survey, respondent_hash__in=[*carried.decisions, *carried.logs]
        ).values_list("respondent_hash", "pk")
    )
    for respondent, decision in carried.decisions.items():
        if respondent in ids:
            decision["curated_by_id"] = decision.pop("curated_by")
            Response.objects.filter(pk=ids[respondent]).update(**decision)
    for respondent, log_ids in carried.logs.items():
        if respondent in ids:
            CurationLog.objects.filter(pk__in=log_ids).update(response_id=ids[respondent])


def _structure_create(*, survey: Survey, layout: Layout, labels: dict[str, _Labels]) -> None:
    page = Page.objects.create(survey=survey, position=1, title="About you and your frameworks")
    position = 0
    order = {
        kind: {spec[0]: n for n, spec in enumerate(specs)}
        for kind, specs in DEFAULT_TAXONOMY.items()
    }

    def add(key: str, text: str, kind: str, choices: dict[str, tuple[str, bool, bool]]) -> None:
        nonlocal position
        position += 1
        question = Question.objects.create(
            survey=survey,
            page=page,
            position=position,
            key=key,
            kind=kind,
            text=text,
            is_dimension=key in DIMENSIONS,
            has_other=any(other for _label, other, _review in choices.values()),
            help_text=(
                "Derived from the country answer, grouped into the Census regions."
                if key == "region"
                else ""
            ),
        )
        entity_order = order.get(QUESTION_KINDS.get(key, "framework"), {})

        def rank(item: tuple[str, tuple[str, bool, bool]]) -> tuple[int, int, str]:
            choice_key, (label, other, review) = item
            special = {"none": 1, "other": 2}.get(choice_key, 0) if key == "frameworks_used" else 0
            return (special or (3 if review else 0), entity_order.get(choice_key, 999), label)

        Choice.objects.bulk_create(
            Choice(
                question=question,
                key=choice_key,
                label=label[:300],
                position=n,
                is_other=other,
                needs_review=review,
            )
            for n, (choice_key, (label, other, review)) in enumerate(
                sorted(choices.items(), key=rank), start=1
            )
        )

    for key in QUESTION_ORDER:
        if key == "region":
            if "country" in layout.singles:
                add(
                    "region",
                    layout.singles["country"][1],
                    Question.Kind.SINGLE,
                    {k: (label, False, False) for k, label in census.REGIONS},
                )
            continue
        if key in layout.singles:
            add(key, layout.singles[key][1], Question.Kind.SINGLE, labels[key].choices)
    add(
        "frameworks_used",
        layout.frameworks.text,
        Question.Kind.MULTI,
        labels["frameworks_used"].choices,
    )


def rows_write(model: type[Any], objects: list[Any], *, progress: bool = False) -> None:
    """Insert rows in bulk, primary keys set on the objects: COPY on PostgreSQL (14x faster
    than INSERTs here), bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=2000)
        return
    meta = model._meta
    table = meta.db_table
    quote = connection.ops.quote_name
    fields = list(meta.concrete_fields)
    with connection.cursor() as cursor:
        if objects and objects[0].pk is None:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, meta.pk.column, len(objects)],
            )
            for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
                obj.pk = pk
        for obj in objects:
            for f in fields:
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    f.pre_save(obj, add=True)
        names = ", ".join(quote(f.column) for f in fields)
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for obj in tqdm(
                objects,
                unit="row",
                desc=f"Writing {meta.model_name}s",
                disable=not progress,
                leave=False,
            ):
                copy.write_row(
                    [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
                )
