"""The Siamese network: shared tower, save/load round trips under safe_mode, atomic saves."""

import os
import zipfile

import keras
import numpy as np
import pytest

from siamese.errors import ModelFileError
from siamese.model import SiameseNetwork, build_tower, load_network, save_network

X = np.random.default_rng(0).random((6, 16, 16, 1)).astype("float32")


def _network(distance="euclidean", **kwargs):
    keras.utils.set_random_seed(0)
    tower = build_tower((16, 16, 1), filters=(8, 8), embedding_dim=12, dropout=0.1, l2=1e-4, **kwargs)
    return SiameseNetwork(tower, distance, preprocessing={"image_size": [16, 16], "channels": 1, "invert": True}, threshold=0.7)


def test_one_tower_is_shared_by_both_inputs():
    network = _network()
    forward = keras.ops.convert_to_numpy(network((X, X[::-1])))
    backward = keras.ops.convert_to_numpy(network((X[::-1], X)))
    assert np.allclose(forward, backward[::-1], atol=1e-6)
    assert np.allclose(keras.ops.convert_to_numpy(network((X, X))), 0.0, atol=1e-3)
    assert len(network.tower.trainable_weights) + len(network.distance.trainable_weights) == len(network.trainable_weights)


@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "cosine", "learned"])
def test_save_load_round_trip_under_safe_mode(tmp_path, distance):
    network = _network(distance)
    path = save_network(network, tmp_path / "m.keras")
    loaded = load_network(path)
    assert loaded.threshold == 0.7 and loaded.preprocessing["invert"] is True
    assert type(loaded.distance) is type(network.distance)
    assert np.array_equal(keras.ops.convert_to_numpy(loaded.tower(X)), keras.ops.convert_to_numpy(network.tower(X)))
    assert np.array_equal(keras.ops.convert_to_numpy(loaded((X, X[::-1]))), keras.ops.convert_to_numpy(network((X, X[::-1]))))
    assert not any("lambda" in name.lower() for name in zipfile.ZipFile(path).namelist())


def test_unit_norm_tower_gives_unit_embeddings():
    embeddings = keras.ops.convert_to_numpy(_network().tower(X))
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_failed_save_leaves_the_old_model_intact(tmp_path, monkeypatch):
    path = save_network(_network(), tmp_path / "m.keras")
    before = path.read_bytes()
    network = _network()

    def crash(*args, **kwargs):
        open(args[0], "wb").write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(network, "save", crash)
    with pytest.raises(OSError, match="disk full"):
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


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": ()}, "filters must be"),
    ({"embedding_dim": 0}, "embedding_dim must be positive, got 0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
    ({"l2": -1}, "l2 must be zero or positive, got -1"),
    ({"filters": (8, 8, 8, 8, 8)}, "too small for 5 pooling blocks"),
])
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
