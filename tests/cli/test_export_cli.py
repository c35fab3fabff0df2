"""`siamese export` and the fast path it opens: verify and test.py on ONNX Runtime, no TensorFlow."""

import io
import json
import shutil

import numpy as np
import pytest

from siamese.cli import main
from siamese.cli.progress import Progress
from siamese.inference import export_model, load_model
from siamese.model import save_network
from tests.cli.test_cli import assert_one_line_error, run

NO_TENSORFLOW = (
    "import sys; assert not {'tensorflow', 'keras'} & set(m.split('.')[0] for m in sys.modules), sorted(sys.modules)"
)


@pytest.fixture(scope="module")
def exported_model(trained_model_path, tmp_path_factory):
    """A copy of the trained model (never the shared fixture itself) with an up-to-date .onnx beside it."""
    path = shutil.copy(trained_model_path, tmp_path_factory.mktemp("exported") / "shapes.keras")
    export_model(path)
    return path


@pytest.fixture
def pair(shapes_dir):
    return shapes_dir / "polygons" / "square" / "00.png", shapes_dir / "polygons" / "square" / "01.png"


def _imported_top_level(importtime_stderr: str) -> set:
    """Top-level module names from `python -X importtime` output."""
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:")
    }


def test_export_cli_end_to_end(trained_model_path, pair, tmp_path, capsys):
    path = shutil.copy(trained_model_path, tmp_path / "m.keras")
    assert main(["export", str(path)]) == 0
    assert f"{tmp_path / 'm.onnx'}: tower exported as onnx" in capsys.readouterr().out
    answers = {}
    for engine in ("onnx", "keras"):
        assert main(["verify", *map(str, pair), "--model", str(path), "--json", "--engine", engine]) == 0
        answers[engine] = json.loads(capsys.readouterr().out)
    assert answers["onnx"]["distance"] == pytest.approx(answers["keras"]["distance"], abs=1e-4)
    assert (
        answers["onnx"]["same"] == answers["keras"]["same"]
        and answers["onnx"]["threshold"] == answers["keras"]["threshold"]
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["export", "{fake}"], "fake.keras: not a Keras model file (.keras zip archive)"),
        (["export", "{tmp}/missing.keras"], "missing.keras: no such model file"),
        (["export", "{model}", "--format", "pt"], "argument --format: invalid choice: 'pt'"),
        (["verify", "{image}", "{image}", "--model", "{fake_onnx}"], "fake.onnx: not a usable ONNX model"),
    ],
)
def test_bad_export_input_exits_2_with_one_line(exported_model, shapes_dir, tmp_path, args, fragment):
    (tmp_path / "fake.keras").write_text("not a model")
    (tmp_path / "fake.onnx").write_text("not a model")
    image = shapes_dir / "lines" / "hline" / "00.png"
    args = [
        a.format(
            fake=tmp_path / "fake.keras",
            fake_onnx=tmp_path / "fake.onnx",
            tmp=tmp_path,
            model=exported_model,
            image=image,
        )
        for a in args
    ]
    result = run("-m", "siamese", *args)
    assert_one_line_error(result, fragment)
    assert len(result.stderr.strip().splitlines()) == 1  # nothing else: TensorFlow was never imported


def test_loading_an_export_never_imports_tensorflow(exported_model, pair):
    code = (
        f"import siamese; m = siamese.load_model({str(exported_model.with_suffix('.onnx'))!r}); "
        f"r = m.verify({str(pair[0])!r}, {str(pair[1])!r}); print(m.engine, r.same); "
        f"m = siamese.load_model({str(exported_model)!r}); print(m.engine); {NO_TENSORFLOW}"
    )
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx", "True", "onnx"]


@pytest.mark.parametrize(
    "command",
    [
        ["test.py", "--image1", "{a}", "--image2", "{b}", "--model", "{model}"],
        ["-m", "siamese", "verify", "{a}", "{b}", "--model", "{model}"],
        ["-m", "siamese", "embed", "{a}", "{b}", "--model", "{model}", "--out", "{tmp}/e.npy"],
    ],
)
def test_cli_with_an_up_to_date_export_never_imports_tensorflow(exported_model, pair, tmp_path, command):
    command = [c.format(a=pair[0], b=pair[1], model=exported_model, tmp=tmp_path) for c in command]
    result = run("-X", "importtime", *command)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = _imported_top_level(result.stderr)
    assert "onnxruntime" in imported and "siamese" in imported
    assert not {"tensorflow", "keras", "tf2onnx"} & imported
    if command[0] == "test.py":
        assert result.stdout.startswith("same (distance ")


def test_a_stale_export_falls_back_to_keras_with_a_warning(exported_model, pair, tmp_path):
    model = shutil.copy(exported_model, tmp_path / "m.keras")
    shutil.copy(exported_model.with_suffix(".onnx"), tmp_path / "m.onnx")
    network = load_model(model, engine="keras").network  # saved again: a valid model, no longer the file exported
    network.threshold = 0.5
    save_network(network, model)
    result = run("-m", "siamese", "verify", *pair, "--model", model, "--json")
    assert result.returncode == 0, result.stderr
    assert "m.onnx: stale export" in result.stderr and "using Keras" in result.stderr
    answer = json.loads(result.stdout)
    assert (
        answer["distance"] == pytest.approx(load_model(exported_model).distance(*pair), abs=1e-4)
        and answer["threshold"] == 0.5
    )


def test_calibrate_keeps_the_export_current(exported_model, shapes_dir, tmp_path, capsys):
    model = shutil.copy(exported_model, tmp_path / "m.keras")
    shutil.copy(exported_model.with_suffix(".onnx"), tmp_path / "m.onnx")
    assert main(["calibrate", str(model), str(shapes_dir), "--pairs-count", "200", "--objective", "eer"]) == 0
    capsys.readouterr()
    fast, reference = load_model(model), load_model(model, engine="keras")
    assert fast.engine == "onnx" and fast.threshold == reference.threshold
    assert fast.threshold != load_model(exported_model).threshold


def test_embed_reports_progress_on_a_terminal(exported_model, shapes_dir):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(stream, minimum=10)
    images = sorted(shapes_dir.rglob("*.png"))[:40]
    embeddings = load_model(exported_model).embed(images, batch_size=16, workers=2, progress=progress)
    progress.close()
    assert embeddings.shape[0] == 40
    shown = stream.getvalue()
    assert shown.count("\r") == 3 and "40/40 images (100%" in shown and shown.endswith("\n")
    quiet = io.StringIO()
    Progress(quiet, minimum=10)(40, 40)
    assert quiet.getvalue() == ""  # not a terminal: nothing


def test_embed_cli_batches_and_threads_give_the_same_embeddings(exported_model, shapes_dir, tmp_path, capsys):
    images = [str(p) for p in sorted(shapes_dir.rglob("*.png"))[:30]]
    assert (
        main(
            [
                "embed",
                *images,
                "--model",
                str(exported_model),
                "--out",
                str(tmp_path / "a.npy"),
                "--batch-size",
                "7",
                "--workers",
                "3",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "embed",
                *images,
                "--model",
                str(exported_model),
                "--out",
                str(tmp_path / "b.npy"),
                "--workers",
                "1",
                "--engine",
                "keras",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert np.allclose(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"), atol=1e-4)
