"""The numpy distances of the ONNX engine against the Keras layers they stand in for."""

import keras
import numpy as np
import pytest

from siamese.inference.keras_engine import distance_spec
from siamese.model import distances
from siamese.numpy_distances import NumpyDistance

RNG = np.random.default_rng(0)
A = RNG.normal(size=(9, 7)).astype("float32")
B = RNG.normal(size=(9, 7)).astype("float32")
B[0] = A[0]  # a zero distance: the sqrt floor and the unit scaling must match there too


def _layer(name):
    layer = distances.get(name)
    layer(A, B)  # build
    if name == "learned":
        layer.dense.set_weights([RNG.normal(size=(7, 1)).astype("float32"), np.array([0.3], "float32")])
    return layer


@pytest.mark.parametrize("name", ["euclidean", "manhattan", "cosine", "learned"])
def test_matches_the_keras_layer(name):
    layer = _layer(name)
    numpy_distance = NumpyDistance.from_spec(distance_spec(layer))
    expected = keras.ops.convert_to_numpy(layer(A, B))
    got = numpy_distance(A, B)
    assert got.shape == (9,) and got.dtype == np.float32
    assert np.allclose(got, expected, atol=1e-6, rtol=1e-5)


def test_learned_head_survives_extreme_logits_without_overflow():
    distance = NumpyDistance("learned", np.full((7, 1), 1e4, np.float32), np.zeros(1, np.float32))
    with np.errstate(all="raise"):
        result = distance(A, B)
    assert np.all((result >= 0) & (result <= 1)) and result[0] == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["euclidean", "manhattan", "cosine", "learned"])
def test_spec_round_trips_through_json(name):
    import json

    spec = distance_spec(_layer(name))
    again = NumpyDistance.from_spec(json.loads(json.dumps(spec)))
    assert np.array_equal(again(A, B), NumpyDistance.from_spec(spec)(A, B))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "hamming"}, "distance must be one of .* got 'hamming'"),
        ({"name": "learned"}, "kernel and bias go with 'learned'"),
        ({"name": "cosine", "kernel": np.ones((2, 1)), "bias": np.ones(1)}, "kernel and bias go with 'learned'"),
    ],
)
def test_bad_distances_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NumpyDistance(**kwargs)
