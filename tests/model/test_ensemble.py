"""Ensembles: one network whose cosine distance is the mean of its members', saved, reloaded
with safe_mode and exported to ONNX like any other."""

import keras
import numpy as np
import pytest

from siamese.inference import export_model, load_model
from siamese.model import SiameseNetwork, build_tower, load_network, save_network
from siamese.model.ensemble import ensemble_network

PREPROCESSING = {"image_size": [16, 16], "channels": 1, "invert": True}
IMAGES = np.random.default_rng(1).random((6, 16, 16, 1)).astype("float32")


def _member(seed, threshold=0.4, distance="cosine", normalize=True, preprocessing=PREPROCESSING):
    keras.utils.set_random_seed(seed)
    tower = build_tower((16, 16, 1), filters=(8, 8), embedding_dim=6 + seed, normalize=normalize)
    return SiameseNetwork(tower, distance, preprocessing=dict(preprocessing), threshold=threshold)


def _mean_distance(members, a, b):
    return np.mean([keras.ops.convert_to_numpy(m((a, b))) for m in members], axis=0)


def test_the_ensemble_distance_is_the_mean_of_the_members_and_survives_saving(tmp_path):
    members = [_member(0, 0.3), _member(1, 0.5), _member(2, 0.4)]
    ensemble = ensemble_network(members)
    a, b = IMAGES[:3], IMAGES[3:]
    expected = _mean_distance(members, a, b)
    assert np.allclose(keras.ops.convert_to_numpy(ensemble((a, b))), expected, atol=1e-6)
    assert ensemble.threshold == pytest.approx(0.4) and ensemble.preprocessing == PREPROCESSING
    assert ensemble.tower.count_params() == sum(m.tower.count_params() for m in members)
    norms = np.linalg.norm(keras.ops.convert_to_numpy(ensemble.tower(IMAGES)), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-6)  # unit length, as one member's embeddings are

    path = save_network(ensemble_network(members, threshold=0.25), tmp_path / "ensemble.keras")
    reloaded = load_network(path)  # safe_mode: no code from the file runs
    assert reloaded.threshold == 0.25
    assert np.allclose(keras.ops.convert_to_numpy(reloaded((a, b))), expected, atol=1e-6)


def test_an_exported_ensemble_answers_as_keras_does(tmp_path):
    pytest.importorskip("onnxruntime")
    path = save_network(ensemble_network([_member(0), _member(1)]), tmp_path / "pair.keras")
    result = export_model(path)
    assert result.max_difference < 1e-5
    files = [tmp_path / f"{i}.png" for i in range(2)]
    import cv2

    for file, image in zip(files, IMAGES[:2]):
        cv2.imwrite(str(file), (image[..., 0] * 255).astype(np.uint8))
    onnx, plain = load_model(path, engine="onnx"), load_model(path, engine="keras")
    assert np.allclose(onnx.embed(files), plain.embed(files), atol=1e-5)


@pytest.mark.parametrize(
    "members, message",
    [
        (lambda: [_member(0)], "needs 2 or more networks"),
        (lambda: [_member(0), _member(1, distance="euclidean")], "member 1: the ensemble averages cosine distances"),
        (lambda: [_member(0), _member(1, normalize=False)], "member 1: its tower must end in unit-length embeddings"),
        (lambda: [_member(0), _member(1, preprocessing={**PREPROCESSING, "invert": False})], "member 1: its input"),
    ],
)
def test_members_that_cannot_be_averaged_are_refused(members, message):
    with pytest.raises(ValueError, match=message):
        ensemble_network(members())
