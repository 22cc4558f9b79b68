"""A wave's answer labels resolved to choice keys through the taxonomy.

A label the taxonomy knows becomes its entity's key (so every wave joins on the Census
keys); a label it does not know becomes a choice marked for review, counted in the summary;
a label that means "not asked" stores nothing and is counted too; with `known_only` (a
question that asks about more than the taxonomy kind) an unknown label is left out, counted.
Nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.text import slugify

from ..taxonomy import TaxonomyIndex, normalize
from .waves import ImportSummary

# Multi-select labels that are no entity of any kind: (key, is_other).
SPECIAL = {"none": ("none", False), "other": ("other", True)}


@dataclass
class Labels:
    """Label -> choice key for one question, remembering the choices it made."""

    key: str
    index: TaxonomyIndex
    taxonomy: str | None  # entity kind; None: every label is its own choice (countries)
    not_applicable: frozenset[str] = frozenset()
    special: bool = False  # "None" and "Other" of a multi-select question
    known_only: bool = False  # unknown labels are left out (counted), not kept for review
    cache: dict[str, str | None] = field(default_factory=dict)
    # choice key -> (label, is_other, needs_review)
    choices: dict[str, tuple[str, bool, bool]] = field(default_factory=dict)

    def __call__(self, label: str, summary: ImportSummary) -> str | None:
        clean = " ".join(label.split())
        if clean not in self.cache:
            self.cache[clean] = self._resolve(clean)
        choice_key = self.cache[clean]
        if choice_key is None and self.known_only and normalize(clean) not in self.not_applicable:
            summary.left_out[(self.key, clean)] += 1
        elif choice_key is None:
            summary.not_applicable[(self.key, clean)] += 1
        elif self.choices[choice_key][2]:
            summary.unmapped[(self.key, clean)] += 1
        return choice_key

    def _resolve(self, label: str) -> str | None:
        norm = normalize(label)
        if norm in self.not_applicable:
            return None
        if self.special and norm in SPECIAL:
            key, is_other = SPECIAL[norm]
            self.choices.setdefault(key, (label.capitalize(), is_other, False))
            return key
        if self.taxonomy is None:
            key = slugify(label)[:80] or "unknown"
            self.choices.setdefault(key, (label, False, False))
            return key
        entity = self.index.lookup(self.taxonomy, label)
        if entity is None and self.known_only:
            return None
        if entity is None:  # unknown label: kept as a choice to review
            key = self._review_key(label)
            self.choices[key] = (label, False, True)
            return key
        self.choices.setdefault(entity.key, (entity.name, False, False))
        return entity.key

    def _review_key(self, label: str) -> str:
        base = slugify(label)[:70] or "label"
        key, n = base, 1
        while key in self.choices:
            n += 1
            key = f"{base}-{n}"
        return key


def labels_for(
    *,
    key: str,
    index: TaxonomyIndex,
    taxonomy: str | None,
    not_applicable: tuple[str, ...] = (),
    special: bool = False,
    known_only: bool = False,
) -> Labels:
    return Labels(
        key=key,
        index=index,
        taxonomy=taxonomy,
        not_applicable=frozenset(normalize(t) for t in not_applicable),
        special=special,
        known_only=known_only,
    )
