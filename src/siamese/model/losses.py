"""Losses on (same, distance) pairs; label convention: same = 1, different = 0.

As in Keras, each loss is a pair: a pure function with the maths and a registered class
that holds the configuration, so the margin is saved with a compiled model.
"""

from __future__ import annotations

import keras
from keras import ops


def contrastive_loss(y_true, y_pred, margin: float = 1.0):
    """Hadsell, Chopra and LeCun (2006): pull same pairs together, push different ones past the margin.

    loss = same * d^2 + (1 - same) * max(margin - d, 0)^2, per pair; y_pred is the distance d.
    """
    same = ops.cast(y_true, y_pred.dtype)
    return same * ops.square(y_pred) + (1.0 - same) * ops.square(ops.maximum(margin - y_pred, 0.0))


@keras.saving.register_keras_serializable(package="siamese")
class ContrastiveLoss(keras.losses.Loss):
    """Contrastive loss with a margin; see `contrastive_loss`.

    Args:
        margin: distance beyond which different pairs cost nothing; positive.
    """

    def __init__(self, margin: float = 1.0, name: str = "contrastive_loss", **kwargs):
        if not margin > 0:
            raise ValueError(f"margin must be positive, got {margin}")
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def pair_crossentropy(y_true, y_pred):
    """Cross-entropy for a head whose output y_pred is p(different) (see LearnedDistance)."""
    different = 1.0 - ops.cast(y_true, y_pred.dtype)
    p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    return -(different * ops.log(p) + (1.0 - different) * ops.log(1.0 - p))


@keras.saving.register_keras_serializable(package="siamese")
class PairCrossentropy(keras.losses.Loss):
    """Binary cross-entropy on a learned head (Koch et al. 2015); see `pair_crossentropy`."""

    def __init__(self, name: str = "pair_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return pair_crossentropy(y_true, y_pred)


def get(name: str, *, margin: float = 1.0) -> keras.losses.Loss:
    """'contrastive' (needs a distance) or 'crossentropy' (needs the learned head)."""
    if name == "contrastive":
        return ContrastiveLoss(margin=margin)
    if name == "crossentropy":
        return PairCrossentropy()
    raise ValueError(f"loss must be 'contrastive' or 'crossentropy', got {name!r}")
