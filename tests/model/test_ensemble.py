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
    size = tuple(preprocessing["image_size"])
    tower = build_tower((*size, 1), filters=(8, 8), embedding_dim=6 + seed, normalize=normalize)
    return SiameseNetwork(tower, distance, preprocessing=dict(preprocessing), threshold=threshold)


def _write_drawings(folder, count=6, size=(90, 150)):
    """Grey strokes on white, larger than any member's input, as PNG files."""
    import cv2

    rng = np.random.default_rng(3)
    files = []
    for index in range(count):
        image = np.full(size, 255, np.uint8)
        for _ in range(4):
            points = rng.integers(0, [size[1], size[0]], (2, 2))
            cv2.line(image, tuple(map(int, points[0])), tuple(map(int, points[1])), int(rng.integers(0, 120)), 3)
        files.append(folder / f"{index}.png")
        cv2.imwrite(str(files[-1]), image)
    return files


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


def test_members_of_two_sizes_read_each_image_as_they_would_alone(tmp_path):
    coarse = {**PREPROCESSING, "image_size": [16, 32]}
    fine = {**PREPROCESSING, "image_size": [32, 64]}
    members = [_member(0, preprocessing=coarse), _member(1, preprocessing=fine)]
    paths = [save_network(m, tmp_path / f"member{i}.keras") for i, m in enumerate(members)]
    path = save_network(ensemble_network(members), tmp_path / "mixed.keras")
    files = _write_drawings(tmp_path)
    ensemble = load_model(path, engine="keras")
    assert ensemble.preprocessing.image_size == (32, 64)  # the largest member's
    alone = [load_model(p, engine="keras") for p in paths]
    pairs = [(files[i], files[j]) for i in range(len(files)) for j in range(i + 1, len(files))]
    mixed = np.array([ensemble.distance(a, b) for a, b in pairs])
    expected = np.array([np.mean([m.distance(a, b) for m in alone]) for a, b in pairs])
    assert np.abs(mixed - expected).max() < 5e-3  # area resizing twice vs once: 8-bit rounding only (measured 2.8e-3)
    assert np.abs(mixed - expected).max() < 0.1 * np.std(expected)
    pytest.importorskip("onnxruntime")
    assert export_model(path).max_difference < 1e-5
    assert np.allclose(load_model(path, engine="onnx").embed(files), ensemble.embed(files), atol=1e-5)


@pytest.mark.parametrize(
    "sizes, message",
    [
        (
            ([16, 32], [32, 32]),
            "member 0: its input of 16x32 is not the largest member's 32x32 shrunk by a whole factor",
        ),
        (([16, 16], [24, 24]), "member 0: its input of 16x16 is not the largest member's 24x24"),
    ],
)
def test_members_of_another_aspect_or_a_fraction_of_the_size_are_refused(sizes, message):
    members = [_member(i, preprocessing={**PREPROCESSING, "image_size": size}) for i, size in enumerate(sizes)]
    with pytest.raises(ValueError, match=message):
        ensemble_network(members)


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
