"""The converted MobileFaceNet gives the reference network's embeddings, on Keras and on ONNX Runtime.

The package cuts 112x112 "arcface" chips of real photos of ../shared/data/celeba-faces-dev
(dlib's detector and landmarks); the reference ONNX conversion of the same TF-Lite file
(../shared/models/mobilefacenet/reference/mobilefacenet.onnx, within 2.4e-5 of TF-Lite)
embeds them, and the shipped `faces-mobilefacenet.keras` and `.onnx` must give the unit
vector of its embedding of each chip, to 1e-4; a conversion with `mirror` the unit vector of
the sum of its embeddings of the chip and of its mirror image. Skipped,
saying so, without dlib or the shared files; the converter's own test also needs TensorFlow.
"""

import importlib.util

import numpy as np
import pytest

from siamese.model import CosineDistance, load_network, save_network
from siamese.shipped import pretrained_path
from tests.conftest import REPO, SHARED_DATA

FACES = SHARED_DATA / "celeba-faces-dev"
SHARED_MODEL = SHARED_DATA.parent / "models" / "mobilefacenet"
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("convert_mobilefacenet", REPO / "tools" / "convert_mobilefacenet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chips():
    """Arcface chips (uint8 RGB) of the first photo of each of the first 24 people, where a face is found."""
    pytest.importorskip("dlib", reason="dlib is not installed (dlib-bin, in the test extra)")
    if not FACES.is_dir():
        pytest.skip("../shared/data/celeba-faces-dev is not present")
    from siamese.data.faces import cut_chip, find_faces
    from siamese.data.images import read_image

    found = []
    for person in sorted(FACES.iterdir())[:24]:
        image = read_image(sorted(person.glob("*.jpg"))[0], channels=3)
        faces = find_faces(image)
        if faces:
            found.append(cut_chip(image, faces[0].landmarks, 112, "arcface"))
    assert len(found) >= 20
    return np.stack(found)


@pytest.fixture(scope="module")
def reference(chips):
    """The reference network's raw 192-d embeddings of the chips and of their mirror images."""
    import onnxruntime

    path = SHARED_MODEL / "reference" / "mobilefacenet.onnx"
    if not path.is_file():
        pytest.skip("../shared/models/mobilefacenet/reference/mobilefacenet.onnx is not present")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    scaled = (chips.astype(np.float32) - 127.5) / 128.0
    return session.run(None, {name: scaled})[0], session.run(None, {name: np.ascontiguousarray(scaled[:, :, ::-1])})[0]


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_the_shipped_model_and_its_onnx_export_give_the_reference_embeddings(chips, reference):
    import onnxruntime

    expected = _unit(reference[0])
    shipped = load_network(pretrained_path("faces-mobilefacenet"))
    assert isinstance(shipped.distance, CosineDistance)
    assert shipped.preprocessing["face_template"] == "arcface" and shipped.preprocessing["image_size"] == [112, 112]
    inputs = chips.astype(np.float32) / 255.0
    assert np.max(np.abs(np.asarray(shipped.tower.predict(inputs, verbose=0)) - expected)) <= TOLERANCE
    session = onnxruntime.InferenceSession(
        str(pretrained_path("faces-mobilefacenet").with_suffix(".onnx")), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    assert np.max(np.abs(got - expected)) <= TOLERANCE


def test_the_converter_reads_the_tflite_weights_and_a_mirrored_model_reloads_under_safe_mode(
    tool, chips, reference, tmp_path
):
    pytest.importorskip("tensorflow", reason="the converter reads the TF-Lite file with TensorFlow's interpreter")
    tflite = SHARED_MODEL / "MobileFaceNet.tflite"
    if not tflite.is_file():
        pytest.skip("../shared/models/mobilefacenet/MobileFaceNet.tflite is not present")
    network = tool.face_network(tflite, mirror=True, threshold=0.4)
    loaded = load_network(save_network(network, tmp_path / "mfn.keras"))  # safe_mode
    got = np.asarray(loaded.tower.predict(chips.astype(np.float32) / 255.0, verbose=0))
    assert np.max(np.abs(got - _unit(reference[0] + reference[1]))) <= TOLERANCE
    assert loaded.threshold == 0.4 and loaded.preprocessing["face_template"] == "arcface"


def test_a_file_that_is_not_the_network_is_refused_naming_it(tool, tmp_path):
    pytest.importorskip("tensorflow", reason="the converter reads the TF-Lite file with TensorFlow's interpreter")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer at all" * 10)
    with pytest.raises(tool.TFLiteFormatError, match="junk.tflite: not a TF-Lite model"):
        tool.read_tflite(junk)
    with pytest.raises(tool.TFLiteFormatError, match="no such file"):
        tool.read_tflite(tmp_path / "missing.tflite")
