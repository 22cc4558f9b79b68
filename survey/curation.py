"""Curation: exclude and restore responses, quality flags, "other" texts and company names.

Flags only suggest; an admin decides, and every decision is a `CurationLog` row.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify
from rapidfuzz import fuzz, process

from .models import Answer, CurationLog, Entity, Question, Response
from .taxonomy import (
    QUESTION_KINDS,
    TaxonomyConflictError,
    TaxonomyIndex,
    alias_add,
    name_owner,
    normalize,
    taxonomy_apply,
    taxonomy_version_create,
)

TOO_FAST = "too-fast"
STRAIGHT_LINING = "straight-lining"
DUPLICATE_RESPONDENT = "duplicate-respondent"
NEAR_DUPLICATE = "near-duplicate"
FLAGS = [TOO_FAST, STRAIGHT_LINING, DUPLICATE_RESPONDENT, NEAR_DUPLICATE]

# Reading and answering a closed question takes a person a few seconds at the least.
SECONDS_PER_QUESTION = 3
# Straight-lining: one column on at least this share of a matrix with this many rows answered.
STRAIGHT_MIN_ROWS = 5
STRAIGHT_SHARE = 0.9
# Near-duplicates: the same answer to more than this share of the questions, among responses
# that answered enough questions for likeness to mean something. With fewer (the Kaggle
# imports keep 7 questions) typical respondents (student, India, scikit-learn) look alike
# without being copies: on the 2022 wave a 75% rule flagged a fifth of everyone.
NEAR_DUPLICATE_SHARE = 0.75
NEAR_DUPLICATE_MIN_QUESTIONS = 8

COMPANY_KIND = "company"
COMPANY_QUESTION = "company_name"


class CurationError(Exception):
    pass


def response_exclude(*, response_ids: list[int], reason: str, user: Any) -> int:
    """Exclude responses from reports with a reason (the rule the report lists)."""
    return _curate(
        response_ids=response_ids,
        reason=reason,
        user=user,
        curation=Response.Curation.EXCLUDED,
        action=CurationLog.Action.EXCLUDE,
    )


def response_restore(*, response_ids: list[int], reason: str, user: Any) -> int:
    """Accept excluded responses again, saying why."""
    return _curate(
        response_ids=response_ids,
        reason=reason,
        user=user,
        curation=Response.Curation.ACCEPTED,
        action=CurationLog.Action.RESTORE,
    )


def _curate(*, response_ids: list[int], reason: str, user: Any, curation: str, action: str) -> int:
    reason = " ".join(str(reason).split())[:300]
    if not reason:
        raise CurationError("A reason is required.")
    now = timezone.now()
    user = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        ids = list(
            Response.objects.select_for_update()
            .filter(pk__in=response_ids)
            .exclude(curation=curation)
            .values_list("pk", flat=True)
        )
        Response.objects.filter(pk__in=ids).update(
            curation=curation,
            exclusion_reason=reason if curation == Response.Curation.EXCLUDED else "",
            curated_by=user,
            curated_at=now,
        )
        CurationLog.objects.bulk_create(
            CurationLog(response_id=pk, action=action, reason=reason, user=user, at=now)
            for pk in ids
        )
    return len(ids)


def exclusions_by_reason(*, survey_ids: list[int]) -> dict[str, int]:
    """Excluded complete responses per reason: the report's "exclusions by rule"."""
    rows = (
        Response.objects.complete()
        .filter(survey_id__in=survey_ids, curation=Response.Curation.EXCLUDED)
        .values("exclusion_reason")
        .annotate(n=Count("id"))
    )
    return {row["exclusion_reason"]: row["n"] for row in rows}


def quality_flags_compute(*, survey_id: int) -> Counter[str]:
    """Recompute the quality flags of every complete response of a survey; counts per flag."""
    flags: dict[int, set[str]] = defaultdict(set)
    responses = Response.objects.complete().filter(survey_id=survey_id)
    answers = Answer.objects.filter(response__survey_id=survey_id, response__status="complete")

    durations = dict(responses.exclude(duration_seconds=None).values_list("pk", "duration_seconds"))
    if durations:
        answered = answers.values("response_id").annotate(n=Count("question_id", distinct=True))
        for row in answered:
            seconds = durations.get(row["response_id"])
            if seconds is not None and seconds < SECONDS_PER_QUESTION * row["n"]:
                flags[row["response_id"]].add(TOO_FAST)

    matrix: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row in (
        answers.filter(question__kind=Question.Kind.MATRIX, column__isnull=False)
        .values("response_id", "question_id", "column_id")
        .annotate(n=Count("id"))
    ):
        matrix[(row["response_id"], row["question_id"])].append(row["n"])
    for (response_id, _question), counts in matrix.items():
        total = sum(counts)
        if total >= STRAIGHT_MIN_ROWS and max(counts) >= STRAIGHT_SHARE * total:
            flags[response_id].add(STRAIGHT_LINING)

    # One response per respondent hash is a database constraint; a shared network is not.
    by_ip = dict(responses.exclude(ip_hash="").values_list("pk", "ip_hash"))
    shared = {ip for ip, n in Counter(by_ip.values()).items() if n > 1}
    for pk, ip in by_ip.items():
        if ip in shared:
            flags[pk].add(DUPLICATE_RESPONDENT)

    rows: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for response_id, question_id, *value in answers.exclude(
        question__kind=Question.Kind.TEXT
    ).values_list("response_id", "question_id", "choice_id", "column_id", "value_number"):
        rows[(response_id, question_id)].append(tuple(value))
    by_response: dict[int, dict[int, Any]] = defaultdict(dict)
    for (response_id, question_id), values in rows.items():
        by_response[response_id][question_id] = tuple(sorted(values, key=str))
    for pk in near_duplicates(by_response):
        flags[pk].add(NEAR_DUPLICATE)

    with transaction.atomic():
        # Flags raised elsewhere (such as an identical API body) stay; these are recomputed.
        kept = {
            pk: [f for f in names if f not in FLAGS]
            for pk, names in responses.exclude(quality_flags=[]).values_list("pk", "quality_flags")
        }
        responses.exclude(quality_flags=[]).update(quality_flags=[])
        by_set: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for pk in set(flags) | {pk for pk, names in kept.items() if names}:
            names = flags.get(pk, set())
            by_set[(*(f for f in FLAGS if f in names), *kept.get(pk, []))].append(pk)
        for flag_set, ids in by_set.items():
            Response.objects.filter(pk__in=ids).update(quality_flags=list(flag_set))
    companies_normalize(survey_id=survey_id)
    return Counter(name for names in flags.values() for name in names)


def near_duplicates(
    answers: dict[int, dict[int, Any]],
    *,
    share: float = NEAR_DUPLICATE_SHARE,
    min_questions: int = NEAR_DUPLICATE_MIN_QUESTIONS,
) -> set[int]:
    """Responses that give the same answer as another to more than `share` of the questions
    either of them answered. answers: response id -> {question id: hashable answer}.

    Exact, without comparing all pairs: two such responses differ on fewer than
    share_of_rest * Q of the Q questions, so splitting the questions into that many plus one
    blocks, they agree on a whole block (pigeonhole). Only responses sharing a block's
    answers are compared, with numpy.
    """
    keep = [pk for pk, row in answers.items() if len(row) >= min_questions]
    if len(keep) < 2:
        return set()
    questions = sorted({q for pk in keep for q in answers[pk]})
    column = {q: i for i, q in enumerate(questions)}
    codes: dict[Any, int] = {}
    matrix = np.zeros((len(keep), len(questions)), dtype=np.int64)  # 0: not answered
    for r, pk in enumerate(keep):
        for q, value in answers[pk].items():
            matrix[r, column[q]] = codes.setdefault((q, value), len(codes) + 1)
    width = len(questions)
    blocks = int((1 - share) * width) + 1
    found: set[int] = set()
    checked: set[tuple[int, int]] = set()
    for part in np.array_split(np.arange(width), blocks):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for r, key in enumerate(matrix[:, part]):
            buckets[key.tobytes()].append(r)
        for rows in buckets.values():
            if len(rows) < 2:
                continue
            sub = matrix[rows]
            answered = sub != 0
            same = ((sub[:, None, :] == sub[None, :, :]) & answered[:, None, :]).sum(2)
            either = (answered[:, None, :] | answered[None, :, :]).sum(2)
            hits = np.argwhere(np.triu(same > share * either, k=1))
            for a, b in hits:
                pair = (rows[a], rows[b])
                if pair not in checked:
                    checked.add(pair)
                    found.update((keep[rows[a]], keep[rows[b]]))
    return found


# Legal forms dropped when comparing company names ("Acme Inc." is "ACME").
_LEGAL = re.compile(
    r"\b(inc|incorporated|ltd|limited|llc|llp|gmbh|ag|sa|sas|srl|bv|nv|plc|corp|corporation|"
    r"co|company|pvt|private|pte|oy|ab|as|kk)\b"
)


def company_normalize(text: str) -> str:
    """A company name as compared and counted: case, accents, punctuation and legal form off."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9&+ ]+", " ", text.casefold())
    text = _LEGAL.sub(" ", text)
    return " ".join(text.split())[:200]


def companies_normalize(*, survey_id: int | None = None) -> int:
    """Set Response.company_normalized from company-name answers (approved aliases first)."""
    index = TaxonomyIndex.load()
    answers = Answer.objects.filter(question__key=COMPANY_QUESTION).exclude(value_text="")
    if survey_id is not None:
        answers = answers.filter(response__survey_id=survey_id)
    by_value: dict[str, list[int]] = defaultdict(list)
    for response_id, text in answers.values_list("response_id", "value_text"):
        entity = index.lookup(COMPANY_KIND, text)
        value = entity.name if entity else company_normalize(text)
        by_value[company_normalize(value)].append(response_id)
    changed = 0
    with transaction.atomic():
        for value, ids in by_value.items():
            changed += (
                Response.objects.filter(pk__in=ids)
                .exclude(company_normalized=value)
                .update(company_normalized=value)
            )
    return changed


def company_counts(*, survey_id: int | None = None) -> list[dict[str, Any]]:
    """Accepted responses per normalized company, largest first, with their share."""
    responses = Response.objects.accepted().exclude(company_normalized="")
    if survey_id is not None:
        responses = responses.filter(survey_id=survey_id)
    total = Response.objects.accepted()
    if survey_id is not None:
        total = total.filter(survey_id=survey_id)
    base = total.count() or 1
    rows = list(
        responses.values("company_normalized")
        .annotate(n=Count("id"))
        .order_by("-n", "company_normalized")
    )
    for row in rows:
        row["share"] = row["n"] / base
    return rows


@dataclass
class TextGroup:
    """Similar free texts, their count, and the entity the taxonomy suggests for them."""

    kind: str
    question_keys: list[str]
    texts: Counter[str] = field(default_factory=Counter)
    suggestion: Entity | None = None
    score: float = 0.0

    @property
    def label(self) -> str:
        return self.texts.most_common(1)[0][0]

    @property
    def entries(self) -> list[tuple[str, int]]:
        return self.texts.most_common()

    @property
    def count(self) -> int:
        return sum(self.texts.values())


def other_text_groups(*, kind: str, similarity: float = 85.0) -> list[TextGroup]:
    """Unmapped "other" texts (or company names) of a kind in completed responses, grouped
    by likeness (drafts and abandoned responses are not counted).

    Texts that a canonical entity names already are left out: they are mapped.
    """
    index = TaxonomyIndex.load()
    counts: Counter[str] = Counter()
    keys: dict[str, set[str]] = defaultdict(set)
    if kind == COMPANY_KIND:
        rows = Answer.objects.filter(question__key=COMPANY_QUESTION).exclude(value_text="")
    else:
        question_keys = [key for key, k in QUESTION_KINDS.items() if k == kind]
        rows = Answer.objects.filter(
            question__key__in=question_keys, choice__is_other=True
        ).exclude(value_text="")
    rows = rows.filter(response__status=Response.Status.COMPLETE)
    for text, key in rows.values_list("value_text", "question__key"):
        text = " ".join(text.split())
        if kind == COMPANY_KIND or index.lookup_parts(kind, text)[1]:
            counts[text] += 1
            keys[text].add(key)
    groups: list[TextGroup] = []
    heads: list[str] = []
    compare = company_normalize if kind == COMPANY_KIND else normalize
    for text, n in counts.most_common():
        norm = compare(text)
        match = process.extractOne(norm, heads, scorer=fuzz.ratio, score_cutoff=similarity)
        if match is None:
            heads.append(norm)
            groups.append(TextGroup(kind=kind, question_keys=[]))
            group = groups[-1]
        else:
            group = groups[match[2]]
        group.texts[text] += n
        group.question_keys = sorted(set(group.question_keys) | keys[text])
    names = {norm: entity for norm, entity in index.by_kind.get(kind, {}).items()}
    for group in groups:
        best = process.extractOne(
            normalize(group.label), list(names), scorer=fuzz.WRatio, score_cutoff=80
        )
        if best is not None:
            group.suggestion = names[best[0]]
            group.score = best[1]
    return groups


def other_mapping_approve(*, kind: str, texts: list[str], entity: Entity, user: Any) -> int:
    """Approve texts as names of entity: new aliases (one taxonomy version), then re-map.

    Returns the number of texts that were new aliases.
    """
    if entity.kind != kind:
        raise CurationError(f"{entity} is a {entity.kind}, not a {kind}.")
    added: list[str] = []
    with transaction.atomic():
        for text in dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()):
            try:
                _alias, version = alias_add(entity=entity, text=text, user=user)
            except TaxonomyConflictError as error:
                raise CurationError(str(error)) from None
            if version is not None:
                added.append(text)
        if kind == COMPANY_KIND:
            companies_normalize()
        else:
            taxonomy_apply(user=user)
    return len(added)


def entity_create(*, kind: str, name: str, user: Any) -> Entity:
    """A new canonical entity (a new taxonomy version), or the one of that name.

    Refused (CurationError) when the name reads as another entity's name, or its key is
    another entity's: the taxonomy could then honour only one of the two.
    """
    key = slugify(name)[:80] or "entity"
    name = name.strip()
    owner = name_owner(kind=kind, text=name)
    if owner is not None and owner[0].key != key:
        other, said = owner
        raise CurationError(
            f'"{name}" reads the same as "{said}", a name of {kind} "{other.name}" already: '
            f'map the texts to "{other.name}" instead.'
        )
    taken = Entity.objects.filter(kind=kind, key=key).first()
    if taken is not None and normalize(taken.name) != normalize(name):
        raise CurationError(
            f'A new {kind} "{name}" would get the key "{key}", the key of "{taken.name}": '
            f'name it so that it differs, or map the texts to "{taken.name}".'
        )
    with transaction.atomic():
        entity, created = Entity.objects.get_or_create(
            kind=kind, key=key, defaults={"name": name[:200]}
        )
        if created:
            taxonomy_version_create(
                note=f"Added {kind} {entity.name!r}",
                changes=[f"Added {kind} {entity.name!r} ({entity.key})"],
                user=user,
            )
    return entity
