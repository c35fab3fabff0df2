"""The non-learned baselines of benchmarks/baselines.py: shapes, unit rows, distances that
mean something, aspect kept.

Images are real files drawn with OpenCV into a temporary folder and read back by path, as
the benchmark reads its data sets.
"""

import sys

import cv2
import numpy as np
import pytest

from siamese.errors import ImageError
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from baselines import (  # noqa: E402  (benchmarks/ is not a package: found through sys.path)
    BASELINES,
    UNIFORM_BINS,
    cosine_distance,
    grey_at_size,
    hog_embedding,
    lbp_codes,
    lbp_embedding,
    pixels_embedding,
)


def _glyph(kind: str, shift=(0, 0), size=64) -> np.ndarray:
    """Black ink on white paper: a cross or a circle, moved by `shift` (dx, dy) pixels."""
    canvas = np.full((size, size), 255, np.uint8)
    cx, cy = size // 2 + shift[0], size // 2 + shift[1]
    if kind == "cross":
        cv2.line(canvas, (cx - 18, cy - 18), (cx + 18, cy + 18), 0, 4)
        cv2.line(canvas, (cx - 18, cy + 18), (cx + 18, cy - 18), 0, 4)
    else:
        cv2.circle(canvas, (cx, cy), 18, 0, 4)
    return canvas


@pytest.fixture
def files(tmp_path):
    """cross.png, cross_shifted.png (moved by 2 pixels), circle.png, and a colour JPEG-free PNG."""
    paths = {}
    for name, image in [
        ("cross", _glyph("cross")),
        ("cross_shifted", _glyph("cross", (2, 1))),
        ("circle", _glyph("circle")),
    ]:
        paths[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(paths[name]), image)
    colour = cv2.cvtColor(_glyph("circle", (0, 0), 48), cv2.COLOR_GRAY2BGR)
    colour[:, :, 2] = 255 - colour[:, :, 2]  # not grey: the channels differ
    paths["colour"] = tmp_path / "colour.png"
    cv2.imwrite(str(paths["colour"]), colour)
    return paths


@pytest.mark.parametrize("name", list(BASELINES))
def test_rows_are_unit_length_float32_of_a_fixed_size(name, files):
    embed = BASELINES[name]()
    rows = embed([files["cross"], files["circle"], files["colour"], np.zeros((30, 90, 3), np.uint8) + 40])
    assert rows.dtype == np.float32 and rows.ndim == 2 and rows.shape[0] == 4
    norms = np.linalg.norm(rows[:3], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    assert np.linalg.norm(rows[3]) in (0.0, pytest.approx(1.0, abs=1e-5))  # a blank image: zero or unit, never NaN
    assert np.all(np.isfinite(rows))


def test_sizes_of_the_defaults():
    image = _glyph("cross")
    assert pixels_embedding()(image).shape == (1, 32 * 32)
    assert hog_embedding()(image).shape == (1, 7 * 7 * 4 * 9)  # 7 x 7 blocks of 2 x 2 cells, 9 bins
    assert lbp_embedding()(image).shape == (1, 16 * UNIFORM_BINS)


@pytest.mark.parametrize("name", list(BASELINES))
def test_an_identical_image_is_at_distance_zero_and_a_different_one_is_not(name, files):
    rows = BASELINES[name]()([files["cross"], files["cross"], files["circle"]])
    same = cosine_distance(rows[:1], rows[1:2])[0]
    different = cosine_distance(rows[:1], rows[2:3])[0]
    assert same == pytest.approx(0.0, abs=1e-6)
    assert different > 0.05


def test_a_shifted_copy_is_closer_under_hog_than_another_shape(files):
    rows = hog_embedding()([files["cross"], files["cross_shifted"], files["circle"]])
    shifted = cosine_distance(rows[:1], rows[1:2])[0]
    other = cosine_distance(rows[:1], rows[2:3])[0]
    assert 0.0 < shifted < other


def test_paths_and_arrays_give_the_same_rows(files):
    embed = hog_embedding()
    from_path = embed([files["cross"]])
    from_array = embed([_glyph("cross")])
    from_float = embed([_glyph("cross").astype(np.float32) / 255.0])
    np.testing.assert_allclose(from_path, from_array, atol=1e-6)
    np.testing.assert_allclose(from_float, from_array, atol=1e-6)


def test_a_wide_image_keeps_its_aspect(tmp_path):
    """A 40 x 160 bar drawn across the middle of a wide image stays a thin bar after fitting
    into a square: padded above and below with the paper's colour, not stretched to fill it."""
    wide = np.full((40, 160), 255, np.uint8)
    wide[18:22, 10:150] = 0  # a 4-pixel horizontal stroke
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), wide)
    square = grey_at_size(path, (64, 64))[0]
    assert square.shape == (64, 64)
    ink_rows = np.flatnonzero((square < 128).any(axis=1))
    assert len(ink_rows) <= 3 and abs(ink_rows.mean() - 31.5) <= 1.5  # thin and centred
    assert np.all(square[:16] == 255) and np.all(square[-16:] == 255)  # padding is paper, not black
    stretched = cv2.resize(wide, (64, 64), interpolation=cv2.INTER_AREA)
    assert np.flatnonzero((stretched < 128).any(axis=1)).size > len(ink_rows)  # what stretching would have done


def test_padding_takes_the_border_median_of_a_dark_background():
    tall = np.zeros((80, 20), np.uint8)
    tall[10:70, 8:12] = 255  # white ink on black
    square = grey_at_size(tall, (32, 32))[0]
    assert square[:, :4].max() == 0 and square.max() > 128


def test_non_square_targets_keep_the_aspect_too():
    image = np.full((40, 160), 255, np.uint8)
    image[:, 78:82] = 0  # a vertical stroke in the middle
    out = grey_at_size(image, (16, 64))[0]  # 1:4 target, 1:4 image: no padding at all
    assert out.shape == (16, 64) and (out[:, 30:34] < 200).any(axis=0).any()


@pytest.mark.parametrize("name", list(BASELINES))
def test_embeddings_are_deterministic(name, files):
    images = [files["cross"], files["circle"], files["colour"]]
    first = BASELINES[name]()(images)
    second = BASELINES[name]()(list(reversed(images)))[::-1]
    np.testing.assert_array_equal(first, second)


def test_grey_at_size_reads_colour_and_float_and_rejects_non_images():
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 0] = 200  # pure red: grey 0.299 * 200 = 60, not the mean of the channels (67)
    assert grey_at_size(colour, (8, 8)).shape == (1, 8, 8) and np.all(grey_at_size(colour, (8, 8)) == 60)
    assert grey_at_size(np.ones((8, 8), np.float32), (8, 8)).max() == 255
    with pytest.raises(ImageError, match="not an image"):
        grey_at_size(np.zeros((5, 6, 2)), (8, 8))


def test_lbp_codes_match_a_loop_over_pixels():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (1, 7, 9)).astype(np.uint8)
    codes = lbp_codes(image)[0]
    ring = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
    for y in range(1, 6):
        for x in range(1, 8):
            bits = [int(image[0, y + dy, x + dx] >= image[0, y, x]) for dy, dx in ring]
            transitions = sum(bits[k] != bits[k - 1] for k in range(8))
            if transitions > 2:
                assert codes[y - 1, x - 1] == UNIFORM_BINS - 1
            else:
                assert codes[y - 1, x - 1] < UNIFORM_BINS - 1
    flat = lbp_codes(np.full((1, 4, 4), 9, np.uint8))
    assert np.all(flat == flat.flat[0])  # all neighbours equal: one uniform pattern everywhere


@pytest.mark.parametrize(
    "bad",
    [
        lambda: pixels_embedding(size=(4, 4)),
        lambda: hog_embedding(size=(60, 60)),  # not a multiple of the cell
        lambda: hog_embedding(bins=1),
        lambda: lbp_embedding(grid=(0, 4)),
    ],
)
def test_bad_arguments_are_refused(bad):
    with pytest.raises(ValueError):
        bad()
