"""Rules that withhold a public number besides suppression: what is crossed, n_eff, weights."""

from __future__ import annotations

from collections import defaultdict

from .figures import Figure
from .flags import N_EFF_MIN, is_small

# A breakdown is withheld when more than this share of its answers would be hidden anyway.
SPARSE_SHARE = 0.5


def crossed(question: str, dimension: str, dimensions: list[str], finer: set[str]) -> bool:
    """Whether `question` is published broken down by `dimension`.

    A finer question that adds up into a coarser one (country into region) is published
    overall only, so a parent and its children are never both crossed with a dimension. A
    cross of two dimensions is published once, broken down by the earlier of the two.
    """
    if question == dimension or question in finer:
        return False
    if question in dimensions and dimensions.index(question) < dimensions.index(dimension):
        return False
    return True


def share_shown(n_eff: float) -> bool:
    """A share is shown only when its effective sample size reaches N_EFF_MIN."""
    return n_eff >= N_EFF_MIN


def weighted_publishable(
    *, raked_on: list[str], employer_cap: int | None, dimension: str, row_shown: bool
) -> bool:
    """Whether a weighted share adds nothing to what the published counts already say.

    Raked on one dimension with no employer cap, every respondent in a segment of that
    dimension has the same weight, so a whole-sample weighted share is a fixed combination
    of its published breakdown by that dimension (and the published targets and trim
    bounds). Any other weighted figure would add equations a reader could solve: withheld.
    """
    return len(raked_on) == 1 and not employer_cap and not dimension and row_shown


def sparse_breakdowns(
    figures: list[Figure], k: int, multi: frozenset[str] = frozenset()
) -> set[tuple[str, ...]]:
    """Breakdowns too thin to publish: (wave, question, dimension), or for a multiple-choice
    question (in `multi`) one answer's column of a breakdown, (wave, question, dimension,
    choice).

    When most nonzero counts of a breakdown (or of one answer across the segments of a
    multiple-choice breakdown, whose answers do not add up) are under k or leave fewer than
    k in their row, hiding them and then enough others to protect them would leave a table
    of gaps that says nothing: it is withheld whole, and the report says so. It also keeps
    the disclosure system small for a small wave.
    """
    small: dict[tuple[str, ...], int] = defaultdict(int)
    nonzero: dict[tuple[str, ...], int] = defaultdict(int)
    for figure in figures:
        if not figure.dimension or not figure.count:
            continue
        table = (figure.wave, figure.question, figure.dimension)
        key = (*table, figure.choice) if figure.question in multi else table
        nonzero[key] += 1
        rest = None if figure.base_n is None else figure.base_n - figure.count
        if is_small(figure.base_n, k) or is_small(figure.count, k) or is_small(rest, k):
            small[key] += 1
    thin = {key for key, n in nonzero.items() if small[key] > SPARSE_SHARE * n}
    # A multiple-choice breakdown with every answer's column thin is withheld whole.
    columns: dict[tuple[str, ...], list[bool]] = defaultdict(list)
    for counted in nonzero:
        if len(counted) == 4:
            columns[counted[:3]].append(counted in thin)
    whole = {table for table, flags in columns.items() if all(flags)}
    return {key for key in thin if key[:3] not in whole} | whole


def withheld(figure: Figure, thin: set[tuple[str, ...]]) -> bool:
    table = (figure.wave, figure.question, figure.dimension)
    return table in thin or (*table, figure.choice) in thin
