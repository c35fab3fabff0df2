"""Binary cross-entropy on Koch et al.'s learned head (2015), over every pair of a batch."""

from __future__ import annotations

import keras
from keras import ops

from siamese.model.losses.base import PairLoss


def pair_crossentropy(same, p_different):
    """Per pair: cross-entropy for a head whose output is p(different) (see `LearnedDistance`)."""
    different = 1.0 - ops.cast(same, p_different.dtype)
    p = ops.clip(p_different, 1e-7, 1.0 - 1e-7)
    return -(different * ops.log(p) + (1.0 - different) * ops.log(1.0 - p))


@keras.saving.register_keras_serializable(package="siamese")
class PairCrossentropy(PairLoss):
    """Binary cross-entropy on the learned head's p(different); see `pair_crossentropy`."""

    def __init__(self, *, reducer="nonzero", name: str = "pair_crossentropy", **kwargs):
        super().__init__(reducer=reducer, name=name, **kwargs)

    def pair_terms(self, same, distances):
        return pair_crossentropy(same, distances)
