"""ISO/IEC 30107-3 figures from scores, checked by hand: APCER counts attacks accepted, BPCER
live frames refused, a frame without a face is refused, and the threshold for a target APCER
accepts at most that share of the attacks."""

import math

import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.evaluation.liveness import attack_metrics, format_attack_metrics, threshold_for_apcer

LIVE = np.array([0.9, 0.8, 0.6, 0.45, np.nan])  # one below 0.5, one without a face
ATTACKS = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.55, np.nan])


def test_apcer_and_bpcer_count_what_is_accepted_and_refused():
    metrics = attack_metrics(LIVE, ATTACKS, 0.5)
    assert metrics["apcer"]["value"] == pytest.approx(1 / 11) and metrics["apcer"]["n"] == 11
    assert metrics["bpcer"]["value"] == pytest.approx(2 / 5) and metrics["bpcer"]["n"] == 5
    assert metrics["apcer"]["low"] < 1 / 11 < metrics["apcer"]["high"]
    assert metrics["live_without_face"] == 1 and metrics["attacks_without_face"] == 1


def test_bpcer_at_a_target_apcer_uses_the_threshold_that_holds_it():
    metrics = attack_metrics(LIVE, ATTACKS, 0.5, targets=(0.05, 0.1))
    strict, loose = metrics["bpcer_at_apcer_0.05"], metrics["bpcer_at_apcer_0.1"]
    assert strict["threshold"] > 0.55 and strict["apcer"] == 0 and strict["value"] == pytest.approx(2 / 5)
    assert 0.09 < loose["threshold"] <= 0.55 and loose["apcer"] == pytest.approx(1 / 11)
    assert loose["value"] == pytest.approx(1 / 5)  # only the frame without a face is refused
    text = format_attack_metrics(metrics)
    assert "APCER " in text and "BPCER at APCER 5%" in text and "1 live, 1 attacks" in text


@pytest.mark.parametrize("target, allowed", [(0.0, 0), (0.01, 1), (0.015, 1), (0.1, 10), (0.25, 25), (0.5, 50)])
def test_the_threshold_for_a_target_apcer_accepts_at_most_that_share(target, allowed):
    attacks = np.random.default_rng(0).random(100)
    threshold = threshold_for_apcer(attacks, target)
    assert (attacks >= threshold).sum() == allowed == math.floor(target * 100)


@pytest.mark.parametrize("target", [-0.1, 1.0, 2])
def test_a_target_out_of_range_is_refused(target):
    with pytest.raises(ConfigError, match="target APCER must be"):
        threshold_for_apcer([0.1, 0.2], target)


def test_no_live_frames_or_no_attacks_is_refused():
    with pytest.raises(ConfigError, match="both needed"):
        attack_metrics([], ATTACKS, 0.5)
