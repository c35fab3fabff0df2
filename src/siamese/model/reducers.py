"""Reducers: how a loss turns its many terms (per pair or per anchor) into one number.

As in pytorch-metric-learning, a loss is given its reducer (`reducer=`) rather than
choosing one itself. A reducer takes the terms and a mask of the ones that count, of one
shape, and returns a scalar:

    MeanReducer        sum(values * mask) / sum(mask)
    AvgNonZeroReducer  the same over the masked terms above zero: the many different pairs
                       already past the margin do not dilute the few hard ones.
"""

from __future__ import annotations

import keras
from keras import ops

from siamese.registry import REDUCERS


@keras.saving.register_keras_serializable(package="siamese")
class MeanReducer:
    """The mean of the terms the mask keeps (0 when it keeps none)."""

    def __call__(self, values, mask):
        values = ops.convert_to_tensor(values)  # numpy terms too: on torch, array * tensor is a TypeError
        mask = ops.cast(mask, values.dtype)
        return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


@keras.saving.register_keras_serializable(package="siamese")
class AvgNonZeroReducer(MeanReducer):
    """The mean of the kept terms that are above zero (pytorch-metric-learning's AvgNonZeroReducer)."""

    def __call__(self, values, mask):
        values = ops.convert_to_tensor(values)
        return super().__call__(values, ops.cast(mask, values.dtype) * ops.cast(values > 0, values.dtype))


_BY_NAME = {"nonzero": AvgNonZeroReducer, "mean": MeanReducer}


def get(identifier):
    """A reducer from an instance, a config dict, or one of the names in `siamese.registry.REDUCERS`."""
    if isinstance(identifier, MeanReducer):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    return _BY_NAME[REDUCERS.check(identifier)]()
