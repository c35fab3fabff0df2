"""`faces-mobilefacenet` as a user gets it: ONNX Runtime, the arcface chip, no Keras or TensorFlow."""

import pytest

from tests.test_light_paths import _run


def test_the_mobilefacenet_model_finds_aligns_and_verifies_without_keras_or_tensorflow(shared_data, tmp_path):
    """Detection and the 112x112 arcface chip (dlib, OpenCV), MobileFaceNet on ONNX Runtime: one
    person's two photos are the same, another person's not; nothing heavy comes in."""
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    a, b = sorted((shared_data / "celeba-faces-dev" / "10001").glob("*.jpg"))[:2]
    other = sorted((shared_data / "celeba-faces-dev" / "10006").glob("*.jpg"))[0]
    code = (
        "import siamese\nfrom siamese.data.faces import FaceLog\n"
        "m = siamese.load_model('faces-mobilefacenet'); log = FaceLog(keep_faceless=False)\n"
        f"print(m.engine, m.preprocessing.face_template, m.verify({str(a)!r}, {str(b)!r}, faces=log).same, "
        f"m.verify({str(a)!r}, {str(other)!r}, faces=log).same, len(log.found))"
    )
    lines = _run(code, cwd=tmp_path).strip().splitlines()

    assert lines[-2] == "onnx arcface True False 3" and lines[-1] == "HEAVY []", lines
