"""Losses against hand-written loops; configuration saved; arguments checked."""

import keras
import numpy as np
import pytest

from siamese.model import ContrastiveLoss, PairCrossentropy, contrastive_loss, losses, pair_crossentropy

SAME = np.array([1, 0, 1, 0, 0], "float32")
DIST = np.array([0.2, 0.3, 1.5, 1.2, 0.0], "float32")


def test_contrastive_matches_a_loop():
    margin = 1.0
    expected = [s * d**2 + (1 - s) * max(margin - d, 0) ** 2 for s, d in zip(SAME, DIST)]
    assert np.allclose(keras.ops.convert_to_numpy(contrastive_loss(SAME, DIST, margin)), expected)
    assert np.isclose(float(ContrastiveLoss(margin)(SAME, DIST)), np.mean(expected))


def test_contrastive_margin_changes_the_loss_and_is_saved():
    loss = ContrastiveLoss(margin=2.0)
    assert float(loss(SAME, DIST)) > float(ContrastiveLoss(margin=1.0)(SAME, DIST))
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, ContrastiveLoss) and again.margin == 2.0


@pytest.mark.parametrize("margin", [0, -1.0])
def test_contrastive_margin_must_be_positive(margin):
    with pytest.raises(ValueError, match=f"margin must be positive, got {margin}"):
        ContrastiveLoss(margin=margin)


def test_pair_crossentropy_matches_a_loop():
    p_different = np.array([0.1, 0.8, 0.3, 0.6, 0.5], "float32")
    expected = [-np.log(1 - p) if s else -np.log(p) for s, p in zip(SAME, p_different)]
    assert np.allclose(keras.ops.convert_to_numpy(pair_crossentropy(SAME, p_different)), expected, atol=1e-6)
    assert np.isclose(float(PairCrossentropy()(SAME, p_different)), np.mean(expected), atol=1e-6)


def test_get_by_name():
    assert isinstance(losses.get("contrastive", margin=0.5), ContrastiveLoss)
    assert isinstance(losses.get("crossentropy"), PairCrossentropy)
    with pytest.raises(ValueError, match="loss must be"):
        losses.get("triplet")
