"""The taxonomy: canonical entities with aliases, versioned, and re-applied to every wave.

Labels and "other" texts are matched after `normalize`, so `Scikit-Learn`, `  Scikit-learn `
and `scikit learn` are one thing. Each change makes a `TaxonomyVersion` with its
`TaxonomyChange` rows; `taxonomy_apply` re-points answers to canonical choice keys and marks
the version applied, which is the number the next snapshot records.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import census
from .models import (
    Alias,
    Answer,
    Choice,
    CurationLog,
    Entity,
    Question,
    Survey,
    TaxonomyChange,
    TaxonomyVersion,
)

# Spaces and the punctuation that labels drift on (`Fast.ai`, `tf.keras`, `1,000-9,999`).
_SEPARATORS = re.compile(r"[\s.\-_/,'’`\"]+")
# "torch, jax" or "tf; keras and jax" in an "other" box: each part is matched on its own.
_PARTS = re.compile(r"\s*(?:[,;|+&]|\band\b)\s*", re.IGNORECASE)


def normalize(text: str) -> str:
    """The form labels and aliases are compared in: case, width, spaces and dots ignored."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(text)).casefold())


# Question keys whose choices are canonical entities of a kind.
QUESTION_KINDS: dict[str, str] = {
    "frameworks_used": "framework",
    "primary_framework": "framework",
    "migration_from": "framework",
    "migration_to": "framework",
    "framework_status": "framework",
    "role": "role",
    "company_size": "company-size",
    "industry": "industry",
    "ml_experience": "ml-experience",
}

# kind -> [(key, name, parent key, aliases)]. Keys are the Census choice keys, so every
# wave joins on them. Aliases carry the Kaggle ML & DS Survey labels of 2017-2022.
_Spec = tuple[str, str, str | None, list[str]]
_FRAMEWORK_ALIASES: dict[str, tuple[str | None, list[str]]] = {
    "pytorch": (None, ["torch", "Pytorch"]),
    "tensorflow": (None, ["tf", "TensorFlow 2", "tensorflow2"]),
    "keras": (None, ["tf.keras"]),
    "jax": (None, []),
    "flax": ("jax", ["flax.linen"]),
    "scikit-learn": (None, ["Scikit-Learn", "sklearn", "scikit learn", "scikit"]),
    "xgboost": (None, ["Xgboost"]),
    "lightgbm": (None, ["lightgbm", "light gbm"]),
    "catboost": (None, []),
    "huggingface-transformers": (
        None,
        ["Huggingface", "Hugging Face", "transformers", "huggingface transformers"],
    ),
    "pytorch-lightning": ("pytorch", ["lightning"]),
    "fastai": ("pytorch", ["Fastai", "Fast.ai"]),
    "mxnet": (None, ["Mxnet", "Apache MXNet"]),
    "onnx-runtime": (None, ["onnxruntime", "onnx"]),
    "mlx": (None, ["apple mlx"]),
    "paddlepaddle": (None, ["paddle"]),
}
_KAGGLE_FRAMEWORKS: list[_Spec] = [
    ("spark-mllib", "Spark MLlib", None, ["Spark MLib", "MLlib", "pyspark ml"]),
    ("h2o", "H2O", None, ["H20", "H2O 3", "h2o.ai"]),
    ("caret", "Caret", None, []),
    ("mlr", "mlr", None, ["mlr3"]),
    ("prophet", "Prophet", None, ["fbprophet"]),
    ("randomforest", "randomForest", None, ["RandomForest"]),
    ("cntk", "CNTK", None, ["Microsoft Cognitive Toolkit"]),
    ("caffe", "Caffe", None, ["Caffe2"]),
    ("tidymodels", "Tidymodels", None, []),
    ("theano", "Theano", None, []),
]

DEFAULT_TAXONOMY: dict[str, Sequence[_Spec]] = {
    "framework": [
        (key, name, *_FRAMEWORK_ALIASES.get(key, (None, []))) for key, name in census.FRAMEWORKS
    ]
    + _KAGGLE_FRAMEWORKS,
    "role": [
        ("data-scientist", "Data Scientist", None, []),
        (
            "ml-engineer",
            "Machine Learning / MLOps Engineer",
            None,
            ["Machine Learning Engineer", "ML Engineer", "MLOps Engineer"],
        ),
        ("research-scientist", "Research Scientist", None, []),
        ("software-engineer", "Software Engineer", None, []),
        (
            "data-analyst",
            "Data Analyst",
            None,
            # 2022 defines the role as "Data Analyst (Business, Marketing, Financial, ...)".
            [
                "Data Analyst (Business, Marketing, Financial, Quantitative, etc)",
                "Business Analyst",
                "Marketing Analyst",
            ],
        ),
        ("data-engineer", "Data Engineer", None, []),
        ("statistician", "Statistician", None, []),
        (
            "manager",
            "Manager",
            None,
            # 2022 defines it as "Manager (Program, Project, Operations, Executive-level, etc)".
            [
                "Manager (Program, Project, Operations, Executive-level, etc)",
                "Product/Project Manager",
                "Program/Project Manager",
                "Product Manager",
                "Chief Officer",
            ],
        ),
        ("teacher", "Teacher / professor", None, ["Professor", "Teacher"]),
        ("student", "Student", None, []),
        ("not-employed", "Currently not employed", None, ["Not employed"]),
        ("other-role", "Other", None, []),
    ]
    # Titles the Kaggle waves offer and the Census does not: known, so never "to review".
    + [
        ("consultant", "Consultant", None, []),
        ("research-assistant", "Research Assistant", None, []),
        ("principal-investigator", "Principal Investigator", None, []),
        ("database-engineer", "DBA / Database Engineer", None, ["DBA/Database Engineer"]),
        ("data-administrator", "Data Administrator", None, []),
        ("data-architect", "Data Architect", None, []),
        (
            "developer-advocate",
            "Developer Advocate",
            None,
            ["Developer Relations/Advocacy", "Developer Relations"],
        ),
        ("data-journalist", "Data Journalist", None, []),
        ("salesperson", "Salesperson", None, []),
        ("engineer-non-software", "Engineer (non-software)", None, []),
    ],
    "company-size": [
        ("0-49", "0-49 employees", None, []),
        ("50-249", "50-249 employees", None, []),
        ("250-999", "250-999 employees", None, []),
        ("1000-9999", "1,000-9,999 employees", None, []),
        ("10000-plus", "10,000 or more employees", None, ["> 10,000 employees"]),
    ],
    "industry": [
        ("tech", "Computers / Technology", None, []),
        ("academia", "Academics / Education", None, []),
        (
            "finance",
            "Accounting / Finance / Insurance",
            None,
            ["Accounting/Finance", "Insurance/Risk Assessment"],
        ),
        ("health", "Medical / Pharmaceutical", None, []),
        ("retail", "Retail / Sales / Marketing", None, ["Retail/Sales", "Marketing/CRM"]),
        ("manufacturing", "Manufacturing / Fabrication", None, []),
        (
            "government",
            "Government / Public Service / Non-profit",
            None,
            ["Government/Public Service", "Non-profit/Service"],
        ),
        ("energy", "Energy / Mining / Utilities", None, ["Energy/Mining"]),
        ("online-services", "Online Service / Internet-based Services", None, []),
        ("telecom", "Broadcasting / Communications", None, []),
        ("transport", "Shipping / Transportation", None, []),
        ("other-industry", "Other", None, []),
    ]
    # Industries of the Kaggle waves that the Census does not list.
    + [
        ("online-business", "Online Business / Internet-based Sales", None, []),
        ("hospitality", "Hospitality / Entertainment / Sports", None, []),
        ("military", "Military / Security / Defense", None, []),
    ],
    "ml-experience": [
        (
            "none",
            "I do not use machine learning methods",
            None,
            [
                "I have never studied machine learning but plan to learn in the future",
                "I have never studied machine learning and I do not plan to",
            ],
        ),
        ("under-1", "Under 1 year", None, ["< 1 year", "< 1 years", "less than 1 year"]),
        ("1-2", "1-2 years", None, []),
        # The Census bins are coarser; Kaggle's nest in them exactly.
        ("2-5", "2-5 years", None, ["2-3 years", "3-4 years", "4-5 years"]),
        ("5-10", "5-10 years", None, []),
        (
            "10-plus",
            "10 or more years",
            None,
            ["10-15 years", "10-20 years", "15-20 years", "20+ years", "20 or more years"],
        ),
    ],
}


@dataclass
class TaxonomyIndex:
    """Normalized label -> entity, per kind, for approved aliases and entity names."""

    by_kind: dict[str, dict[str, Entity]]
    keys: dict[str, set[str]]

    @classmethod
    def load(cls) -> TaxonomyIndex:
        by_kind: dict[str, dict[str, Entity]] = defaultdict(dict)
        keys: dict[str, set[str]] = defaultdict(set)
        entities = {e.pk: e for e in Entity.objects.order_by("pk")}
        for entity in entities.values():
            keys[entity.kind].add(entity.key)
            by_kind[entity.kind].setdefault(normalize(entity.name), entity)
            by_kind[entity.kind].setdefault(normalize(entity.key), entity)
        # Aliases win over names of other entities only where no name claims the text.
        for alias in Alias.objects.filter(approved=True).order_by("pk"):
            named = entities.get(alias.entity_id)
            if named is not None:
                by_kind[named.kind].setdefault(alias.normalized or normalize(alias.text), named)
        return cls(by_kind=dict(by_kind), keys=dict(keys))

    def lookup(self, kind: str, text: str) -> Entity | None:
        return self.by_kind.get(kind, {}).get(normalize(text))

    def lookup_parts(self, kind: str, text: str) -> tuple[list[Entity], list[str]]:
        """Entities named in a free text ("torch, jax"), and the parts that matched none."""
        whole = self.lookup(kind, text)
        if whole is not None:
            return [whole], []
        found: list[Entity] = []
        missing: list[str] = []
        for part in filter(None, (p.strip() for p in _PARTS.split(text))):
            entity = self.lookup(kind, part)
            if entity is None:
                missing.append(part)
            elif entity not in found:
                found.append(entity)
        return found, missing


def taxonomy_version_create(*, note: str, changes: list[str], user: Any = None) -> TaxonomyVersion:
    """A new version with one change row per description (call inside the change's transaction)."""
    with transaction.atomic():
        # Lock the newest version so two admins saving at once get distinct numbers.
        latest = TaxonomyVersion.objects.select_for_update().order_by("-number").first()
        number = (latest.number if latest else 0) + 1
        version = TaxonomyVersion.objects.create(
            number=number, note=note[:300], created_by=_user_or_none(user)
        )
        TaxonomyChange.objects.bulk_create(
            TaxonomyChange(version=version, description=text[:400], user=_user_or_none(user))
            for text in changes or [note]
        )
    return version


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


def taxonomy_seed(*, user: Any = None) -> TaxonomyVersion | None:
    """Create the default entities and aliases that are missing; a new version if any were."""
    changes: list[str] = []
    with transaction.atomic():
        for kind, specs in DEFAULT_TAXONOMY.items():
            entities: dict[str, Entity] = {}
            for key, name, _parent, _aliases in specs:
                entity, created = Entity.objects.get_or_create(
                    kind=kind, key=key, defaults={"name": name}
                )
                entities[key] = entity
                if created:
                    changes.append(f"Added {kind} {name!r} ({key})")
            for key, _name, parent, aliases in specs:
                entity = entities[key]
                if parent and entity.parent_id is None:
                    entity.parent = entities[parent]
                    entity.save(update_fields=["parent"])
                    changes.append(f"Put {kind} {key} under {parent}")
                for text in aliases:
                    _alias, created = Alias.objects.get_or_create(
                        entity=entity,
                        normalized=normalize(text),
                        defaults={"text": text, "created_by": _user_or_none(user)},
                    )
                    if created:
                        changes.append(f"Alias {text!r} -> {kind} {key}")
        if not changes:
            return None
        note = "Default taxonomy" if len(changes) > 20 else "; ".join(changes)
        return taxonomy_version_create(note=note, changes=changes, user=user)


class TaxonomyConflictError(ValueError):
    """A name that would read as two entities: the index could honour only one of them."""


def name_owner(*, kind: str, text: str) -> tuple[Entity, str] | None:
    """The entity of a kind that `text` reads as (by name, key or approved alias), and the
    name it reads the same as; None when no entity has such a name."""
    wanted = normalize(text)
    for entity in Entity.objects.filter(kind=kind).order_by("pk"):
        for name in (entity.name, entity.key):
            if normalize(name) == wanted:
                return entity, name
    alias = (
        Alias.objects.filter(entity__kind=kind, normalized=wanted, approved=True)
        .select_related("entity")
        .order_by("pk")
        .first()
    )
    return (alias.entity, alias.text) if alias is not None else None


def alias_add(
    *, entity: Entity, text: str, user: Any = None, note: str = ""
) -> tuple[Alias, TaxonomyVersion | None]:
    """Approve text as a name of entity (a new version when the alias is new).

    Raises TaxonomyConflictError when the text reads as another entity's name already.
    """
    owner = name_owner(kind=entity.kind, text=text)
    if owner is not None and owner[0].pk != entity.pk:
        other, name = owner
        raise TaxonomyConflictError(
            f'"{text.strip()}" reads the same as "{name}", a name of {other.kind} '
            f'"{other.name}" already: map it to "{other.name}", or rename that entry first.'
        )
    with transaction.atomic():
        alias, created = Alias.objects.get_or_create(
            entity=entity,
            normalized=normalize(text),
            defaults={"text": text.strip()[:200], "created_by": _user_or_none(user)},
        )
        if not created and alias.approved:
            return alias, None
        if not alias.approved:
            alias.approved = True
            alias.save(update_fields=["approved"])
        description = f"Alias {text.strip()!r} -> {entity.kind} {entity.key}"
        version = taxonomy_version_create(
            note=note or description, changes=[description], user=user
        )
    return alias, version


def taxonomy_version_latest_applied() -> int | None:
    """The number snapshots record: the newest version whose mappings are in the answers."""
    return TaxonomyVersion.objects.filter(applied_at__isnull=False).aggregate(n=Max("number"))["n"]


@dataclass
class ApplyReport:
    version: int | None = None
    choices_merged: int = 0
    answers_moved: int = 0
    other_texts_mapped: int = 0
    details: list[str] = field(default_factory=list)


def taxonomy_apply(*, version: TaxonomyVersion | None = None, user: Any = None) -> ApplyReport:
    """Re-map every wave to the taxonomy as it is now, and mark versions up to `version` applied.

    Choices whose label now names another canonical entity are merged into that entity's
    choice (created when the question lacks it); "other" texts that name entities get the
    canonical answer. An answer that would duplicate one the response has already is dropped,
    so the Answer unique constraints hold.

    An open survey's questions never change (respondents before and after would see
    different questions): there, texts are mapped only to choices it offers already; an
    entity it lacks is added to the series' draft waves instead (the next wave), and the
    texts are mapped once the survey is closed and the taxonomy applied again.
    """
    index = TaxonomyIndex.load()
    report = ApplyReport()
    with transaction.atomic():
        if version is None:
            version = TaxonomyVersion.objects.select_for_update().order_by("-number").first()
        questions = (
            Question.objects.filter(key__in=list(QUESTION_KINDS))
            .prefetch_related("choices")
            .select_related("survey")
        )
        logs: list[CurationLog] = []
        for question in questions:
            kind = QUESTION_KINDS[question.key]
            if question.survey.status != Survey.Status.OPEN:
                _merge_choices(question=question, kind=kind, index=index, report=report)
            logs += _map_other_texts(question=question, kind=kind, index=index, report=report)
        for log in logs:
            log.user = _user_or_none(user)
            if version is not None:
                log.reason = f"{log.reason} (taxonomy v{version.number})"[:300]
        CurationLog.objects.bulk_create(logs)
        if version is not None:
            TaxonomyVersion.objects.filter(
                number__lte=version.number, applied_at__isnull=True
            ).update(applied_at=timezone.now())
            report.version = version.number
    return report


def _canonical_choice(*, question: Question, role: str, entity: Entity) -> Choice | None:
    """The question's choice for entity, added when missing, except to an open survey: then
    None, and the choice is added to the series' draft waves (the next wave) instead."""
    choice = Choice.objects.filter(question=question, role=role, key=entity.key).first()
    if choice is None and question.survey.status == Survey.Status.OPEN:
        drafts = Question.objects.filter(
            survey__series_id=question.survey.series_id,
            survey__status=Survey.Status.DRAFT,
            key=question.key,
        ).select_related("survey")
        for draft in drafts:
            _canonical_choice(question=draft, role=role, entity=entity)
        return None
    if choice is None:
        last = question.choices.filter(role=role).aggregate(p=Max("position"))["p"] or 0
        choice = Choice.objects.create(
            question=question, role=role, key=entity.key, label=entity.name, position=last + 1
        )
    return choice


def _move_answers(*, source: Choice, target: Choice) -> int:
    """Re-point answers from source to target; a response that has target already keeps one."""
    column = "choice" if source.role != Choice.Role.COLUMN else "column"
    if column == "choice":
        has_target = Answer.objects.filter(choice=target).values("response_id")
        Answer.objects.filter(choice=source, response_id__in=has_target).delete()
        return Answer.objects.filter(choice=source).update(choice=target)
    return Answer.objects.filter(column=source).update(column=target)


def _merge_choices(
    *, question: Question, kind: str, index: TaxonomyIndex, report: ApplyReport
) -> None:
    canonical = index.keys.get(kind, set())
    for choice in list(question.choices.all()):
        if choice.is_other or choice.role == Choice.Role.COLUMN or choice.key in canonical:
            continue
        entity = index.lookup(kind, choice.label) or index.lookup(kind, choice.key)
        if entity is None or entity.key == choice.key:
            continue
        target = _canonical_choice(question=question, role=choice.role, entity=entity)
        if target is None:
            continue
        moved = _move_answers(source=choice, target=target)
        report.answers_moved += moved
        report.choices_merged += 1
        report.details.append(
            f"{question.survey.slug}/{question.key}: {choice.label!r} -> {entity.key} ({moved})"
        )
        if not choice.answers.exists():
            choice.delete()


def _map_other_texts(
    *, question: Question, kind: str, index: TaxonomyIndex, report: ApplyReport
) -> list[CurationLog]:
    logs: list[CurationLog] = []
    others = [c for c in question.choices.all() if c.is_other]
    if not others:
        return logs
    answers = list(Answer.objects.filter(choice__in=others).exclude(value_text=""))
    if not answers:
        return logs
    have: set[tuple[int, str]] = set(
        Answer.objects.filter(question=question, response_id__in={a.response_id for a in answers})
        .exclude(choice=None)
        .values_list("response_id", "choice__key")
    )
    multi = question.kind == Question.Kind.MULTI
    targets: dict[str, Choice | None] = {}
    new: list[Answer] = []
    drop: list[int] = []
    for answer in answers:
        if multi:
            entities, missing = index.lookup_parts(kind, answer.value_text)
        else:
            whole = index.lookup(kind, answer.value_text)
            entities, missing = ([whole], []) if whole else ([], [answer.value_text])
        for entity in entities:
            if entity.key not in targets:
                targets[entity.key] = _canonical_choice(
                    question=question, role=Choice.Role.OPTION, entity=entity
                )
        offered = [e for e in entities if targets[e.key] is not None]
        if len(offered) < len(entities):
            missing.append("not offered yet")  # the text stays "other" for now
            entities = offered
        if not entities:
            continue
        added = False
        for entity in entities:
            if (answer.response_id, entity.key) in have:
                continue
            added = True
            new.append(
                Answer(
                    response_id=answer.response_id,
                    question=question,
                    choice=targets[entity.key],
                    value_text=answer.value_text,
                )
            )
            have.add((answer.response_id, entity.key))
        if not missing:
            # Every part is now a canonical answer: it no longer counts as "other".
            drop.append(answer.pk)
        elif not added:
            continue  # mapped by an earlier run already
        names = ", ".join(e.name for e in entities)
        logs.append(
            CurationLog(
                response_id=answer.response_id,
                action=CurationLog.Action.MAP_OTHER,
                reason=f"{question.key}: {answer.value_text[:80]!r} counted as {names}"[:260],
            )
        )
        report.other_texts_mapped += 1
    Answer.objects.filter(pk__in=drop).delete()
    Answer.objects.bulk_create(new)
    return logs
