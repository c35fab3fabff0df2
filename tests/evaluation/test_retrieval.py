"""Leave-one-out retrieval on hand-made embeddings with known answers."""

import numpy as np
import pytest

from siamese.data import load_dataset
from siamese.evaluation import average_precisions, retrieval_metrics, retrieval_subset

# Points on a line: class 0 at 0 and 1, class 1 at 3, 10 and 11, class 2 alone at 20.
EMBEDDINGS = np.array([[0.0], [1.0], [3.0], [10.0], [11.0], [20.0]])
LABELS = np.array([0, 0, 1, 1, 1, 2])


def test_average_precision_worked_by_hand():
    hits, aps = average_precisions(EMBEDDINGS, LABELS)
    # Query 3.0 ranks 1 (class 0), 0 (class 0), 10 (hit at rank 3), 11 (hit at rank 4):
    # AP = (1/3 + 2/4) / 2 = 5/12; its nearest neighbour is wrong.
    assert aps[2] == pytest.approx(5 / 12) and hits[2] == 0
    # Query 10 ranks 11 (hit), 3 (hit): AP 1.
    assert aps[3] == 1.0 and hits[3] == 1
    assert np.isnan(aps[5]) and np.isnan(hits[5])  # nothing to find for a lone class


def test_retrieval_metrics_worked_by_hand():
    result = retrieval_metrics(EMBEDDINGS, LABELS)
    assert result.precision_at_1.value == pytest.approx(4 / 5) and result.precision_at_1.n == 5
    assert result.mean_average_precision.value == pytest.approx((4 + 5 / 12) / 5)
    assert result.skipped == 1 and result.classes == 3 and result.images == 6
    low, high = result.mean_average_precision.low, result.mean_average_precision.high
    assert low <= result.mean_average_precision.value <= high


def test_perfect_clusters_score_one():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 4)
    embeddings = np.eye(5)[labels] * 10 + rng.normal(scale=0.01, size=(20, 5))
    result = retrieval_metrics(embeddings, labels)
    assert result.precision_at_1.value == 1.0 and result.mean_average_precision.value == pytest.approx(1.0)


def test_the_subset_takes_whole_classes_within_the_limit(shapes_dir):
    dataset = load_dataset(shapes_dir)
    subset = retrieval_subset(dataset, 20, seed=0)
    assert len(subset) == 16  # two classes of 8; a third would pass 20
    assert all(np.sum(dataset.labels[subset] == label) == 8 for label in np.unique(dataset.labels[subset]))
    assert np.array_equal(subset, retrieval_subset(dataset, 20, seed=0))
    assert len(retrieval_subset(dataset, 10_000)) == len(dataset)
