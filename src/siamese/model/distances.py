"""Distances between embeddings, as registered Keras layers (no `Lambda`: safe_mode loads them).

Each layer scores pairs two ways: `call(a, b)` for matched rows, shape (batch,), and
`pairwise(x)` for every pair of rows of one batch, shape (batch, batch). Smaller is more alike.
"""

from __future__ import annotations

import keras
from keras import ops

from siamese.errors import ConfigError
from siamese.registry import DISTANCES

_EPSILON = 1e-12


def safe_sqrt(x):
    """sqrt with a finite gradient at 0: zero distance between identical embeddings gives no NaN."""
    return ops.sqrt(ops.maximum(x, _EPSILON))


@keras.saving.register_keras_serializable(package="siamese")
class EuclideanDistance(keras.layers.Layer):
    """d(a, b) = ||a - b||_2."""

    def call(self, a, b):
        return safe_sqrt(ops.sum(ops.square(a - b), axis=-1))

    def pairwise(self, x):
        # Differences, not |x|^2 + |y|^2 - 2xy: that form loses precision near zero distance.
        return safe_sqrt(ops.sum(ops.square(x[:, None, :] - x[None, :, :]), axis=-1))

    def compute_output_shape(self, a_shape, b_shape=None):
        return a_shape[:-1]


@keras.saving.register_keras_serializable(package="siamese")
class ManhattanDistance(keras.layers.Layer):
    """d(a, b) = ||a - b||_1, the L1 distance of Koch et al. (2015)."""

    def call(self, a, b):
        return ops.sum(ops.abs(a - b), axis=-1)

    def pairwise(self, x):
        return ops.sum(ops.abs(x[:, None, :] - x[None, :, :]), axis=-1)

    def compute_output_shape(self, a_shape, b_shape=None):
        return a_shape[:-1]


@keras.saving.register_keras_serializable(package="siamese")
class CosineDistance(keras.layers.Layer):
    """d(a, b) = 1 - cos(a, b), in [0, 2] (clamped at 0 against round-off)."""

    def call(self, a, b):
        return _at_least_zero(1.0 - ops.sum(_unit(a) * _unit(b), axis=-1))

    def pairwise(self, x):
        unit = _unit(x)
        return _at_least_zero(1.0 - ops.matmul(unit, ops.transpose(unit)))

    def compute_output_shape(self, a_shape, b_shape=None):
        return a_shape[:-1]


def _unit(x):
    return x / safe_sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))


def _at_least_zero(x):
    """Round-off can take 1 - cos a hair below zero for identical images; a distance never is
    (and + 0.0 turns -0.0 into 0.0, so nothing prints as -0.0000)."""
    return ops.maximum(x, 0.0) + 0.0


@keras.saving.register_keras_serializable(package="siamese")
class LearnedDistance(keras.layers.Layer):
    """Koch et al.'s head: p(different) = sigmoid(w . |a - b| + b), trained with cross-entropy.

    It is a distance in the sense used here (in [0, 1], smaller = more alike), so the same
    threshold logic serves it.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, name="weights")

    def build(self, a_shape, b_shape=None):
        self.dense.build(a_shape)

    def call(self, a, b):
        return ops.sigmoid(-self.dense(ops.abs(a - b))[..., 0])

    def pairwise(self, x):
        return ops.sigmoid(-self.dense(ops.abs(x[:, None, :] - x[None, :, :]))[..., 0])

    def compute_output_shape(self, a_shape, b_shape=None):
        return a_shape[:-1]


_BY_NAME = {
    "euclidean": EuclideanDistance,
    "manhattan": ManhattanDistance,
    "cosine": CosineDistance,
    "learned": LearnedDistance,
}


def name_of(layer: keras.layers.Layer) -> str:
    """The registry name of a distance layer (`siamese.registry.DISTANCES`)."""
    for name, cls in _BY_NAME.items():
        if type(layer) is cls:
            return name
    raise ConfigError(f"distance {type(layer).__name__} is not one of {list(DISTANCES)}")


def get(identifier) -> keras.layers.Layer:
    """A distance layer from an instance, a config dict, or a name in `siamese.registry.DISTANCES`."""
    if isinstance(identifier, keras.layers.Layer):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if not isinstance(identifier, str):
        raise ConfigError(f"distance must be one of {list(DISTANCES)} or a Layer, got {identifier!r}")
    return _BY_NAME[DISTANCES.check(identifier)](name="distance")
