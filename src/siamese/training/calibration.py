"""Choosing the decision threshold on validation pairs, scikit-learn style.

A fixed threshold that does not fit the user's data is the most common complaint about
verification tools; the threshold is fitted to the user's own validation pairs instead:
for the best accuracy, at the equal error rate, or for a target false-accept rate.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

_OBJECTIVES = ("accuracy", "eer", "far")


class ThresholdCalibrator:
    """Fit a distance threshold: `same` when distance <= threshold_.

    Args:
        objective: "accuracy" (best balanced accuracy on the pairs), "eer" (false accepts
            equal false rejects) or "far" (highest threshold whose false-accept rate is at
            most `target_far`).
        target_far: the false-accept rate for objective "far".
    """

    def __init__(self, objective: str = "accuracy", *, target_far: float = 1e-3):
        if objective not in _OBJECTIVES:
            raise ValueError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
        if not 0.0 < target_far < 1.0:
            raise ValueError(f"target_far must be between 0 and 1, got {target_far}")
        self.objective = objective
        self.target_far = target_far

    def fit(self, distances, same) -> "ThresholdCalibrator":
        distances = np.asarray(distances, dtype=np.float64)
        same = np.asarray(same).astype(bool)
        if distances.shape != same.shape or distances.ndim != 1:
            raise ValueError(f"distances and same must be 1-D of one length, got {distances.shape} and {same.shape}")
        if same.all() or not same.any():
            raise ValueError("calibration needs both same and different pairs")
        # roc_curve wants scores where larger means "same": use -distance.
        far, tar, thresholds = roc_curve(same, -distances)
        thresholds = -thresholds  # same when distance <= threshold
        if self.objective == "accuracy":
            balanced = 0.5 * (tar + (1.0 - far))
            best = int(np.argmax(balanced))
        elif self.objective == "eer":
            best = int(np.argmin(np.abs(far - (1.0 - tar))))
        else:
            best = int(np.flatnonzero(far <= self.target_far).max())
        threshold = thresholds[best]
        if not np.isfinite(threshold):
            threshold = distances.min() - 1e-6
        self.threshold_ = float(threshold)
        self.false_accept_rate_ = float(far[best])
        self.true_accept_rate_ = float(tar[best])
        return self
