"""The pen's grey is not the hand: a model that binarises (contrast "binarize", saved with it)
gives a signature written with a dark pen and the same strokes in a light, uneven pen nearly
the distance zero, on the Keras and the ONNX engine; without binarising, it does not."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from siamese.data import Preprocessing, preprocess
from siamese.inference import export_model, load_model

SAMPLE = Path(__file__).resolve().parents[2] / "dataset" / "signatures-sample"


def _restroked(path: Path, grey: int, spread: int, seed: int = 0) -> np.ndarray:
    """A real signature on white paper, its strokes redrawn at `grey` +/- `spread` (a pen's shade and texture)."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    ink = image < 128
    out = np.full(image.shape, 255, np.uint8)
    noise = np.random.default_rng(seed).integers(-spread, spread + 1, image.shape)
    out[ink] = np.clip(grey + noise[ink], 0, 255)
    return out[:, :, None]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """contrast -> an untrained signature model (ink crop, 64x128, kept aspect), saved and exported."""
    import keras

    from siamese.model import SiameseNetwork, build_tower, save_network

    folder, found = tmp_path_factory.mktemp("ink-grey"), {}
    for contrast in ("binarize", "stretch", "none"):
        keras.utils.set_random_seed(0)
        preprocessing = Preprocessing(
            image_size=(64, 128), invert=True, crop="ink", contrast=contrast, keep_aspect=True
        ).to_dict()
        network = SiameseNetwork(
            build_tower((64, 128, 1), filters=(8, 16), embedding_dim=16), "euclidean", preprocessing=preprocessing
        )
        found[contrast] = save_network(network, folder / f"{contrast}.keras")
        export_model(found[contrast])
    return found


def test_binarising_makes_ink_and_paper_two_levels_whatever_the_pen():
    dark, light = _restroked(SAMPLE / "1" / "1.png", 40, 0), _restroked(SAMPLE / "1" / "1.png", 120, 30)
    settings = Preprocessing(image_size=(64, 128), crop="ink", contrast="binarize", keep_aspect=True)
    assert np.array_equal(preprocess(dark, settings), preprocess(light, settings))
    assert Preprocessing.from_dict(settings.to_dict()).contrast == "binarize"


@pytest.mark.parametrize("engine", ["keras", "onnx"])
def test_only_the_stroke_grey_changed_leaves_the_distance_near_zero_when_binarised(models, engine):
    distances = {}
    for contrast, path in models.items():
        model = load_model(path, engine=engine)
        assert model.preprocessing.contrast == contrast  # saved with the model, read back by both engines
        dark, light = _restroked(SAMPLE / "1" / "1.png", 40, 0), _restroked(SAMPLE / "1" / "1.png", 120, 30)
        other = _restroked(SAMPLE / "2" / "1.png", 40, 0)  # another writer: the scale of a real difference
        distances[contrast] = model.distance(dark, light) / model.distance(dark, other)  # untrained: small
    assert distances["binarize"] < 1e-4  # about 1e-6: the inputs are the same
    assert distances["stretch"] > 0.01 and distances["none"] > 0.01  # about 0.03: the pen shows


@pytest.mark.parametrize("engine", ["keras", "onnx"])
def test_the_shipped_signatures_model_binarises_so_the_pen_grey_moves_no_distance(engine):
    model = load_model("signatures", engine=engine)
    assert model.preprocessing.contrast == "binarize"
    dark, light = _restroked(SAMPLE / "1" / "1.png", 40, 0), _restroked(SAMPLE / "1" / "1.png", 120, 30)
    other = _restroked(SAMPLE / "2" / "1.png", 40, 0)
    assert model.distance(dark, light) < 1e-4 * model.distance(dark, other)  # the same input, whatever the pen
