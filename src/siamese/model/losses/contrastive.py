"""The contrastive loss of Hadsell, Chopra and LeCun (2006), over every pair of a batch."""

from __future__ import annotations

import keras
from keras import ops

from siamese.errors import ConfigError
from siamese.model.losses.base import PairLoss


def contrastive_loss(same, distance, margin: float = 1.0):
    """Per pair: pull same pairs together, push different ones past the margin.

    loss = same * d^2 + (1 - same) * max(margin - d, 0)^2; `distance` is d, `same` is 1 or 0.
    """
    same = ops.cast(same, distance.dtype)
    return same * ops.square(distance) + (1.0 - same) * ops.square(ops.maximum(margin - distance, 0.0))


@keras.saving.register_keras_serializable(package="siamese")
class ContrastiveLoss(PairLoss):
    """Contrastive loss with a margin; see `contrastive_loss`.

    Args:
        margin: distance beyond which different pairs cost nothing; positive.
        reducer: see `BatchLoss`; "nonzero" by default.
    """

    def __init__(self, margin: float = 1.0, *, reducer="nonzero", name: str = "contrastive_loss", **kwargs):
        if not margin > 0:
            raise ConfigError(f"margin must be positive, got {margin}")
        super().__init__(reducer=reducer, name=name, **kwargs)
        self.margin = float(margin)

    def pair_terms(self, same, distances):
        return contrastive_loss(same, distances, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}
