"""The pairwise trainer: one tower pass, the batch loss called once on the distance matrix,
and a few real training steps with each registered loss."""

import keras
import numpy as np
import pytest

from siamese.model import ContrastiveLoss, EuclideanDistance, MultiSimilarityLoss, build_tower, distances, losses
from siamese.registry import LOSSES
from siamese.training.trainer import PairwiseTrainer

LABELS = np.array([0, 0, 1, 1, 2, 2], "int32")


def _images(n=6, seed=0):
    return np.random.default_rng(seed).random((n, 8, 8, 1)).astype("float32")


def test_the_trainer_scores_the_whole_matrix_with_the_loss():
    keras.utils.set_random_seed(0)
    tower = build_tower((8, 8, 1), filters=(4,), embedding_dim=5, batchnorm=False)
    loss = ContrastiveLoss(margin=1.3, reducer="mean")
    trainer = PairwiseTrainer(tower, EuclideanDistance(), loss)
    matrix = keras.ops.convert_to_numpy(trainer(_images()))
    assert matrix.shape == (6, 6) and np.allclose(np.diag(matrix), 1e-6, atol=1e-5)
    assert float(trainer.compute_loss(y=LABELS, y_pred=matrix)) == pytest.approx(float(loss(LABELS, matrix)), rel=1e-6)


@pytest.mark.parametrize("name", list(LOSSES))
def test_each_loss_trains_a_few_steps_and_lowers_itself(name):
    """Two classes of clearly different images: a few Adam steps must lower the loss."""
    keras.utils.set_random_seed(0)
    distance = "learned" if name == "crossentropy" else "cosine"
    tower = build_tower((8, 8, 1), filters=(4,), embedding_dim=8, batchnorm=False)
    layer = distances.get(distance)
    layer.build((None, 8))
    trainer = PairwiseTrainer(tower, layer, losses.get(name, margin=0.6))
    trainer.compile(optimizer=keras.optimizers.Adam(0.01))
    rng = np.random.default_rng(1)
    images = np.concatenate([rng.random((4, 8, 8, 1)) * 0.3, 0.7 + rng.random((4, 8, 8, 1)) * 0.3]).astype("float32")
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1], "int32")
    before = float(trainer.compute_loss(y=labels, y_pred=trainer(images)))
    history = trainer.fit(images, labels, batch_size=8, epochs=15, verbose=0, shuffle=False)
    after = float(trainer.compute_loss(y=labels, y_pred=trainer(images)))
    assert np.all(np.isfinite(history.history["loss"]))
    assert after < before


def test_multi_similarity_in_the_trainer_matches_its_function():
    keras.utils.set_random_seed(0)
    trainer = PairwiseTrainer(build_tower((8, 8, 1), filters=(4,), embedding_dim=5, batchnorm=False), EuclideanDistance(),
                              MultiSimilarityLoss(reducer="mean"))
    matrix = keras.ops.convert_to_numpy(trainer(_images()))
    expected = keras.ops.convert_to_numpy(losses.multi_similarity_loss(LABELS, matrix)).mean()
    assert float(trainer.compute_loss(y=LABELS, y_pred=matrix)) == pytest.approx(float(expected), rel=1e-5)
