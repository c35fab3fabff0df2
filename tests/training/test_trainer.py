"""The pairwise trainer: one tower pass, the batch loss called once on the distance matrix,
class proxies' loss added while training only, and a few real training steps with each
registered loss."""

import keras
import numpy as np
import pytest

from siamese.model import (
    ClassProxies,
    ContrastiveLoss,
    EuclideanDistance,
    MultiSimilarityLoss,
    build_tower,
    distances,
    losses,
)
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
    embeddings = trainer(_images())
    matrix = keras.ops.convert_to_numpy(EuclideanDistance().pairwise(embeddings))
    assert embeddings.shape == (6, 5) and matrix.shape == (6, 6) and np.allclose(np.diag(matrix), 1e-6, atol=1e-5)
    assert float(trainer.compute_loss(y=LABELS, y_pred=embeddings)) == pytest.approx(
        float(loss(LABELS, matrix)), rel=1e-6
    )


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
    trainer = PairwiseTrainer(
        build_tower((8, 8, 1), filters=(4,), embedding_dim=5, batchnorm=False),
        EuclideanDistance(),
        MultiSimilarityLoss(reducer="mean"),
    )
    embeddings = trainer(_images())
    matrix = EuclideanDistance().pairwise(embeddings)
    expected = keras.ops.convert_to_numpy(losses.multi_similarity_loss(LABELS, matrix)).mean()
    assert float(trainer.compute_loss(y=LABELS, y_pred=embeddings)) == pytest.approx(float(expected), rel=1e-5)


def _cosface(embeddings, proxies, labels, scale, margin):
    """The CosFace loss written out in numpy, one image at a time."""
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    terms = []
    for e, label in zip(unit(embeddings), labels):
        if label < 0:
            continue
        logits = scale * (unit(proxies) @ e)
        logits[label] -= scale * margin
        terms.append(np.log(np.sum(np.exp(logits - logits.max()))) + logits.max() - logits[label])
    return float(np.mean(terms))


def test_class_proxies_give_the_cosface_loss_and_leave_out_forgeries():
    rng = np.random.default_rng(3)
    embeddings, labels = rng.normal(size=(7, 5)).astype("float32"), np.array([0, 0, 2, 2, 1, -1, -2], "int32")
    layer = ClassProxies(3, scale=16.0, margin=0.2)
    layer.build((None, 5))
    proxies = keras.ops.convert_to_numpy(layer.proxies)
    expected = _cosface(embeddings, proxies, labels, 16.0, 0.2)
    assert float(layer(embeddings, labels)) == pytest.approx(expected, rel=1e-5)
    assert float(layer(embeddings, np.full(7, -1, "int32"))) == 0.0  # forgeries only: nothing to score
    restored = ClassProxies.from_config(layer.get_config())
    assert (restored.num_classes, restored.scale, restored.margin) == (3, 16.0, 0.2)
    for bad in ({"num_classes": 1}, {"num_classes": 3, "scale": 0.0}, {"num_classes": 3, "margin": -0.1}):
        with pytest.raises(ValueError):
            ClassProxies(**bad)


def test_proxies_add_their_loss_while_training_only_and_lower_it():
    keras.utils.set_random_seed(0)
    tower = build_tower((8, 8, 1), filters=(4,), embedding_dim=8, batchnorm=False)
    proxies = ClassProxies(3, scale=10.0, margin=0.1)
    trainer = PairwiseTrainer(
        tower, distances.get("cosine"), ContrastiveLoss(margin=0.6), proxies=proxies, proxy_weight=0.5
    )
    assert any(w is proxies.proxies for w in trainer.trainable_weights)
    images, labels = _images(), LABELS
    embeddings = trainer(images)
    pair = float(ContrastiveLoss(margin=0.6)(labels, distances.get("cosine").pairwise(embeddings)))
    assert float(trainer.compute_loss(y=labels, y_pred=embeddings, training=False)) == pytest.approx(pair, rel=1e-5)
    with_proxies = pair + 0.5 * float(proxies(embeddings, labels))
    assert float(trainer.compute_loss(y=labels, y_pred=embeddings, training=True)) == pytest.approx(
        with_proxies, rel=1e-5
    )
    before = float(proxies(embeddings, labels))
    trainer.compile(optimizer=keras.optimizers.Adam(0.05))
    trainer.fit(images, labels, batch_size=6, epochs=20, verbose=0, shuffle=False)
    assert float(proxies(trainer(images), labels)) < before
