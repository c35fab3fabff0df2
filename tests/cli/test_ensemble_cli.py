"""`siamese ensemble`: real model files in, one model out that verifies; bad members exit 2 in one line."""

import json

import cv2
import keras
import numpy as np
import pytest

from siamese.cli.main import main
from siamese.model import SiameseNetwork, build_tower, load_network, save_network

PREPROCESSING = {"image_size": [16, 16], "channels": 1, "invert": True}


def _save(path, seed, distance="cosine"):
    keras.utils.set_random_seed(seed)
    tower = build_tower((16, 16, 1), filters=(8, 8), embedding_dim=8)
    return save_network(SiameseNetwork(tower, distance, preprocessing=PREPROCESSING, threshold=0.2 + 0.2 * seed), path)


@pytest.fixture()
def members(tmp_path):
    return [_save(tmp_path / "a.keras", 0), _save(tmp_path / "b.keras", 1)]


def test_ensemble_joins_models_that_then_verify(members, tmp_path, capsys):
    out = tmp_path / "joined.keras"
    assert main(["ensemble", *map(str, members), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ensemble of 2 models" in printed and "threshold 0.3000" in printed
    images = np.random.default_rng(0).integers(0, 256, size=(2, 20, 20), dtype=np.uint8)
    files = [tmp_path / f"{i}.png" for i in range(2)]
    for file, image in zip(files, images):
        cv2.imwrite(str(file), image)
    assert main(["verify", *map(str, files), "--model", str(out), "--json", "--engine", "keras"]) == 0
    answer = json.loads(capsys.readouterr().out)
    tensors = (
        np.stack([cv2.resize(255 - image, (16, 16), interpolation=cv2.INTER_AREA) for image in images])[..., None]
        / 255.0
    )
    a, b = tensors[:1].astype("float32"), tensors[1:].astype("float32")
    expected = np.mean([float(keras.ops.convert_to_numpy(load_network(m)((a, b)))[0]) for m in members])
    assert answer["distance"] == pytest.approx(expected, abs=2e-3) and answer["threshold"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("euclidean", "c.keras: the ensemble averages cosine distances"),
        ("itself", "a.keras: is one of the members"),
        ("missing", "nowhere.keras"),
        ("one", "needs 2 or more networks"),
    ],
)
def test_bad_members_exit_2_with_one_line(members, tmp_path, capsys, case, fragment):
    args = {
        "euclidean": [members[0], _save(tmp_path / "c.keras", 2, "euclidean")],
        "itself": members,
        "missing": [members[0], tmp_path / "nowhere.keras"],
        "one": members[:1],
    }[case]
    out = members[0] if case == "itself" else tmp_path / "out.keras"
    assert main(["ensemble", *map(str, args), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and err.startswith("siamese: error:")
    assert case == "itself" or not out.exists()
