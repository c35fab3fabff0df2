"""Every name in the registry has what it names: a Keras class, a numpy twin, a code path."""

import numpy as np
import pytest

from siamese import registry
from siamese.model import distances, losses, reducers
from siamese.numpy_distances import NumpyDistance
from siamese.shipped import pretrained_path
from siamese.training import ThresholdCalibrator, TrainConfig


def test_names_check_and_say_what_is_accepted():
    assert registry.DISTANCES.check("cosine") == "cosine"
    with pytest.raises(
        ValueError, match=r"distance must be one of \['euclidean', 'manhattan', 'cosine', 'learned'\], got 'cosin'"
    ):
        registry.DISTANCES.check("cosin")
    assert list(registry.ENGINES) == ["auto", "onnx", "keras"] and "onnx" in registry.ENGINES


@pytest.mark.parametrize("name", list(registry.DISTANCES))
def test_each_distance_has_a_keras_layer_and_a_numpy_twin_that_agree(name):
    layer = distances.get(name)
    assert distances.name_of(layer) == name
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 6)).astype("float32"), rng.normal(size=(5, 6)).astype("float32")
    keras_distances = np.asarray(layer(a, b))
    spec = {"name": name}
    if name == "learned":
        kernel, bias = (np.asarray(w, np.float32) for w in layer.dense.get_weights())
        spec = {"name": name, "kernel": kernel.tolist(), "bias": bias.tolist()}
    assert np.allclose(NumpyDistance.from_spec(spec)(a, b), keras_distances, atol=1e-5)


@pytest.mark.parametrize("name", list(registry.LOSSES))
def test_each_loss_is_made_by_name_and_configured_by_the_config(name):
    assert isinstance(losses.get(name, margin=0.5), losses.BatchLoss)
    distance = "learned" if name in registry.PROBABILITY_LOSSES else "cosine"
    assert TrainConfig.from_settings(loss=name, distance=distance).loss.pair_loss == name


@pytest.mark.parametrize("name", list(registry.REDUCERS))
def test_each_reducer_is_made_by_name(name):
    assert isinstance(reducers.get(name), reducers.MeanReducer)


@pytest.mark.parametrize("name", list(registry.OBJECTIVES))
def test_each_objective_calibrates(name):
    calibrator = ThresholdCalibrator(name, target_far=0.2).fit([0.1, 0.2, 0.7, 0.8], [1, 1, 0, 0])
    assert 0.2 <= calibrator.threshold_ < 0.7


@pytest.mark.parametrize("name", list(registry.PRETRAINED))
def test_each_pretrained_model_is_installed(name):
    assert pretrained_path(name).is_file() and pretrained_path(name).with_suffix(".onnx").is_file()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("distance", "cosin", "distance must be one of"),
        ("reducer", "max", "reducer must be one of"),
        ("loss", "triplet", "loss must be one of"),
        ("margin", -1.0, "margin must be positive, got -1.0"),
        ("loss", "crossentropy", "loss 'crossentropy' needs distance 'learned'"),
    ],
)
def test_train_config_refuses_bad_names_at_once(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_settings(**{field: value})
