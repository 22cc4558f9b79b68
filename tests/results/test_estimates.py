import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from results import estimates


def test_wilson_reproduces_the_textbook_interval_for_118_of_480():
    low, high = estimates.wilson(118, 480)
    assert round(low, 3) == 0.209
    assert round(high, 3) == 0.286


def test_newcombe_reproduces_the_textbook_change_against_140_of_400():
    change, (low, high) = estimates.newcombe(118, 480, 140, 400)
    assert change == pytest.approx(118 / 480 - 140 / 400)
    assert round(low, 3) == -0.164
    assert round(high, 3) == -0.044
    assert not estimates.crosses_zero((low, high))


def test_weighted_interval_with_equal_weights_is_the_unweighted_one():
    weights = [1.0] * 480
    n_eff = estimates.n_effective_of(weights)
    assert n_eff == pytest.approx(480)
    assert estimates.wilson_weighted(118 / 480, n_eff) == pytest.approx(estimates.wilson(118, 480))


def test_weighted_change_with_equal_weights_is_the_unweighted_one():
    unweighted = estimates.newcombe(118, 480, 140, 400)
    weighted = estimates.newcombe_weighted(118 / 480, 480.0, 140 / 400, 400.0)
    assert weighted[0] == pytest.approx(unweighted[0])
    assert weighted[1] == pytest.approx(unweighted[1])


def test_unequal_weights_shrink_the_effective_sample_and_widen_the_interval():
    weights = [0.5] * 200 + [2.0] * 200
    n_eff = estimates.n_effective_of(weights)
    assert n_eff == pytest.approx(500**2 / 850)
    assert n_eff < 400
    assert estimates.design_effect(400, n_eff) == pytest.approx(1.36)
    narrow = estimates.wilson(100, 400)
    wide = estimates.wilson_weighted(0.25, n_eff)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


def test_a_change_whose_interval_crosses_zero_is_no_detectable_change():
    _, interval = estimates.newcombe(50, 100, 48, 100)
    assert estimates.crosses_zero(interval)


@given(st.integers(1, 5000), st.data())
def test_wilson_interval_always_holds_the_share_inside_zero_and_one(n, data):
    count = data.draw(st.integers(0, n))
    low, high = estimates.wilson(count, n)
    assert 0.0 <= low <= count / n <= high <= 1.0
    assert not math.isnan(low)
