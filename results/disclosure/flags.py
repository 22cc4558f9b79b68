"""Disclosure constants: thresholds, cell flags, and the measures that join tables."""

from __future__ import annotations

K_DEFAULT = 10
K_MIN = 5
N_EFF_MIN = 30

SUPPRESSED_COUNT = "suppressed-count"
SUPPRESSED_BASE = "suppressed-base"
SUPPRESSED_SECONDARY = "suppressed-secondary"
LOW_N_EFF = "low-n-eff"
WORDING_BREAK = "wording-break"
UNIVERSE_BREAK = "universe-break"
CONTRADICTIONS_EXCLUDED = "contradictions-excluded"  # a derived measure left answers out
NO_DETECTABLE_CHANGE = "no-detectable-change"
NOT_ASKED = "not-asked"
FEWER_THAN_K = "fewer than k"

FLAGS: dict[str, str] = {
    "": "Published.",
    SUPPRESSED_COUNT: "Hidden: the count, or the base minus the count, is between 1 and k-1.",
    SUPPRESSED_BASE: "Hidden: fewer than k people answered in this group.",
    SUPPRESSED_SECONDARY: "Hidden so that another hidden value cannot be worked out by "
    "subtraction.",
    LOW_N_EFF: "Share not shown: the effective sample size is below 30.",
    WORDING_BREAK: "No change shown: the question's wording differs between the waves.",
    UNIVERSE_BREAK: "No change shown: the question was asked of a different group of "
    "respondents in the two waves.",
    NO_DETECTABLE_CHANGE: "The 95% interval of the change includes zero.",
    CONTRADICTIONS_EXCLUDED: "Published; answers that contradict themselves (a move from a "
    "choice to itself, or a 'none' answer ticked together with another) are left out.",
    NOT_ASKED: "The question was not asked in this wave.",
}
SUPPRESSING = frozenset({SUPPRESSED_COUNT, SUPPRESSED_BASE, SUPPRESSED_SECONDARY})

# Census questions with measures of their own; they join the tables of their sources.
RETENTION_QUESTION = "framework_status"
MIGRATION_QUESTIONS = ("migration_from", "migration_to")
STILL_USING = ("new-projects", "existing-only")
STOPPED = "stopped"

SHARE, RETENTION, MIGRATION = "share", "retention", "migration"  # migration cells' question too
TABLED_KINDS = {"single", "scale", "matrix"}  # kinds whose cells in a row add up to the base


def k_for(k_threshold: int | None) -> int:
    """The k to use: the series' own, never below K_MIN."""
    return max(K_MIN, k_threshold or K_DEFAULT)


def is_small(value: int | None, k: int) -> bool:
    return value is not None and 1 <= value <= k - 1
