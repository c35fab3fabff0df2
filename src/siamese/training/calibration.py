"""Choosing the decision threshold on validation pairs, scikit-learn style.

A fixed threshold that does not fit the user's data is the most common complaint about
verification tools; the threshold is fitted to the user's own validation pairs instead:
for the best accuracy, at the equal error rate, or for a target false-accept rate (the
open-set point a gallery identifies with: `siamese.training.open_set_calibration`).
Needs numpy and scikit-learn only (no Keras): `siamese calibrate` stays light.
"""

from __future__ import annotations

import numpy as np

from siamese.errors import ConfigError
from siamese.registry import OBJECTIVES
from siamese.scores import roc_points


class ThresholdCalibrator:
    """Fit a distance threshold: `same` when distance <= threshold_.

    Args:
        objective: "accuracy" (best balanced accuracy on the pairs), "eer" (false accepts
            equal false rejects) or "far" (highest threshold whose false-accept rate is at
            most `target_far`).
        target_far: the false-accept rate for objective "far".
    """

    def __init__(self, objective: str = "accuracy", *, target_far: float = 1e-3):
        OBJECTIVES.check(objective)
        if not 0.0 < target_far < 1.0:
            raise ConfigError(f"target_far must be between 0 and 1, got {target_far}")
        self.objective = objective
        self.target_far = target_far

    def fit(self, distances, same) -> ThresholdCalibrator:
        far, tar, thresholds = roc_points(distances, same)
        if self.objective == "accuracy":
            balanced = 0.5 * (tar + (1.0 - far))
            best = int(np.argmax(balanced))
        elif self.objective == "eer":
            best = int(np.argmin(np.abs(far - (1.0 - tar))))
        else:
            best = int(np.flatnonzero(far <= self.target_far).max())
        threshold = thresholds[best]
        if not np.isfinite(threshold):  # nothing accepted: just below the smallest distance
            threshold = float(np.min(distances)) - 1e-6
        self.threshold_ = float(threshold)
        self.false_accept_rate_ = float(far[best])
        self.true_accept_rate_ = float(tar[best])
        return self
