"""Mapping a wave's answer labels to choice keys through the taxonomy."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.text import slugify

from ...taxonomy import TaxonomyIndex, normalize
from .waves import ImportSummary

QUESTION_KINDS = {
    "role": "role",
    "company_size": "company-size",
    "industry": "industry",
    "ml_experience": "ml-experience",
}
# Labels that say the question does not apply: treated as not asked, counted in the summary.
NOT_APPLICABLE = {"industry": {normalize("I am a student")}}


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
