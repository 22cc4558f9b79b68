"""Disclosure control: the single funnel every public number passes through.

A snapshot's counts form tables linked by sums: the choices of a single-choice question add
up to its base, the segments of a single-choice dimension add up to the overall row (plus
the respondents who did not answer the dimension, a group no cell shows), and so on. Each
sum is a `Relation`. Primary suppression hides counts (or complements) between 1 and k-1
and rows whose base is below k; complementary suppression then hides more cells until no
hidden count can be recovered by subtraction, and no subtraction reveals a group of 1..k-1
people. `audit_figures` proves that from the published values alone.
"""

from .auditing import AUDITED, Closure, Violation, audit, audit_figures, audit_table
from .flags import (
    CONTRADICTIONS_EXCLUDED,
    FEWER_THAN_K,
    FLAGS,
    K_DEFAULT,
    K_MIN,
    LOW_N_EFF,
    MIGRATION,
    MIGRATION_QUESTIONS,
    N_EFF_MIN,
    NO_DETECTABLE_CHANGE,
    NOT_ASKED,
    RETENTION,
    RETENTION_QUESTION,
    SHARE,
    STILL_USING,
    STOPPED,
    SUPPRESSED_BASE,
    SUPPRESSED_COUNT,
    SUPPRESSED_SECONDARY,
    SUPPRESSING,
    TABLED_KINDS,
    UNIVERSE_BREAK,
    WORDING_BREAK,
    is_small,
    k_for,
)
from .suppression import protect, protect_counts, protect_table
from .tables import Context, Figure, Item, Key, Relation, Table, build_tables, context_from_summary

__all__ = [
    "CONTRADICTIONS_EXCLUDED",
    "AUDITED",
    "FEWER_THAN_K",
    "FLAGS",
    "K_DEFAULT",
    "K_MIN",
    "LOW_N_EFF",
    "MIGRATION",
    "MIGRATION_QUESTIONS",
    "NOT_ASKED",
    "NO_DETECTABLE_CHANGE",
    "N_EFF_MIN",
    "RETENTION",
    "RETENTION_QUESTION",
    "SHARE",
    "STILL_USING",
    "STOPPED",
    "SUPPRESSED_BASE",
    "SUPPRESSED_COUNT",
    "SUPPRESSED_SECONDARY",
    "SUPPRESSING",
    "TABLED_KINDS",
    "UNIVERSE_BREAK",
    "WORDING_BREAK",
    "Closure",
    "Context",
    "Figure",
    "Item",
    "Key",
    "Relation",
    "Table",
    "Violation",
    "audit",
    "audit_figures",
    "audit_table",
    "build_tables",
    "context_from_summary",
    "is_small",
    "k_for",
    "protect",
    "protect_counts",
    "protect_table",
]
