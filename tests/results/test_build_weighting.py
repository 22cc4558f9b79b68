import numpy as np
import pytest

from results import weighting


def test_raking_matches_every_margin():
    rng = np.random.default_rng(1)
    categories = np.stack([rng.integers(0, 3, 2000), rng.integers(0, 2, 2000)], axis=1)
    margins = [{0: 0.5, 1: 0.3, 2: 0.2}, {0: 0.7, 1: 0.3}]
    weights = weighting.rake(categories, margins)
    for column, targets in enumerate(margins):
        for code, share in targets.items():
            got = weights[categories[:, column] == code].sum() / weights.sum()
            assert got == pytest.approx(share, abs=1e-6)


def test_respondents_without_an_answer_keep_their_weight_for_that_margin():
    categories = np.array([[0], [0], [1], [-1]])
    weights = weighting.rake(categories, [{0: 0.25, 1: 0.75}])
    assert weights[3] == pytest.approx(1.0)
    assert weights[2] / weights[:3].sum() == pytest.approx(0.75)


def test_trimmed_weights_stay_within_bounds_with_mean_one():
    weights = weighting.trim(np.array([0.01, 1.0, 1.0, 1.0, 50.0]))
    assert weights.mean() == pytest.approx(1.0)
    assert weights.min() >= 0.2 - 1e-9
    assert weights.max() <= 5.0 + 1e-9


def test_an_employer_over_the_cap_counts_for_at_most_cap_respondents():
    companies = ["acme"] * 8 + [""] * 12
    weights = weighting.respondent_weights(
        categories=np.empty((20, 0), dtype=np.int64), margins=[], companies=companies,
        employer_cap=2,
    )  # fmt: skip
    acme = weights[:8].sum() / weights.mean()
    assert acme == pytest.approx(2.0)
    assert np.allclose(weights[:8], weights[0])
