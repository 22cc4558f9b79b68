"""Figures (a count and its base, shown or hidden) and what the model knows of questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .flags import RETENTION, TABLED_KINDS


@dataclass
class Figure:
    """A count and its base, before (or after) protection; values are None when hidden."""

    measure: str
    wave: str
    question: str
    choice: str
    option: str
    dimension: str
    segment: str
    base_n: int | None
    count: int | None
    flag: str = ""
    reason: str = ""  # why a value is hidden: for admins and the audit log, never public

    @property
    def count_key(self) -> tuple[str, ...]:
        return ("n", self.measure, self.wave, self.question, self.choice, self.option,
                self.dimension, self.segment)  # fmt: skip

    def base_key(self, kind: str) -> tuple[str, ...]:
        # A matrix (and retention) has a base per row; other questions one per segment.
        scope = self.choice if self.measure == RETENTION or kind == "matrix" else ""
        return ("b", self.measure, self.wave, self.question, scope, self.dimension, self.segment)


@dataclass(frozen=True)
class Context:
    """What the model knows of the questions: kinds, dimensions, and groupings.

    `groupings` maps a finer question to the coarser one it adds up into and, per choice,
    the coarser choice (country -> region).
    """

    kinds: dict[str, str]
    dimension_kinds: dict[str, str]
    groupings: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def row_sums(self, question: str) -> bool:
        """Whether a row's counts add up to its base (one answer per row)."""
        return self.kinds.get(question) in TABLED_KINDS

    def as_dict(self) -> dict[str, Any]:
        return {
            "kinds": self.kinds,
            "dimension_kinds": self.dimension_kinds,
            "groupings": {k: [p, m] for k, (p, m) in self.groupings.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Context:
        return cls(
            kinds=dict(data.get("kinds", {})),
            dimension_kinds=dict(data.get("dimension_kinds", {})),
            groupings={k: (p, dict(m)) for k, (p, m) in data.get("groupings", {}).items()},
        )
