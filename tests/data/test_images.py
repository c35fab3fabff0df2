"""Decoding and preprocessing: by content, with one-line errors that name the file."""

import cv2
import numpy as np
import pytest

from siamese.data import Preprocessing, decode_image, iter_image_batches, load_images, preprocess, read_image
from siamese.errors import ImageError


@pytest.fixture
def png(tmp_path):
    image = np.full((30, 40), 255, np.uint8)
    image[10:20, 10:30] = 0
    path = tmp_path / "ink.png"
    cv2.imwrite(str(path), image)
    return path


def test_reads_png_as_grey_and_colour(png):
    grey = read_image(png)
    colour = read_image(png, channels=3)
    assert grey.shape == (30, 40, 1) and grey.dtype == np.uint8
    assert colour.shape == (30, 40, 3)
    assert grey[15, 15, 0] == 0 and grey[0, 0, 0] == 255


def test_gif_without_extension_is_read_by_content(tmp_path):
    image = np.zeros((20, 24, 3), np.uint8)
    image[5:15, 5:15] = 255
    ok, data = cv2.imencode(".gif", image)
    assert ok
    path = tmp_path / "subject01.happy"
    path.write_bytes(data.tobytes())
    decoded = read_image(path)
    assert decoded.shape == (20, 24, 1)
    assert decoded[10, 10, 0] > 200 and decoded[0, 0, 0] < 50


def test_yale_face_gif_without_extension(shared_data):
    face = read_image(shared_data / "yalefaces" / "subject01.happy")
    assert face.shape == (243, 320, 1)


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty file (0 bytes)"),
        (b"hello, I am a text file\n", "not an image (text)"),
        (bytes(range(256)) * 4, "not an image (unknown format)"),
    ],
)
def test_bad_files_name_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError) as error:
        read_image(path)
    assert str(error.value) == f"{path}: {problem}"


def test_truncated_png(png, tmp_path):
    data = png.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut.png: truncated or corrupt PNG"):
        read_image(cut)
    tail_missing = tmp_path / "tail.png"
    tail_missing.write_bytes(data[:-12])
    with pytest.raises(ImageError, match=r"tail.png: truncated or corrupt PNG"):
        read_image(tail_missing)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="nope.png: no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a folder"):
        read_image(tmp_path)


def test_preprocess_resizes_scales_and_inverts(png):
    prep = Preprocessing(image_size=(15, 20), channels=1, invert=True)
    out = preprocess(read_image(png), prep)
    assert out.shape == (15, 20, 1) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out[7, 10, 0] > 0.9  # the ink becomes bright
    assert out[0, 0, 0] < 0.1  # the paper becomes dark


@pytest.mark.parametrize(
    "array, shape",
    [
        (np.zeros((10, 12), np.uint8), (8, 8, 1)),
        (np.zeros((10, 12, 3), np.uint8), (8, 8, 1)),
        (np.ones((10, 12, 4), np.float32), (8, 8, 1)),
        (np.zeros((10, 12, 1), np.float64), (8, 8, 3)),
    ],
)
def test_arrays_are_coerced(array, shape):
    prep = Preprocessing(image_size=shape[:2], channels=shape[2])
    assert preprocess(array, prep).shape == shape


def test_float_arrays_in_unit_range_keep_their_scale():
    prep = Preprocessing(image_size=(8, 8))
    assert np.allclose(preprocess(np.full((8, 8), 0.5), prep), 128 / 255, atol=1 / 255)


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.zeros((4, 4, 4, 4)), "is not an image"),
        (np.zeros((4, 4, 5)), "is not an image"),
        (np.array([[np.nan, 0], [0, 0]]), "NaN"),
        (np.array([["a"]]), "not an image array"),
        (np.zeros((0, 4)), "not an image array"),
    ],
)
def test_arrays_the_model_cannot_take(array, problem):
    with pytest.raises(ImageError, match=problem):
        preprocess(array, Preprocessing(image_size=(8, 8)))


def test_load_images_mixes_paths_and_arrays(png):
    batch = load_images([png, np.zeros((5, 5), np.uint8)], Preprocessing(image_size=(8, 8)))
    assert batch.shape == (2, 8, 8, 1)
    assert load_images(png, Preprocessing(image_size=(8, 8))).shape == (1, 8, 8, 1)
    with pytest.raises(ImageError, match="no images"):
        load_images([], Preprocessing())


@pytest.fixture
def many_pngs(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(23):
        paths.append(tmp_path / f"{i:02d}.png")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 256, size=(12 + i, 20), dtype=np.uint8))
    return paths


@pytest.mark.parametrize("workers", [1, 3, None])
def test_threaded_batches_keep_order_and_match_serial_decoding(many_pngs, workers):
    preprocessing = Preprocessing(image_size=(10, 10))
    batches = list(iter_image_batches(many_pngs, preprocessing, batch_size=5, workers=workers))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    expected = np.stack([preprocess(read_image(p), preprocessing) for p in many_pngs])
    assert np.array_equal(np.concatenate(batches), expected)
    assert np.array_equal(load_images(many_pngs, preprocessing, workers=workers), expected)


def test_threaded_batches_report_the_bad_file_by_name(many_pngs, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    with pytest.raises(ImageError, match="bad.png: not an image \\(text\\)"):
        list(
            iter_image_batches(
                [*many_pngs[:12], bad, *many_pngs[12:]], Preprocessing(image_size=(10, 10)), batch_size=4, workers=3
            )
        )
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        next(iter_image_batches(many_pngs, Preprocessing(), batch_size=0))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"image_size": (4, 4)}, "image_size"), ({"channels": 2}, "channels must be 1 or 3, got 2")],
)
def test_preprocessing_checks_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing(**kwargs)


def test_preprocessing_round_trips_as_dict():
    prep = Preprocessing(image_size=(20, 30), channels=3, invert=True)
    assert Preprocessing.from_dict(prep.to_dict()) == prep


def test_decode_image_uses_given_name():
    with pytest.raises(ImageError, match=r"^archive.zip:a/b.png: not an image \(text\)$"):
        decode_image(b"text", name="archive.zip:a/b.png")
