"""Verification metrics on inputs whose answers are known."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from siamese.errors import DatasetError
from siamese.evaluation import equal_error_rate, true_accept_rate_at, verification_metrics
from siamese.evaluation.verification import _bootstrap_auc_eer

SAME = np.array([1, 1, 1, 1, 0, 0, 0, 0])
SEPARATED = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])


def test_a_perfect_separator_scores_perfectly():
    metrics = verification_metrics(SEPARATED, SAME, threshold=0.5)
    assert metrics.auc.value == 1.0 and metrics.eer.value == 0.0 and metrics.accuracy.value == 1.0
    assert metrics.true_accept_rate.value == 1.0 and metrics.false_accept_rate.value == 0.0
    assert 0.4 <= metrics.eer_threshold < 0.6
    assert metrics.auc.low == metrics.auc.high == 1.0  # every resample separates too
    assert metrics.pairs == 8 and metrics.same_pairs == metrics.different_pairs == 4
    assert metrics.accuracy.n == 8 and metrics.true_accept_rate.n == 4


def test_random_distances_score_about_chance():
    rng = np.random.default_rng(0)
    distances, same = rng.random(2000), rng.integers(0, 2, 2000)
    metrics = verification_metrics(distances, same, threshold=0.5, seed=0)
    assert abs(metrics.auc.value - 0.5) < 0.05
    assert abs(metrics.eer.value - 0.5) < 0.05
    assert abs(metrics.accuracy.value - 0.5) < 0.05
    assert metrics.auc.low < metrics.auc.value < metrics.auc.high


def test_tar_at_far_on_a_small_known_example():
    # 4 same pairs, 10 different; one different pair (0.25) is closer than the last same pair.
    same_d = [0.1, 0.2, 0.3, 0.4]
    diff_d = [0.25, 0.45, 0.5, 0.55, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]
    distances, same = np.array(same_d + diff_d), np.array([1] * 4 + [0] * 10)
    assert true_accept_rate_at(distances, same, 0.1) == (1.0, 0.4)  # accepting 0.25 costs FAR 1/10
    tar, threshold = true_accept_rate_at(distances, same, 0.01)  # FAR 0: stop below 0.25
    assert tar == 0.5 and threshold == 0.2
    metrics = verification_metrics(distances, same, far_targets=(0.1, 0.01))
    assert metrics.tar_at_far[0.1].value == 1.0 and metrics.tar_at_far[0.01].value == 0.5
    assert metrics.tar_at_far[0.01].n == 4 and metrics.accuracy is None
    assert set(metrics.to_dict()["tar_at_far"]) == {"0.1", "0.01"}


def test_eer_interpolates_where_the_errors_cross():
    # (FAR, FRR) is (0, 0.5) at threshold 0.1 and (0.5, 0) at 0.3 (a tie of a same and a
    # different pair): the segment between them crosses FAR = FRR at 0.25.
    distances, same = np.array([0.1, 0.3, 0.3, 0.9]), np.array([1, 1, 0, 0])
    eer, threshold = equal_error_rate(distances, same)
    assert eer == pytest.approx(0.25) and threshold in (0.1, 0.3)


class RecordingGenerator(np.random.Generator):
    """A numpy generator that keeps what each `multinomial` call drew: the bootstrap's resample
    counts. It goes in as the seed: `np.random.default_rng` hands a Generator back as it is."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self.draws = []

    def multinomial(self, *args, **kwargs):
        drawn = super().multinomial(*args, **kwargs)
        self.draws.append(drawn)
        return drawn


def test_every_bootstrap_resample_scores_as_scikit_learn_scores_it():
    rng = np.random.default_rng(1)
    distances = np.sort(np.round(rng.random(300), 2))  # many ties; sorted, so the library's order is the input's
    same = rng.integers(0, 2, 300).astype(bool)
    n_same, n_diff = int(same.sum()), int((~same).sum())
    assert n_same != n_diff  # the two kinds of draw told apart by their width
    recorder = RecordingGenerator(3)
    aucs, eers = _bootstrap_auc_eer(distances, same, 50, seed=recorder)
    assert aucs.shape == eers.shape == (50,)
    counts_same = np.concatenate([d for d in recorder.draws if d.shape[1] == n_same])
    counts_diff = np.concatenate([d for d in recorder.draws if d.shape[1] == n_diff])
    assert counts_same.shape == (50, n_same) and counts_diff.shape == (50, n_diff)
    for row in range(50):
        # The resample itself, each pair repeated as often as it was drawn, scored by scikit-learn
        # (AUC) and by `equal_error_rate` on scikit-learn's ROC (the crossing on one curve is
        # pinned by hand above): the cumulative-count curves must be the resamples' own.
        counts = np.zeros(300, int)
        counts[same], counts[~same] = counts_same[row], counts_diff[row]
        pick = np.repeat(np.arange(300), counts)
        assert aucs[row] == pytest.approx(roc_auc_score(same[pick], -distances[pick]), abs=1e-12)
        assert eers[row] == pytest.approx(equal_error_rate(distances[pick], same[pick])[0], abs=1e-12)
    assert np.array_equal(aucs, _bootstrap_auc_eer(distances, same, 50, seed=3)[0])  # the seed alone decides
    assert not np.array_equal(aucs, _bootstrap_auc_eer(distances, same, 50, seed=4)[0])  # and it is used


def test_the_bootstrap_matches_a_brute_force_stratified_bootstrap():
    # Same and different pairs in similar numbers, so leaving either side unresampled
    # shrinks the spread by a quarter or more; rounded distances give ties.
    rng = np.random.default_rng(4)
    same = np.r_[np.ones(100, bool), np.zeros(120, bool)]
    distances = np.round(np.r_[rng.normal(0.4, 0.15, 100), rng.normal(0.6, 0.15, 120)], 2)
    positive, negative = np.flatnonzero(same), np.flatnonzero(~same)
    brute = np.random.default_rng(0)
    brute_aucs, brute_eers = [], []
    for _ in range(1000):  # one sklearn call per resample: ~1000 resamples take a couple of seconds
        pick = np.r_[brute.choice(positive, len(positive)), brute.choice(negative, len(negative))]
        brute_aucs.append(roc_auc_score(same[pick], -distances[pick]))
        brute_eers.append(equal_error_rate(distances[pick], same[pick])[0])
    aucs, eers = _bootstrap_auc_eer(distances, same, 20_000, seed=0)
    for mine, reference in [(aucs, np.array(brute_aucs)), (eers, np.array(brute_eers))]:
        spread = reference.std()
        assert 0.01 < spread < 0.05  # a real spread to compare against
        # Monte Carlo error of 1000 resamples: ~0.03 spreads on the mean, ~2% on the spread.
        assert abs(mine.mean() - reference.mean()) < 0.15 * spread
        assert 0.9 < mine.std() / spread < 1.1


def test_intervals_are_reproducible_with_the_seed():
    rng = np.random.default_rng(2)
    distances, same = rng.random(200), rng.integers(0, 2, 200)
    a, b = verification_metrics(distances, same, seed=5), verification_metrics(distances, same, seed=5)
    assert a.to_dict() == b.to_dict()
    other = verification_metrics(distances, same, seed=6)  # another seed: other resamples, other intervals
    assert other.auc.value == a.auc.value and other.eer.value == a.eer.value
    assert (other.auc.low, other.auc.high) != (a.auc.low, a.auc.high)
    assert (other.eer.low, other.eer.high) != (a.eer.low, a.eer.high)


@pytest.mark.parametrize(
    "distances, same, error, message",
    [
        ([0.1, 0.2], [1, 1], DatasetError, "pairs: need both same and different pairs, got 2 same of 2"),
        ([0.1, 0.2, 0.3], [1, 0], ValueError, "1-D of one length"),
        ([0.1, np.nan], [1, 0], ValueError, "NaN"),
    ],
)
def test_bad_inputs(distances, same, error, message):
    with pytest.raises(error, match=message):
        verification_metrics(distances, same)
