"""Interval estimates for shares and changes: Wilson and Newcombe, from statsmodels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

ALPHA = 0.05
SHARE_METHOD = "wilson"
CHANGE_METHOD = "newcomb"
INTERVAL_NOTE = "Wilson 95%; Newcombe 95% for changes"

Interval = tuple[float, float]


def n_effective(sum_w: float, sum_w2: float) -> float:
    """Kish's effective sample size, (sum w)^2 / sum w^2."""
    if sum_w2 <= 0:
        return 0.0
    return sum_w * sum_w / sum_w2


def n_effective_of(weights: Sequence[float]) -> float:
    return n_effective(math.fsum(weights), math.fsum(w * w for w in weights))


def design_effect(n: int | float, n_eff: float) -> float | None:
    """Kish's design effect of unequal weights: how much the weights shrink the sample."""
    if n_eff <= 0:
        return None
    return float(n) / n_eff


def wilson(count: int | float, n: int | float) -> Interval:
    """95% Wilson score interval for count successes out of n (n may be an n_eff)."""
    if n <= 0:
        raise ValueError("a share needs a positive base")
    low, high = proportion_confint(count, n, alpha=ALPHA, method=SHARE_METHOD)
    share = count / n
    # Rounding can put a bound a hair past the share at 0 or 1: keep the share inside.
    return float(max(min(low, share), 0.0)), float(min(max(high, share), 1.0))


def wilson_many(counts: Sequence[float], ns: Sequence[float]) -> tuple[list[float], list[float]]:
    """Wilson intervals for many shares at once (the same formula, vectorized)."""
    if not len(counts):
        return [], []
    count_array, n_array = np.asarray(counts, dtype=float), np.asarray(ns, dtype=float)
    low, high = proportion_confint(count_array, n_array, alpha=ALPHA, method=SHARE_METHOD)
    share = count_array / n_array
    low = np.clip(np.minimum(low, share), 0.0, 1.0)
    high = np.clip(np.maximum(high, share), 0.0, 1.0)
    return [float(v) for v in low], [float(v) for v in high]


def wilson_weighted(share: float, n_eff: float) -> Interval:
    """Wilson interval for a weighted share, on the effective sample size."""
    return wilson(share * n_eff, n_eff)


def newcombe(count1: int, n1: int, count0: int, n0: int) -> tuple[float, Interval]:
    """Change p1 - p0 between two independent waves, with its 95% Newcombe interval."""
    low, high = confint_proportions_2indep(
        count1, n1, count0, n0, method=CHANGE_METHOD, compare="diff", alpha=ALPHA
    )
    return count1 / n1 - count0 / n0, (float(low), float(high))


def newcombe_weighted(
    share1: float, n_eff1: float, share0: float, n_eff0: float
) -> tuple[float, Interval]:
    """Newcombe's hybrid score interval for a change between weighted shares, on n_eff."""
    low, high = confint_proportions_2indep(
        share1 * n_eff1,
        n_eff1,
        share0 * n_eff0,
        n_eff0,
        method=CHANGE_METHOD,
        compare="diff",
        alpha=ALPHA,
    )
    return share1 - share0, (float(low), float(high))


def crosses_zero(interval: Interval) -> bool:
    return interval[0] <= 0.0 <= interval[1]
