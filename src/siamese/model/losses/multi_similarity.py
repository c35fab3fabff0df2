"""The multi-similarity loss of Wang et al. (2019), written for distances.

Each image of the batch is an anchor. Its positives (other images of its class) cost more
the farther they are, its negatives the nearer, each through a soft maximum, so the
hardest pairs dominate while every pair still counts:

    loss_i = 1/alpha * log(1 + sum_{k in P_i} exp( alpha * (d_ik - base)))
           + 1/beta  * log(1 + sum_{k in N_i} exp(-beta  * (d_ik - base)))

With cosine distance d = 1 - s this is the paper's loss on similarities s with its
threshold lambda = 1 - base (the paper's defaults alpha 2, beta 50, lambda 0.5 are the
defaults here). The paper's pair mining is left out: the soft maxima already weigh hard
pairs most. Reference: Wang, Han, Huang, Dong and Scott (2019), "Multi-Similarity Loss
with General Pair Weighting for Deep Metric Learning", CVPR.
"""

from __future__ import annotations

import keras
from keras import ops

from siamese.errors import ConfigError
from siamese.model.losses.base import BatchLoss, same_class


def _log1p_sum_exp(x, mask):
    """log(1 + sum of exp(x) over the masked entries of each row), without overflow."""
    x = ops.where(mask > 0, x, ops.full_like(x, float("-inf")))
    zero = ops.zeros_like(x[:, :1])
    return ops.logsumexp(ops.concatenate([zero, x], axis=1), axis=1)


def multi_similarity_loss(labels, distances, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5):
    """Per-anchor loss (B,) from class labels (B,) and the batch's distances (B, B)."""
    same = same_class(labels, distances.dtype)
    positive = same * (1.0 - ops.eye(ops.shape(distances)[0], dtype=distances.dtype))
    negative = 1.0 - same
    pulled = _log1p_sum_exp(alpha * (distances - base), positive) / alpha
    pushed = _log1p_sum_exp(-beta * (distances - base), negative) / beta
    return pulled + pushed


@keras.saving.register_keras_serializable(package="siamese")
class MultiSimilarityLoss(BatchLoss):
    """Multi-similarity loss; see `multi_similarity_loss`. Terms are per anchor.

    Args:
        alpha: sharpness of the soft maximum over positives; positive.
        beta: sharpness over negatives; positive.
        base: the distance around which pairs start to cost (0.5 in cosine distance is
            the paper's lambda 0.5).
        reducer: see `BatchLoss`.
    """

    def __init__(
        self,
        alpha: float = 2.0,
        beta: float = 50.0,
        base: float = 0.5,
        *,
        reducer="nonzero",
        name: str = "multi_similarity_loss",
        **kwargs,
    ):
        for argument, value in (("alpha", alpha), ("beta", beta)):
            if not value > 0:
                raise ConfigError(f"{argument} must be positive, got {value}")
        super().__init__(reducer=reducer, name=name, **kwargs)
        self.alpha, self.beta, self.base = float(alpha), float(beta), float(base)

    def call(self, labels, distances):
        terms = multi_similarity_loss(labels, distances, self.alpha, self.beta, self.base)
        return self.reducer(terms, ops.ones_like(terms))

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta, "base": self.base}
