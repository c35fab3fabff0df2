"""Property tests: whatever bytes come in, the image reader answers with an array or an
`ImageError`, and the pairs-file reader with pairs or a `DatasetError`; never another
exception, never unbounded time or memory.

A few thousand examples run with the suite; `pytest -m slow` runs many more.
"""

import io
import resource
import struct

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from siamese.data import read_pairs_file
from siamese.data.images import decode_image
from siamese.errors import DatasetError, ImageError

QUICK = settings(max_examples=1500, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(
    max_examples=50_000,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _seeds():
    rng = np.random.default_rng(0)
    picture = (rng.random((37, 53)) * 255).astype(np.uint8)
    gif = io.BytesIO()
    Image.fromarray(picture).save(gif, format="GIF")
    return {
        "png": cv2.imencode(".png", picture)[1].tobytes(),
        "jpeg": cv2.imencode(".jpg", picture)[1].tobytes(),
        "gif": gif.getvalue(),
        "bmp": cv2.imencode(".bmp", picture)[1].tobytes(),
    }


SEEDS = _seeds()


@st.composite
def mutated(draw):
    """A real PNG, JPEG, GIF or BMP with bytes flipped, cut, inserted, or its declared size rewritten."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 8))):
        where = draw(st.integers(0, len(data) - 1))
        data[where] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        where = draw(st.integers(0, len(data)))
        data[where:where] = draw(st.binary(max_size=64))
    if draw(st.booleans()) and data[:8] == SEEDS["png"][:8] and len(data) >= 24:
        data[16:24] = struct.pack(">II", draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    return bytes(data)


def _decode_or_refuse(data: bytes, channels: int) -> None:
    try:
        image = decode_image(data, name="fuzz", channels=channels)
    except ImageError as error:
        assert str(error).startswith("fuzz: ") and "\n" not in str(error)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == channels


@pytest.fixture(scope="module")
def memory_bound():
    """Peak memory of the whole module stays within a bound: no bomb got decoded."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 512 * 1024  # KiB


@QUICK
@given(st.binary(max_size=4096), st.sampled_from([1, 3]))
def test_random_bytes(memory_bound, data, channels):
    _decode_or_refuse(data, channels)


@QUICK
@given(mutated(), st.sampled_from([1, 3]))
def test_mutated_real_images(memory_bound, data, channels):
    _decode_or_refuse(data, channels)


@pytest.mark.slow
@LONG
@given(mutated(), st.sampled_from([1, 3]))
def test_mutated_real_images_long(memory_bound, data, channels):
    _decode_or_refuse(data, channels)


LINE = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda a, b, label: f"{a},{b},{label}",
        st.sampled_from(["a.png", "b.png", "missing.png", "", " a.png "]),
        st.sampled_from(["a.png", "b.png", '"b.png"']),
        st.sampled_from(["1", "0", "same", "different", "x", ""]),
    ),
)


def _read_or_refuse(folder, lines, ending, bom):
    text = ("\ufeff" if bom else "") + ending.join(lines)
    (folder / "pairs.csv").write_text(text, encoding="utf-8", newline="")
    try:
        pairs = read_pairs_file(folder / "pairs.csv")
    except DatasetError as error:
        assert "\n" not in str(error)
    else:
        assert len(pairs.first) == len(pairs.second) == len(pairs.same) > 0 and set(pairs.same.tolist()) <= {0, 1}


@pytest.fixture(scope="module")
def pair_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pairs")
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(SEEDS["png"])
    return folder


@settings(
    max_examples=1500, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(LINE, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_pairs_files(pair_folder, lines, ending, bom):
    _read_or_refuse(pair_folder, lines, ending, bom)
