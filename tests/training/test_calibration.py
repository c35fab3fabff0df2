"""Threshold calibration on known distances."""

import numpy as np
import pytest

from siamese.errors import DatasetError
from siamese.training import ThresholdCalibrator

SAME = np.array([1, 1, 1, 1, 0, 0, 0, 0])


def test_perfect_separator_gets_a_threshold_between_the_classes():
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    calibrator = ThresholdCalibrator("accuracy").fit(distances, SAME)
    assert 0.4 <= calibrator.threshold_ < 0.6
    assert calibrator.true_accept_rate_ == 1.0 and calibrator.false_accept_rate_ == 0.0
    assert ThresholdCalibrator("eer").fit(distances, SAME).threshold_ == pytest.approx(calibrator.threshold_)


def test_target_far_bounds_false_accepts():
    distances = np.array([0.1, 0.2, 0.5, 0.7, 0.3, 0.6, 0.8, 0.9])
    lenient = ThresholdCalibrator("accuracy").fit(distances, SAME)
    strict = ThresholdCalibrator("far", target_far=0.01).fit(distances, SAME)
    assert strict.false_accept_rate_ == 0.0
    assert strict.threshold_ < 0.3  # below the closest different pair
    assert strict.threshold_ <= lenient.threshold_
    assert np.mean(distances[SAME == 0] <= strict.threshold_) == 0.0


def test_eer_balances_the_two_errors():
    rng = np.random.default_rng(0)
    same = np.r_[np.ones(500), np.zeros(500)].astype(int)
    distances = np.r_[rng.normal(0.4, 0.1, 500), rng.normal(0.6, 0.1, 500)]
    calibrator = ThresholdCalibrator("eer").fit(distances, same)
    false_reject = np.mean(distances[same == 1] > calibrator.threshold_)
    false_accept = np.mean(distances[same == 0] <= calibrator.threshold_)
    assert abs(false_reject - false_accept) < 0.01
    assert calibrator.threshold_ == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("median",), {}, "objective must be one of"),
        (("far",), {"target_far": 0.0}, "target_far must be between 0 and 1, got 0.0"),
    ],
)
def test_arguments_are_checked(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThresholdCalibrator(*args, **kwargs)


def test_needs_both_kinds_of_pairs():
    with pytest.raises(DatasetError, match="need both same and different pairs, got 0 same of 2"):
        ThresholdCalibrator().fit([0.1, 0.2], [0, 0])
