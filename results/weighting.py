"""Weights: raking to admin-entered margins, trimming, and a cap per employer.

Weights are per respondent, so they are computed in memory (numpy) from one row per
respondent and margin; the weighted sums themselves are added up by the database, which
joins a temporary table of weights (see `weight_table`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from django.db import connection

from survey.importers.copy import rows_copy

TRIM = (0.2, 5.0)  # weights end within these multiples of the mean weight
MAX_ITERATIONS = 200
TOLERANCE = 1e-9
WEIGHT_TABLE = "results_build_weight"


def rake(
    categories: np.ndarray,
    margins: Sequence[dict[int, float]],
    base: np.ndarray | None = None,
) -> np.ndarray:
    """Iterative proportional fitting of weights to margins.

    categories is respondents x dimensions of category codes, -1 where a respondent has no
    answer. Respondents with no answer, or in a segment without a target, keep their weight
    for that margin; the targeted segments share out the rest in the target proportions.
    """
    n = categories.shape[0]
    weights = np.ones(n) if base is None else base.astype(float).copy()
    if n == 0:
        return weights
    for _ in range(MAX_ITERATIONS):
        largest_change = 0.0
        for column, targets in enumerate(margins):
            codes = categories[:, column]
            present = {code: share for code, share in targets.items() if np.any(codes == code)}
            total_share = sum(present.values())
            if not present or total_share <= 0:
                continue
            targeted = np.isin(codes, list(present))
            pool = weights[targeted].sum()
            for code, share in present.items():
                members = codes == code
                current = weights[members].sum()
                if current <= 0:
                    continue
                factor = pool * share / total_share / current
                largest_change = max(largest_change, abs(factor - 1.0))
                weights[members] *= factor
        if largest_change < TOLERANCE:
            break
    return weights


def trim(weights: np.ndarray, bounds: tuple[float, float] = TRIM) -> np.ndarray:
    """Clip weights to bounds x mean, re-normalized to mean 1 (repeated until stable)."""
    if weights.size == 0:
        return weights
    trimmed = weights / weights.mean()
    for _ in range(50):
        clipped = np.clip(trimmed, bounds[0], bounds[1])
        clipped = clipped / clipped.mean()
        if np.allclose(clipped, trimmed, rtol=0, atol=1e-12):
            break
        trimmed = clipped
    return trimmed


def employer_factors(companies: Sequence[str], cap: int | None) -> np.ndarray:
    """Down-weights so that no employer counts for more than cap respondents."""
    factors = np.ones(len(companies))
    if not cap:
        return factors
    sizes: dict[str, int] = {}
    for company in companies:
        if company:
            sizes[company] = sizes.get(company, 0) + 1
    for index, company in enumerate(companies):
        size = sizes.get(company, 0)
        if size > cap:
            factors[index] = cap / size
    return factors


def cap_employers(weights: np.ndarray, companies: Sequence[str], cap: int | None) -> np.ndarray:
    """After raking: scale down any employer whose weight exceeds cap x the mean weight.

    Scaling one employer moves the mean, so the share is solved for: with n respondents,
    an employer's sum S must satisfy S = cap x (rest + S) / n, i.e. S = cap x rest / (n - cap).
    """
    n = weights.size
    if not cap or n == 0 or cap >= n:
        return weights
    capped = weights.astype(float).copy()
    codes = np.array(companies, dtype=object)
    groups = [codes == company for company in sorted({c for c in companies if c})]
    for _ in range(50):  # several employers interact through the mean: repeat until stable
        moved = False
        for members in groups:
            total = capped[members].sum()
            rest = capped.sum() - total
            allowed = cap * rest / (n - cap)
            if total > allowed * (1 + 1e-12):
                capped[members] *= allowed / total
                moved = True
        if not moved:
            break
    return capped / capped.mean()


def respondent_weights(
    *,
    categories: np.ndarray,
    margins: Sequence[dict[int, float]],
    companies: Sequence[str],
    employer_cap: int | None,
    bounds: tuple[float, float] = TRIM,
) -> np.ndarray:
    """Cap employers, rake to the margins, trim, and cap again; mean weight 1."""
    base = employer_factors(companies, employer_cap)
    weights = rake(categories, margins, base) if margins else base
    weights = trim(weights, bounds)
    return cap_employers(weights, companies, employer_cap)


@contextmanager
def weight_table(response_ids: Sequence[int], weights: np.ndarray) -> Iterator[str]:
    """A temporary table of (response_id, w) for the database to join and sum."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {WEIGHT_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {WEIGHT_TABLE} "
            "(response_id bigint PRIMARY KEY, w double precision NOT NULL)"
        )
    rows = zip((int(i) for i in response_ids), (float(w) for w in weights), strict=True)
    rows_copy(table=WEIGHT_TABLE, columns=("response_id", "w"), rows=rows)
    try:
        yield WEIGHT_TABLE
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {WEIGHT_TABLE}")
