"""Scores against labels: the checks every use of pair distances starts with, and the ROC.

Label convention (as in `siamese.data.pairs`): same = 1, different = 0. Scores are
distances, smaller = more alike, and a pair is called "same" when its distance is at or
below a threshold. Calibration (in training) and verification metrics (in evaluation)
both read the ROC from here, so the two can never disagree on what a threshold means.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

from siamese.errors import DatasetError


def require_both_kinds(same, *, where: str = "pairs") -> None:
    """Raise `DatasetError` unless `same` holds both same (1) and different (0) pairs."""
    same = np.asarray(same).astype(bool)
    if same.all() or not same.any():
        raise DatasetError(f"{where}: need both same and different pairs, got {int(same.sum())} same of {len(same)}")


def check_scores(distances, same, *, where: str = "pairs") -> tuple[np.ndarray, np.ndarray]:
    """(distances as float64, same as bool), checked: 1-D of one length, finite, both kinds present."""
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same).astype(bool)
    if distances.ndim != 1 or distances.shape != same.shape:
        raise ValueError(f"distances and same must be 1-D of one length, got {distances.shape} and {same.shape}")
    if not np.all(np.isfinite(distances)):
        raise ValueError("distances hold NaN or infinite values")
    require_both_kinds(same, where=where)
    return distances, same


def roc_points(distances, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(far, tar, thresholds) along the ROC curve; `thresholds` are distances (the first is inf).

    FAR(t) = #{different, d <= t} / #different, TAR(t) = #{same, d <= t} / #same.
    """
    distances, same = check_scores(distances, same)
    # Every threshold, not only the corners: "the highest threshold with FAR <= target" must be there to pick.
    far, tar, thresholds = roc_curve(same, -distances, drop_intermediate=False)  # roc_curve wants larger = "same"
    return far, tar, -thresholds
