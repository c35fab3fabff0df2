"""Wilson intervals against values worked out by hand."""

import math

import numpy as np
import pytest

from siamese.evaluation import Estimate, proportion, wilson_interval
from siamese.evaluation.intervals import bootstrap_estimate


def test_wilson_matches_the_formula_worked_by_hand():
    # 8 of 10, z = 1.959964: center = (0.8 + z^2/20) / (1 + z^2/10) = 0.716740,
    # half = z / (1 + z^2/10) * sqrt(0.016 + z^2/400) = 0.226578
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490162, abs=1e-5)
    assert high == pytest.approx(0.943318, abs=1e-5)


def test_wilson_stays_inside_0_1_at_the_extremes():
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(3.8415 / 23.8415, abs=1e-4)  # z^2 / (n + z^2)
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(20 / 23.8415, abs=1e-4)


def test_wilson_narrows_with_n():
    assert np.diff(wilson_interval(50, 100)) > np.diff(wilson_interval(5000, 10000))


@pytest.mark.parametrize("successes, n, message", [(1, 0, "n must be at least 1"), (5, 4, "successes must be between")])
def test_wilson_bad_counts(successes, n, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(successes, n)


def test_proportion_and_bootstrap_estimates():
    estimate = proportion(3, 4)
    assert isinstance(estimate, Estimate) and estimate.value == 0.75 and estimate.n == 4
    assert estimate.to_dict() == {"value": 0.75, "low": estimate.low, "high": estimate.high, "n": 4}
    boot = bootstrap_estimate(0.5, np.linspace(0, 1, 1001), n=7)
    assert boot.low == pytest.approx(0.025) and boot.high == pytest.approx(0.975) and boot.n == 7
    assert not math.isnan(boot.value)
