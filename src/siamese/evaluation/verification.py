"""Verification metrics: how well distances separate same pairs from different pairs.

Scores are distances (smaller = more alike) and a pair is called "same" when its distance
is at or below the threshold; labels follow `siamese.data.pairs` (same = 1). In
biometric terms a false accept is a different pair called same, a true accept a same pair
called same:

    FAR(t) = #{different, d <= t} / #different      TAR(t) = #{same, d <= t} / #same

The equal error rate (EER) is where FAR equals the false-reject rate 1 - TAR, read off the
ROC curve by linear interpolation between its two points around the crossing. TAR at a
target FAR is the best TAR among thresholds whose FAR is at most the target; with fewer
than 1 / target different pairs the only such FAR is 0, and the figure is a lower bound.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.metrics import roc_auc_score

from siamese.errors import ConfigError
from siamese.evaluation.intervals import Estimate, bootstrap_estimate, proportion
from siamese.scores import check_scores, roc_points

FAR_TARGETS = (1e-2, 1e-3)


def _eer_crossing(far: np.ndarray, tar: np.ndarray):
    """EER and the index after the crossing, for one curve (1-D) or many (rows of 2-D).

    The curves start at (0, 0), where FRR - FAR = 1, and end at (1, 1), where it is -1.
    """
    gap = (1.0 - tar) - far  # never increases along the curve
    after = np.argmax(gap <= 0, axis=-1)
    before = after - 1
    g0 = np.take_along_axis(gap, np.expand_dims(before, -1), -1)[..., 0]
    g1 = np.take_along_axis(gap, np.expand_dims(after, -1), -1)[..., 0]
    f0 = np.take_along_axis(far, np.expand_dims(before, -1), -1)[..., 0]
    f1 = np.take_along_axis(far, np.expand_dims(after, -1), -1)[..., 0]
    t = g0 / (g0 - g1)
    return f0 + t * (f1 - f0), after, g0, g1


def equal_error_rate(distances, same) -> tuple[float, float]:
    """(eer, threshold): the rate where false accepts equal false rejects, and the threshold nearest it."""
    far, tar, thresholds = roc_points(distances, same)
    eer, after, g0, g1 = _eer_crossing(far, tar)
    nearest = int(after) if abs(g1) <= abs(g0) or after == 1 else int(after) - 1
    return float(eer), float(thresholds[nearest])


def true_accept_rate_at(distances, same, far_target: float) -> tuple[float, float]:
    """(tar, threshold): the highest TAR with FAR <= far_target, and the largest threshold giving it."""
    if not 0.0 <= far_target < 1.0:
        raise ConfigError(f"far_target must be in [0, 1), got {far_target}")
    far, tar, thresholds = roc_points(distances, same)
    allowed = np.flatnonzero(far <= far_target)
    best = allowed[np.argmax(tar[allowed])]
    threshold = thresholds[best]
    if not np.isfinite(threshold):  # nothing accepted: below the smallest distance
        threshold = float(np.min(distances)) - 1e-6
    return float(tar[best]), float(threshold)


def _bootstrap_auc_eer(distances: np.ndarray, same: np.ndarray, resamples: int, seed: int):
    """AUC and EER of `resamples` stratified bootstrap samples (same and different pairs
    resampled apart, so every sample keeps both), all curves at once from cumulative sums."""
    order = np.argsort(distances, kind="stable")
    sorted_same = same[order]
    sorted_distances = distances[order]
    ends = np.flatnonzero(np.r_[sorted_distances[1:] != sorted_distances[:-1], True])  # last of each tie
    positive, negative = np.flatnonzero(sorted_same), np.flatnonzero(~sorted_same)
    rng = np.random.default_rng(seed)
    aucs, eers = [], []
    chunk = max(1, 2_000_000 // len(distances))
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        counts_same = np.zeros((rows, len(distances)))
        counts_diff = np.zeros((rows, len(distances)))
        counts_same[:, positive] = rng.multinomial(
            len(positive), np.full(len(positive), 1.0 / len(positive)), size=rows
        )
        counts_diff[:, negative] = rng.multinomial(
            len(negative), np.full(len(negative), 1.0 / len(negative)), size=rows
        )
        zero = np.zeros((rows, 1))
        tar = np.concatenate([zero, np.cumsum(counts_same, axis=1)[:, ends] / len(positive)], axis=1)
        far = np.concatenate([zero, np.cumsum(counts_diff, axis=1)[:, ends] / len(negative)], axis=1)
        aucs.append(np.sum(np.diff(far, axis=1) * (tar[:, 1:] + tar[:, :-1]) / 2.0, axis=1))
        eers.append(_eer_crossing(far, tar)[0])
    return np.concatenate(aucs), np.concatenate(eers)


@dataclasses.dataclass(frozen=True)
class VerificationMetrics:
    """Verification figures on a set of pairs, each with its 95% interval and count.

    `accuracy`, `true_accept_rate` and `false_accept_rate` are at `threshold` (None when no
    threshold was given); `tar_at_far` maps each target FAR to the TAR reached there.
    """

    pairs: int
    same_pairs: int
    different_pairs: int
    threshold: float | None
    accuracy: Estimate | None
    true_accept_rate: Estimate | None
    false_accept_rate: Estimate | None
    auc: Estimate
    eer: Estimate
    eer_threshold: float
    tar_at_far: dict

    def to_dict(self) -> dict:
        def plain(value):
            return value.to_dict() if isinstance(value, Estimate) else value

        return {
            "pairs": self.pairs,
            "same_pairs": self.same_pairs,
            "different_pairs": self.different_pairs,
            "threshold": self.threshold,
            "accuracy": plain(self.accuracy),
            "true_accept_rate": plain(self.true_accept_rate),
            "false_accept_rate": plain(self.false_accept_rate),
            "auc": self.auc.to_dict(),
            "eer": self.eer.to_dict(),
            "eer_threshold": self.eer_threshold,
            "tar_at_far": {f"{far:g}": estimate.to_dict() for far, estimate in self.tar_at_far.items()},
        }


def verification_metrics(
    distances,
    same,
    *,
    threshold: float | None = None,
    far_targets: tuple = FAR_TARGETS,
    resamples: int = 1000,
    seed: int = 0,
) -> VerificationMetrics:
    """All verification figures of `distances` (n,) against `same` (n,), with 95% intervals.

    Args:
        threshold: the decision threshold for accuracy and the accept rates; None skips them.
        far_targets: false-accept rates at which to report the true-accept rate.
        resamples: bootstrap samples for the AUC and EER intervals.
        seed: the bootstrap's seed; the same inputs and seed give the same intervals.
    """
    distances, same = check_scores(distances, same)
    if resamples < 10:
        raise ConfigError(f"resamples must be at least 10, got {resamples}")
    n_same, n_diff = int(same.sum()), int((~same).sum())
    accuracy = tar = far = None
    if threshold is not None:
        accepted = distances <= threshold
        accuracy = proportion(int(np.sum(accepted == same)), len(same))
        tar = proportion(int(np.sum(accepted & same)), n_same)
        far = proportion(int(np.sum(accepted & ~same)), n_diff)
    auc_samples, eer_samples = _bootstrap_auc_eer(distances, same, resamples, seed)
    eer, eer_threshold = equal_error_rate(distances, same)
    tar_at_far = {}
    for target in far_targets:
        rate, _ = true_accept_rate_at(distances, same, target)
        tar_at_far[float(target)] = proportion(int(round(rate * n_same)), n_same)
    return VerificationMetrics(
        pairs=len(same),
        same_pairs=n_same,
        different_pairs=n_diff,
        threshold=None if threshold is None else float(threshold),
        accuracy=accuracy,
        true_accept_rate=tar,
        false_accept_rate=far,
        auc=bootstrap_estimate(float(roc_auc_score(same, -distances)), auc_samples, len(same)),
        eer=bootstrap_estimate(eer, eer_samples, len(same)),
        eer_threshold=eer_threshold,
        tar_at_far=tar_at_far,
    )
