"""Distances against brute-force numpy, pairwise against matched rows, gradients, configs."""

import keras
import numpy as np
import pytest

from siamese.model import distances
from siamese.model.distances import CosineDistance, EuclideanDistance, LearnedDistance, ManhattanDistance

RNG = np.random.default_rng(0)
A = RNG.normal(size=(5, 7)).astype("float32")
B = RNG.normal(size=(5, 7)).astype("float32")

REFERENCE = {
    EuclideanDistance: lambda a, b: np.sqrt(((a - b) ** 2).sum()),
    ManhattanDistance: lambda a, b: np.abs(a - b).sum(),
    CosineDistance: lambda a, b: 1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b),
}


@pytest.mark.parametrize("layer_class", list(REFERENCE))
def test_matches_a_loop_over_pairs(layer_class):
    layer = layer_class()
    expected = [REFERENCE[layer_class](a, b) for a, b in zip(A, B)]
    assert np.allclose(keras.ops.convert_to_numpy(layer(A, B)), expected, atol=1e-5)


@pytest.mark.parametrize("layer_class", [*REFERENCE, LearnedDistance])
def test_pairwise_matches_every_pair(layer_class):
    layer = layer_class()
    layer(A, B)  # build
    matrix = keras.ops.convert_to_numpy(layer.pairwise(A))
    assert matrix.shape == (5, 5)
    for i in range(5):
        row = keras.ops.convert_to_numpy(layer(np.repeat(A[i : i + 1], 5, axis=0), A))
        assert np.allclose(matrix[i], row, atol=1e-4)


def _gradient(function, x: np.ndarray) -> np.ndarray:
    """d sum(function(x)) / dx on the backend in use (the one place a test needs its autodiff)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: keras.ops.sum(function(v)))(x))
    if backend == "torch":
        import torch

        variable = torch.tensor(x, requires_grad=True)
        keras.ops.sum(function(variable)).backward()
        return variable.grad.numpy()
    import tensorflow as tf

    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(function(variable))
    return tape.gradient(total, variable).numpy()


def test_euclidean_gradient_is_finite_at_zero_distance():
    layer = EuclideanDistance()
    gradient = _gradient(lambda x: keras.ops.sum(layer(x, x + 0.0)) + keras.ops.sum(layer.pairwise(x)), A)
    assert gradient.shape == A.shape and np.all(np.isfinite(gradient))


def test_learned_distance_is_a_probability():
    layer = LearnedDistance()
    out = keras.ops.convert_to_numpy(layer(A, B))
    assert out.shape == (5,) and np.all((out > 0) & (out < 1))
    assert len(layer.trainable_weights) == 2


@pytest.mark.parametrize("name", ["euclidean", "manhattan", "cosine", "learned"])
def test_get_accepts_names_instances_and_configs(name):
    layer = distances.get(name)
    assert distances.get(layer) is layer
    again = distances.get(keras.saving.serialize_keras_object(layer))
    assert type(again) is type(layer)


def test_get_rejects_unknown_names():
    with pytest.raises(ValueError, match="distance must be one of .* got 'l3'"):
        distances.get("l3")
