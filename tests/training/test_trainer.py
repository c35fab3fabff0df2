"""The pairwise trainer's loss against a plain loop over the pairs of a batch."""

import itertools

import keras
import numpy as np
import pytest

from siamese.model import ContrastiveLoss, EuclideanDistance, build_tower
from siamese.training.trainer import PairwiseTrainer

LABELS = np.array([0, 0, 1, 1, 2, 2], "int32")


def _loop_loss(distances, margin, reducer):
    pos, neg = [], []
    for i, j in itertools.combinations(range(len(LABELS)), 2):
        d = distances[i, j]
        if LABELS[i] == LABELS[j]:
            pos.append(d**2)
        else:
            neg.append(max(margin - d, 0.0) ** 2)
    count = (lambda v: max(sum(x > 0 for x in v), 1)) if reducer == "nonzero" else len
    return 0.5 * sum(pos) / count(pos) + 0.5 * sum(neg) / count(neg)


@pytest.mark.parametrize("reducer", ["nonzero", "mean"])
def test_loss_matches_a_loop_over_pairs(reducer):
    keras.utils.set_random_seed(0)
    tower = build_tower((8, 8, 1), filters=(4,), embedding_dim=5, batchnorm=False)
    trainer = PairwiseTrainer(tower, EuclideanDistance(), ContrastiveLoss(margin=1.3), reducer=reducer)
    images = np.random.default_rng(0).random((6, 8, 8, 1)).astype("float32")
    distances = keras.ops.convert_to_numpy(trainer(images))
    loss = float(trainer.compute_loss(y=LABELS, y_pred=distances))
    assert loss == pytest.approx(_loop_loss(distances, 1.3, reducer), rel=1e-5)


def test_unknown_reducer_is_refused():
    with pytest.raises(ValueError, match="reducer must be one of"):
        PairwiseTrainer(build_tower((8, 8, 1), filters=(4,)), EuclideanDistance(), ContrastiveLoss(), reducer="max")
