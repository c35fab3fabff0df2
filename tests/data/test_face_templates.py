"""The "arcface" face template: one set of landmarks, a second frame (MobileFaceNet's 112x112).

The chip is held to one computed independently here with OpenCV's own least squares
(`cv2.estimateAffinePartial2D`, refined on the five points) and `cv2.warpAffine`; the
template travels in the saved `Preprocessing`, and a face crop of a real photo through the
package's preprocessing is the chip of the landmarks its detector found.
"""

import cv2
import numpy as np
import pytest

from siamese.data import Preprocessing, preprocess, read_image
from siamese.data.faces import ARCFACE_TEMPLATE, TEMPLATE, align_face, cut_chip
from siamese.errors import ConfigError

ARCFACE_112 = [(80.41, 52.66), (66.59, 53.07), (31.29, 52.94), (45.17, 53.19), (56.02, 79.75)]  # README's points


def _photo_with_landmarks(seed: int = 0):
    """A smooth random RGB 'photo' and 5 landmarks: the template turned 12 degrees, scaled 2.3x,
    moved, and jittered by about a pixel (so the least squares have something to do)."""
    rng = np.random.default_rng(seed)
    image = cv2.resize(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), (500, 400), interpolation=cv2.INTER_CUBIC)
    angle = np.deg2rad(12.0)
    turn = 2.3 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = np.array(ARCFACE_112) @ turn.T + [170.0, 90.0] + rng.normal(0, 1.0, (5, 2))
    return image, landmarks


@pytest.mark.parametrize("size", [112, 224])
def test_the_arcface_chip_is_opencvs_least_squares_similarity_chip(size):
    image, landmarks = _photo_with_landmarks()
    target = np.array(ARCFACE_112, np.float32) * size / 112
    matrix, inliers = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), target, ransacReprojThreshold=10.0)
    assert inliers.all()
    expected = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    chip = cut_chip(image, landmarks, size, "arcface")

    assert chip.shape == (size, size, 3) and chip.dtype == np.uint8
    difference = np.abs(chip.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.01
    assert np.allclose(ARCFACE_TEMPLATE * 112, ARCFACE_112)


def test_one_set_of_landmarks_gives_two_different_frames():
    image, landmarks = _photo_with_landmarks(1)
    assert np.array_equal(cut_chip(image, landmarks, 150, "dlib"), align_face(image, landmarks, 150))
    arcface = cut_chip(image, landmarks, 150, "arcface")
    assert arcface.shape == (150, 150, 3) and not np.array_equal(arcface, align_face(image, landmarks, 150))
    assert not np.allclose(TEMPLATE, ARCFACE_TEMPLATE, atol=0.05)  # dlib's frame has a margin; ArcFace's is tight


def test_a_grey_photo_gives_a_grey_chip():
    image, landmarks = _photo_with_landmarks(2)
    grey = image[:, :, :1].copy()
    assert cut_chip(grey, landmarks, 112, "arcface").shape == (112, 112, 1)


def test_the_template_is_saved_with_the_preprocessing_and_old_models_keep_dlibs():
    settings = Preprocessing(image_size=(112, 112), channels=3, crop="face", face_template="arcface")
    assert Preprocessing.from_dict(settings.to_dict()) == settings
    assert Preprocessing.from_dict({"image_size": [150, 150], "channels": 3, "crop": "face"}).face_template == "dlib"
    with pytest.raises(ConfigError, match="face template must be one of \\['dlib', 'arcface'\\], got 'arc'"):
        Preprocessing(crop="face", face_template="arc")


def test_a_face_crop_with_the_arcface_template_cuts_the_chip_of_the_landmarks_found(shared_data):
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    from siamese.data.faces import find_faces

    path = sorted((shared_data / "celeba-faces-dev" / "10001").glob("*.jpg"))[0]
    image = read_image(path, channels=3)
    settings = Preprocessing(image_size=(112, 112), channels=3, crop="face", face_template="arcface")

    got = preprocess(image, settings)

    expected = cut_chip(image, find_faces(image)[0].landmarks, 112, "arcface").astype(np.float32) / 255.0
    assert got.shape == (112, 112, 3) and np.allclose(got, expected, atol=1e-6)
