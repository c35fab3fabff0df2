"""The Siamese network: shared tower, save/load round trips under safe_mode, atomic saves."""

import errno
import json
import os
import zipfile

import keras
import numpy as np
import pytest

from siamese.errors import ModelFileError, OutputError
from siamese.model import SiameseNetwork, build_tower, load_network, save_network

X = np.random.default_rng(0).random((6, 16, 16, 1)).astype("float32")


def _network(distance="euclidean", **kwargs):
    keras.utils.set_random_seed(0)
    tower = build_tower((16, 16, 1), filters=(8, 8), embedding_dim=12, dropout=0.1, l2=1e-4, **kwargs)
    return SiameseNetwork(
        tower, distance, preprocessing={"image_size": [16, 16], "channels": 1, "invert": True}, threshold=0.7
    )


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)


def _euclidean(a, b):
    return np.sqrt(np.sum(np.square(a - b), axis=-1))


def test_one_tower_is_shared_by_both_inputs():
    network = _network()
    a, b = X, np.random.default_rng(1).random(X.shape).astype("float32")
    old_a, old_b = _numpy(network.tower(a)), _numpy(network.tower(b))  # each input embedded on its own
    before = _numpy(network((a, b)))
    assert np.all(before > 0.05)  # distinct images: a real distance, not zero
    assert np.allclose(before, _euclidean(old_a, old_b), atol=1e-5)
    # New weights for the one tower (scaled by positive factors: BN variances stay positive).
    rng = np.random.default_rng(2)
    network.tower.set_weights([w * rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in network.tower.get_weights()])
    new_a, new_b = _numpy(network.tower(a)), _numpy(network.tower(b))
    assert np.min(np.abs(new_a - old_a).max(axis=1)) > 1e-3 and np.min(np.abs(new_b - old_b).max(axis=1)) > 1e-3
    after = _numpy(network((a, b)))
    assert np.allclose(after, _euclidean(new_a, new_b), atol=1e-5)
    assert np.min(np.abs(after - before)) > 1e-4
    # Neither branch kept the old weights: a tower per input would match one of these instead.
    assert np.min(np.abs(after - _euclidean(new_a, old_b))) > 1e-4
    assert np.min(np.abs(after - _euclidean(old_a, new_b))) > 1e-4
    assert len(network.tower.trainable_weights) + len(network.distance.trainable_weights) == len(
        network.trainable_weights
    )


@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "cosine", "learned"])
def test_save_load_round_trip_under_safe_mode(tmp_path, distance):
    network = _network(distance)
    path = save_network(network, tmp_path / "m.keras")
    loaded = load_network(path)
    assert loaded.threshold == 0.7 and loaded.preprocessing["invert"] is True
    assert type(loaded.distance) is type(network.distance)
    assert np.array_equal(keras.ops.convert_to_numpy(loaded.tower(X)), keras.ops.convert_to_numpy(network.tower(X)))
    assert np.array_equal(
        keras.ops.convert_to_numpy(loaded((X, X[::-1]))), keras.ops.convert_to_numpy(network((X, X[::-1])))
    )
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    class_names = set(_class_names(config))
    assert {"SiameseNetwork", "Conv2D", type(network.distance).__name__} <= class_names  # the walk sees the layers
    assert "Lambda" not in class_names and "__lambda__" not in class_names


def _class_names(config):
    """Every "class_name" anywhere in a serialized Keras config."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield config["class_name"]
        for value in config.values():
            yield from _class_names(value)
    elif isinstance(config, list):
        for value in config:
            yield from _class_names(value)


def test_load_refuses_a_model_that_carries_a_lambda_layer(tmp_path):
    keras.utils.set_random_seed(0)
    inner = build_tower((16, 16, 1), filters=(8, 8), embedding_dim=12)
    image = keras.Input((16, 16, 1))
    tower = keras.Model(image, keras.layers.Lambda(lambda t: t * 2.0, name="doubling")(inner(image)), name="tower")
    network = SiameseNetwork(tower, "euclidean", preprocessing={"image_size": [16, 16], "channels": 1, "invert": True})
    path = save_network(network, tmp_path / "lambda.keras")
    assert "Lambda" in set(_class_names(json.loads(zipfile.ZipFile(path).read("config.json"))))
    with pytest.raises(ModelFileError, match=r"lambda.keras: not a siamese model \(.*Lambda"):
        load_network(path)
    # The file itself is sound: only safe_mode stands between it and its Python code.
    unsafe = keras.saving.load_model(path, compile=False, safe_mode=False)
    assert isinstance(unsafe, SiameseNetwork)
    assert np.allclose(
        keras.ops.convert_to_numpy(unsafe.tower(X)), keras.ops.convert_to_numpy(network.tower(X)), atol=1e-6
    )


def test_unit_norm_tower_gives_unit_embeddings():
    embeddings = keras.ops.convert_to_numpy(_network().tower(X))
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_failed_save_leaves_the_old_model_intact(tmp_path, monkeypatch):
    path = save_network(_network(), tmp_path / "m.keras")
    before = path.read_bytes()
    network = _network()

    def crash(*args, **kwargs):
        open(args[0], "wb").write(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(network, "save", crash)
    with pytest.raises(
        OutputError, match=r"m.keras: cannot be written \(No space left on device\); nothing there was changed"
    ):
        save_network(network, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def test_save_wants_a_keras_file(tmp_path):
    with pytest.raises(ModelFileError, match="must end in .keras"):
        save_network(_network(), tmp_path / "m.h5")


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ModelFileError, match="none.keras: no such model file"):
        load_network(tmp_path / "none.keras")
    text = tmp_path / "text.keras"
    text.write_text("not a model")
    with pytest.raises(ModelFileError, match=r"text.keras: not a Keras model file"):
        load_network(text)
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match=r"other.keras: not a siamese model"):
        load_network(other)
    plain = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]).save(plain)
    with pytest.raises(ModelFileError, match=r"plain.keras: a Keras model, but not a siamese network"):
        load_network(plain)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": ()}, "filters must be"),
        ({"embedding_dim": 0}, "embedding_dim must be positive, got 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"l2": -1}, "l2 must be zero or positive, got -1"),
        ({"filters": (8, 8, 8, 8, 8)}, "too small for 5 pooling blocks"),
    ],
)
def test_tower_checks_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_tower((16, 16, 1), **kwargs)


def test_saved_files_get_ordinary_permissions(tmp_path):
    path = save_network(_network(), tmp_path / "m.keras")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    path.chmod(0o640)
    save_network(_network(), path)
    assert path.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode
