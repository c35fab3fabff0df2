"""Model files changed after they were written are refused, never used for a wrong answer."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import siamese
from siamese.errors import ModelFileError
from siamese.files import file_sha256
from siamese.inference import export_model, load_model, pretrained_path
from siamese.integrity import KERAS_RECORD
from siamese.registry import LIVENESS_MODELS, PRETRAINED
from tests.conftest import REPO


def rewrite_member(source, target, member, change):
    """Copy the .keras archive with one member's bytes changed: a valid archive, altered content."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info, change(data) if info.filename == member else data)
    return target


def flip_middle_byte(data: bytes) -> bytes:
    data = bytearray(data)
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


@pytest.fixture(scope="module")
def sealed(trained_model_path, tmp_path_factory):
    """A trained model and its ONNX export, both sealed at save time."""
    path = shutil.copy(trained_model_path, tmp_path_factory.mktemp("sealed") / "m.keras")
    export_model(path)
    return path


def test_saved_models_carry_a_record_of_their_members(sealed):
    with zipfile.ZipFile(sealed) as archive:
        record = json.loads(archive.read(KERAS_RECORD))
    assert set(record["sha256"]) == {"config.json", "metadata.json", "model.weights.h5"}
    assert load_model(sealed, engine="keras").threshold is not None


def test_altered_weights_are_refused(sealed, tmp_path):
    tampered = rewrite_member(sealed, tmp_path / "t.keras", "model.weights.h5", flip_middle_byte)
    with pytest.raises(
        ModelFileError, match=r"t.keras: model.weights.h5 changed since the model was saved \(SHA-256 mismatch\)"
    ):
        load_model(tampered, engine="keras")


def test_an_altered_threshold_is_refused(sealed, tmp_path):
    def lower(data):
        config = json.loads(data)
        config["config"]["threshold"] = 2.0  # everything would be "same"
        return json.dumps(config).encode()

    with pytest.raises(ModelFileError, match="config.json changed since the model was saved"):
        load_model(rewrite_member(sealed, tmp_path / "t.keras", "config.json", lower), engine="keras")


def test_test_py_refuses_tampered_weights_in_one_line(sealed, tmp_path, shapes_dir):
    tampered = rewrite_member(sealed, tmp_path / "t.keras", "model.weights.h5", flip_middle_byte)
    image = shapes_dir / "lines" / "hline" / "00.png"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "test.py", "--image1", str(image), "--image2", str(image), "--model", str(tampered)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("siamese: error: ")]
    assert errors == [
        f"siamese: error: {tampered}: model.weights.h5 changed since the model was saved (SHA-256 mismatch); "
        "refusing to load it"
    ]


def test_an_edited_onnx_export_is_refused(sealed, tmp_path):
    onnx_copy = tmp_path / "m.onnx"
    data = bytearray(sealed.with_suffix(".onnx").read_bytes())
    data[len(data) // 2] ^= 0x01  # a bit of a weight
    onnx_copy.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"m.onnx: changed since it was exported \(SHA-256 mismatch\)"):
        load_model(onnx_copy)


def test_an_onnx_threshold_edited_without_the_tool_is_refused(sealed, tmp_path):
    data = sealed.with_suffix(".onnx").read_bytes()
    old = json.dumps(load_model(sealed.with_suffix(".onnx")).threshold)
    new = "1." + "9" * (len(old) - 2)  # the same length: the file stays a valid ONNX model
    edited = data.replace(f'"threshold": {old}'.encode(), f'"threshold": {new}'.encode())
    assert edited != data
    (tmp_path / "m.onnx").write_bytes(edited)
    with pytest.raises(ModelFileError, match="changed since it was exported"):
        load_model(tmp_path / "m.onnx")


def test_calibrating_reseals_both_files(sealed, tmp_path):
    path = shutil.copy(sealed, tmp_path / "c.keras")
    shutil.copy(sealed.with_suffix(".onnx"), tmp_path / "c.onnx")
    model = load_model(path)
    assert model.engine == "onnx"
    model.threshold = 0.123
    model.save()
    assert load_model(path).threshold == pytest.approx(0.123) and load_model(path).engine == "onnx"
    assert load_model(path, engine="keras").threshold == pytest.approx(0.123)


def test_shipped_models_match_their_published_sums():
    sums = dict(reversed(line.split()) for line in (REPO / "models" / "SHA256SUMS").read_text().splitlines())
    shipped = [f"{name}{suffix}" for name in (*PRETRAINED, *LIVENESS_MODELS) for suffix in (".keras", ".onnx")]
    assert sums == {name: file_sha256(REPO / "models" / name) for name in shipped}


def test_a_changed_shipped_model_is_refused(tmp_path, monkeypatch):
    import importlib.resources

    for name in ("omniglot.keras", "omniglot.onnx", "SHA256SUMS"):
        shutil.copy(REPO / "models" / name, tmp_path / name)
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    assert pretrained_path("omniglot") == tmp_path / "omniglot.keras"
    data = bytearray((tmp_path / "omniglot.onnx").read_bytes())
    data[-10] ^= 0x01
    (tmp_path / "omniglot.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"omniglot.onnx: differs from the SHA-256 in SHA256SUMS"):
        siamese.load_model("omniglot")


def test_older_files_without_a_record_still_load_with_a_warning(sealed, tmp_path, caplog):
    with zipfile.ZipFile(sealed) as archive, zipfile.ZipFile(tmp_path / "old.keras", "w") as out:
        for info in archive.infolist():
            if info.filename != KERAS_RECORD:
                out.writestr(info, archive.read(info))
    model = load_model(tmp_path / "old.keras", engine="keras")
    assert "no integrity record" in caplog.text
    assert np.isfinite(model.embed(np.zeros((24, 24), np.uint8))).all()
