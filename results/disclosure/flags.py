"""Disclosure constants: thresholds, cell flags, and the measures that join tables."""

from __future__ import annotations

K_DEFAULT = 10
K_MIN = 5
N_EFF_MIN = 30

HIDDEN = "hidden"  # the one public flag for a hidden value, whatever the reason
HIDDEN_BASE = "hidden-base"  # the count is shown, its base (and so the share) is hidden
# Why a value is hidden: kept for admins and the audit log (Cell.reason), never public.
REASON_SMALL = "small"  # the count, or its base minus the count, is 1 to k-1
REASON_BASE = "small-base"  # fewer than k people in the group answered
REASON_SECONDARY = "secondary"  # hidden so that another hidden value cannot be worked out
REASONS = {
    REASON_SMALL: "The count, or the base minus the count, is between 1 and k-1.",
    REASON_BASE: "Fewer than k people in this group answered the question.",
    REASON_SECONDARY: "Hidden so that another hidden value cannot be narrowed below k.",
}
LOW_N_EFF = "low-n-eff"
WORDING_BREAK = "wording-break"
UNIVERSE_BREAK = "universe-break"
CONTRADICTIONS_EXCLUDED = "contradictions-excluded"  # a derived measure left answers out
NO_DETECTABLE_CHANGE = "no-detectable-change"
NOT_ASKED = "not-asked"
NO_ANSWERS = "no-answers"  # a published group of 0 answering: 0 of 0 has no share
FEWER_THAN_K = "fewer than k"

# The public flags and what each means: the one definition the pages, CSVs and API use.
FLAGS: dict[str, str] = {
    "": "Published.",
    HIDDEN: "Hidden to protect small groups: the value is under k, or it could otherwise be "
    "worked out to within less than k (by subtraction, or by combining published tables).",
    HIDDEN_BASE: "The count is published; how many in this group answered (the base) is hidden "
    "to protect a small group (those who skipped the question), so no share is given.",
    LOW_N_EFF: "Share not shown: the effective sample size is below the minimum for a reliable "
    "share. The count and its base are published.",
    WORDING_BREAK: "Not comparable: the question was worded differently in the earlier wave.",
    UNIVERSE_BREAK: "Not comparable: the question was asked of a different group of "
    "respondents in the earlier wave (see the codebook's universe).",
    NO_DETECTABLE_CHANGE: "No detectable change: the 95% interval of the change includes zero.",
    NOT_ASKED: "Not asked in this wave.",
    NO_ANSWERS: "No one in this group answered the question (it may not have been asked of "
    "them), so there is no share.",
    CONTRADICTIONS_EXCLUDED: "Published; answers that contradict themselves (a move from a "
    "choice to itself, or a 'none' answer ticked together with another) are left out of this "
    "measure.",
}
# A withheld value's short mark in a table cell, its meaning (FLAGS) said once below it.
FLAG_MARKS: dict[str, str] = {
    HIDDEN: "hidden",
    HIDDEN_BASE: "no base",
    NO_ANSWERS: "no answers",
    LOW_N_EFF: "not shown",
    WORDING_BREAK: "not comparable",
    UNIVERSE_BREAK: "not comparable",
    NOT_ASKED: "not asked",
}
# Flags under which a cell's values are public.
SHOWN_FLAGS = frozenset({"", NO_DETECTABLE_CHANGE, CONTRADICTIONS_EXCLUDED, NO_ANSWERS})
# Flags under which the count is public (protection treats it as published) though the
# share may not be.
COUNT_SHOWN_FLAGS = SHOWN_FLAGS | {LOW_N_EFF, HIDDEN_BASE}

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
