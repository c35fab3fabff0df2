"""The shipped liveness model computes what Minivision's networks compute.

The reference is the ONNX graph that ../shared/models/minifasnet/reference/pth_to_onnx.py
builds from each .pth alone (built here, in tmp_path), fed BGR NCHW crops as Minivision's
code feeds its networks. The converter's Keras model, the shipped `liveness.keras` and the
shipped `liveness.onnx` must give the same probabilities within 1e-4 on the crops of Minivision's
three sample frames and of a sample of NUAA's development frames. Skipped, saying so, without
../shared or dlib.
"""

import importlib.util
import pickle
import sys

import numpy as np
import pytest

from siamese.data.faces import find_faces
from siamese.data.images import read_image
from siamese.inference.liveness import load_liveness
from siamese.shipped import shipped_path
from tests.conftest import MINIFASNET, REPO, SHARED_DATA

TOLERANCE = 1e-4
NUAA = SHARED_DATA / "liveness-nuaa-dev"
FRAMES_PER_KIND = 8  # NUAA frames of each kind (live, spoof), spread over the subjects: a few seconds


def _module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tool():
    return _module(REPO / "tools" / "convert_minifasnet.py", "convert_minifasnet")


@pytest.fixture(scope="module")
def reference(tool, tmp_path_factory):
    """One ONNX Runtime session per network, of the reference graph built from the .pth here."""
    if not (MINIFASNET / "reference" / "pth_to_onnx.py").is_file():
        pytest.skip("../shared/models/minifasnet is not present")
    import onnxruntime

    sys.path.insert(0, str(MINIFASNET / "reference"))  # pth_to_onnx imports read_legacy_pth beside it
    try:
        build = _module(MINIFASNET / "reference" / "pth_to_onnx.py", "pth_to_onnx").build
    finally:
        sys.path.remove(str(MINIFASNET / "reference"))
    folder = tmp_path_factory.mktemp("reference")
    sessions = []
    for part in ("near", "far"):
        build(str(MINIFASNET / tool.FILES[part]), str(folder / f"{part}.onnx"))
        sessions.append(onnxruntime.InferenceSession(str(folder / f"{part}.onnx"), providers=["CPUExecutionProvider"]))
    return sessions


@pytest.fixture(scope="module")
def crops(liveness_samples):
    """[near, far] crops (n, 80, 80, 3) RGB of the samples and of NUAA frames, as the library cuts them."""
    frames = sorted(liveness_samples.glob("*.jpg"))
    if NUAA.is_dir():
        for kind in ("live", "spoof"):
            every = sorted((NUAA / kind).rglob("*.jpg"))
            frames += every[:: max(1, len(every) // FRAMES_PER_KIND)][:FRAMES_PER_KIND]
    model = load_liveness()
    near, far = [], []
    for frame in frames:
        image = read_image(frame, channels=3)
        faces = find_faces(image)
        if not faces:  # a bent photo the detector does not see as a face: nothing to compare
            continue
        a, b = model.crops(image, faces[0].box)
        near.append(a[0])
        far.append(b[0])
    return [np.stack(near), np.stack(far)]


def _reference_probabilities(sessions, crops) -> np.ndarray:
    rows = []
    for session, batch in zip(sessions, crops):
        logits = session.run(None, {"input": np.ascontiguousarray(batch[..., ::-1].transpose(0, 3, 1, 2))})[0]
        rows.append(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    return np.stack(rows, axis=1)


def test_the_shipped_onnx_model_gives_the_reference_probabilities(reference, crops):
    expected = _reference_probabilities(reference, crops)
    got = load_liveness().probabilities(crops)
    assert got.shape == expected.shape == (len(crops[0]), 2, 3)
    assert np.max(np.abs(got - expected)) <= TOLERANCE
    assert len(crops[0]) >= 3 + (FRAMES_PER_KIND if NUAA.is_dir() else 0)


def test_the_shipped_keras_model_and_a_fresh_conversion_give_the_reference_probabilities(tool, reference, crops):
    import keras

    expected = _reference_probabilities(reference, crops)
    shipped = keras.saving.load_model(shipped_path("liveness", ".keras"), safe_mode=True)
    assert np.max(np.abs(np.asarray(shipped(crops)) - expected)) <= TOLERANCE
    converted = tool.liveness_model(MINIFASNET)
    assert np.max(np.abs(np.asarray(converted(crops)) - expected)) <= TOLERANCE


def test_the_reader_gives_every_tensor_and_refuses_a_file_that_would_run_code(tool, tmp_path):
    weights = tool.read_legacy_pth(MINIFASNET / tool.FILES["far"]) if MINIFASNET.is_dir() else None
    if weights is not None:
        assert len(weights) == 370 and weights["conv1.conv.weight"].shape == (32, 3, 3, 3)
        assert [b.excite for b in tool.blocks_of(weights) if b.excite] == [16, 32, 32]

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    hostile = tmp_path / "hostile.pth"
    hostile.write_bytes(b"".join(pickle.dumps(x) for x in (119547037146038801333356, 1001, {})) + pickle.dumps(Evil()))
    with pytest.raises(tool.PthFormatError, match=r"hostile.pth: refers to builtins.print"):
        tool.read_legacy_pth(hostile)
    with pytest.raises(tool.PthFormatError, match="no such file"):
        tool.read_legacy_pth(tmp_path / "missing.pth")
