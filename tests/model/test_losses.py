"""Batch losses against plain loops over the pairs (or anchors) of a batch; reducers;
configuration saved; arguments checked."""

import itertools

import keras
import numpy as np
import pytest

from siamese.model import (
    AvgNonZeroReducer,
    ContrastiveLoss,
    MeanReducer,
    MultiSimilarityLoss,
    PairCrossentropy,
    contrastive_loss,
    losses,
    pair_crossentropy,
    reducers,
)
from siamese.registry import LOSSES

LABELS = np.array([0, 0, 1, 1, 2, 2, 2], "int32")


def _matrix(seed=0, high=1.4):
    """A symmetric (B, B) distance matrix with a zero diagonal."""
    upper = np.triu(np.random.default_rng(seed).uniform(0.0, high, (len(LABELS), len(LABELS))), 1)
    return (upper + upper.T).astype("float32")


def _pair_loop(per_pair, distances, reducer):
    """0.5 * reduced same-pair terms + 0.5 * reduced different-pair terms, over i < j."""
    sides = {True: [], False: []}
    for i, j in itertools.combinations(range(len(LABELS)), 2):
        same = bool(LABELS[i] == LABELS[j])
        sides[same].append(per_pair(same, float(distances[i, j])))
    count = (lambda v: max(sum(x > 0 for x in v), 1)) if reducer == "nonzero" else len
    return 0.5 * sum(sides[True]) / count(sides[True]) + 0.5 * sum(sides[False]) / count(sides[False])


@pytest.mark.parametrize("reducer", ["nonzero", "mean"])
def test_contrastive_matches_a_loop_over_pairs(reducer):
    distances = _matrix()
    margin = 1.1
    expected = _pair_loop(lambda s, d: d**2 if s else max(margin - d, 0.0) ** 2, distances, reducer)
    assert float(ContrastiveLoss(margin, reducer=reducer)(LABELS, distances)) == pytest.approx(expected, rel=1e-5)


def test_nonzero_and_mean_differ_when_pairs_are_past_the_margin():
    distances = _matrix(high=2.0)
    nonzero = float(ContrastiveLoss(0.6, reducer="nonzero")(LABELS, distances))
    mean = float(ContrastiveLoss(0.6, reducer="mean")(LABELS, distances))
    assert nonzero > mean > 0


@pytest.mark.parametrize("reducer", ["nonzero", "mean"])
def test_pair_crossentropy_matches_a_loop_over_pairs(reducer):
    p_different = np.clip(_matrix(seed=1, high=1.0), 0.01, 0.99)
    expected = _pair_loop(lambda s, p: -np.log(1 - p) if s else -np.log(p), p_different, reducer)
    assert float(PairCrossentropy(reducer=reducer)(LABELS, p_different)) == pytest.approx(expected, rel=1e-5)


def _multi_similarity_loop(distances, alpha, beta, base):
    terms = []
    for i in range(len(LABELS)):
        positives = [distances[i, k] for k in range(len(LABELS)) if k != i and LABELS[k] == LABELS[i]]
        negatives = [distances[i, k] for k in range(len(LABELS)) if LABELS[k] != LABELS[i]]
        pulled = np.log(1 + sum(np.exp(alpha * (d - base)) for d in positives)) / alpha
        pushed = np.log(1 + sum(np.exp(-beta * (d - base)) for d in negatives)) / beta
        terms.append(pulled + pushed)
    return np.array(terms)


@pytest.mark.parametrize("alpha, beta, base", [(2.0, 50.0, 0.5), (1.0, 10.0, 0.3)])
def test_multi_similarity_matches_a_loop_over_anchors(alpha, beta, base):
    distances = _matrix(seed=2)
    expected = _multi_similarity_loop(distances, alpha, beta, base)
    terms = keras.ops.convert_to_numpy(losses.multi_similarity_loss(LABELS, distances, alpha, beta, base))
    assert np.allclose(terms, expected, rtol=1e-5)
    loss = MultiSimilarityLoss(alpha, beta, base, reducer="mean")
    assert float(loss(LABELS, distances)) == pytest.approx(expected.mean(), rel=1e-5)


def test_multi_similarity_does_not_overflow_on_large_distances():
    distances = _matrix(seed=3, high=400.0)
    value = float(MultiSimilarityLoss()(LABELS, distances))
    assert np.isfinite(value) and value > 0


def test_reducers_against_numpy():
    values = np.array([0.0, 1.0, 2.0, 0.0, 4.0], "float32")
    mask = np.array([1, 1, 0, 1, 1], "float32")
    assert float(MeanReducer()(values, mask)) == pytest.approx(5.0 / 4)
    assert float(AvgNonZeroReducer()(values, mask)) == pytest.approx(5.0 / 2)
    assert float(MeanReducer()(values, np.zeros(5, "float32"))) == 0.0


@pytest.mark.parametrize(
    "loss",
    [
        ContrastiveLoss(2.0, reducer="mean"),
        PairCrossentropy(reducer="mean"),
        MultiSimilarityLoss(3.0, 40.0, 0.4, reducer="mean"),
    ],
)
def test_configuration_and_reducer_survive_serialization(loss):
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(again) is type(loss) and isinstance(again.reducer, MeanReducer)
    assert again.get_config() == loss.get_config()
    distances = np.clip(_matrix(seed=4), 0.01, 0.99)
    assert float(again(LABELS, distances)) == pytest.approx(float(loss(LABELS, distances)))


def test_contrastive_pure_function_is_per_pair():
    same, distance = np.array([1, 0, 0], "float32"), np.array([0.5, 0.2, 1.5], "float32")
    expected = [0.25, (1.0 - 0.2) ** 2, 0.0]
    assert np.allclose(keras.ops.convert_to_numpy(contrastive_loss(same, distance, 1.0)), expected)
    p = np.array([0.1, 0.8, 0.3], "float32")
    assert np.allclose(
        keras.ops.convert_to_numpy(pair_crossentropy(same, p)), [-np.log(0.9), -np.log(0.8), -np.log(0.3)], atol=1e-6
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ContrastiveLoss(margin=0), "margin must be positive, got 0"),
        (lambda: ContrastiveLoss(margin=-1.0), "margin must be positive, got -1.0"),
        (lambda: MultiSimilarityLoss(alpha=0), "alpha must be positive, got 0"),
        (lambda: ContrastiveLoss(reducer="max"), r"reducer must be one of \['nonzero', 'mean'\], got 'max'"),
        (lambda: losses.get("triplet"), "loss must be one of"),
    ],
)
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_every_registered_loss_and_reducer_can_be_made():
    for name in LOSSES:
        assert isinstance(losses.get(name, margin=0.5, reducer="mean").reducer, MeanReducer)
    assert isinstance(losses.get("contrastive", margin=0.5), ContrastiveLoss)
    assert isinstance(reducers.get("nonzero"), AvgNonZeroReducer)
