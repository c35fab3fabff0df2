"""The command line and the root scripts, run as a user runs them."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from siamese.cli import main
from siamese.inference import load_model
from tests.conftest import REPO, tiny_training

SHIPPED = REPO / "models" / "omniglot.keras"


def run(*args, cwd=REPO, env=None):
    env = env or {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    error = [line for line in lines if line.startswith("siamese: error: ")]
    assert len(error) == 1, result.stderr
    for fragment in fragments:
        assert fragment in error[0]


def test_test_py_answers_same_and_different_on_the_oneshot_runs(oneshot_run):
    # item06 is class18's character (run01/class_labels.txt); class01 is another character.
    same = run(
        "test.py", "--image1", oneshot_run / "test" / "item06.png", "--image2", oneshot_run / "training" / "class18.png"
    )
    different = run(
        "test.py", "--image1", oneshot_run / "test" / "item06.png", "--image2", oneshot_run / "training" / "class01.png"
    )
    assert same.returncode == 0, same.stderr
    assert same.stdout.startswith("same (distance ")
    assert different.stdout.startswith("different (distance ")
    assert "threshold" in same.stdout


def test_verify_json_and_threshold_override(trained_model_path, shapes_dir, capsys):
    a, b = shapes_dir / "polygons" / "square" / "00.png", shapes_dir / "curves" / "circle" / "00.png"
    assert main(["verify", str(a), str(b), "--model", str(trained_model_path), "--json", "--threshold", "100"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["same"] is True and out["threshold"] == 100.0
    assert out["distance"] == pytest.approx(load_model(trained_model_path).distance(a, b), abs=1e-6)


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda p: p / "missing.png", ["missing.png: no such file"]),
        (lambda p: (p / "t.png").write_text("hello") and p / "t.png", ["t.png: not an image (text)"]),
        (lambda p: (p / "z.png").write_bytes(b"") is not None and p / "z.png", ["z.png: empty file (0 bytes)"]),
    ],
)
def test_verify_bad_images_exit_2_with_one_line(trained_model_path, shapes_dir, tmp_path, capsys, make, fragments):
    bad = make(tmp_path)
    code = main(
        ["verify", str(shapes_dir / "lines" / "hline" / "00.png"), str(bad), "--model", str(trained_model_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("siamese: error: ")
    assert all(f in err for f in fragments)


def test_verify_with_a_file_that_is_not_a_model(tmp_path, shapes_dir):
    fake = tmp_path / "model.keras"
    fake.write_text("not a model")
    image = shapes_dir / "lines" / "hline" / "00.png"
    result = run("-m", "siamese", "verify", image, image, "--model", fake)
    assert_one_line_error(result, f"{fake}: not a Keras model file")


def test_train_cli_end_to_end(shapes_dir, tmp_path, capsys):
    model, results = tmp_path / "m.keras", tmp_path / "res"
    args = [
        "train",
        str(shapes_dir),
        "--model-out",
        str(model),
        "--results",
        str(results),
        *tiny_training(),
        "--no-augment",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"model:   {model}" in out and "ROC AUC" in out and f"export:  {model.with_suffix('.onnx')}" in out
    assert re.search(r"^epoch 1/1 in \d+ s; done$", out, re.MULTILINE), out
    assert "1 epochs x 2 steps of 8 images" in out
    assert re.search(
        r"^expected: about \d+ s more of training steps .* over the 1 after the first;", out, re.MULTILINE
    ), out
    assert model.is_file() and (results / "metrics.json").is_file() and (results / "history.csv").is_file()
    from siamese.inference import load_model

    assert load_model(model).engine == "onnx"  # the export beside it is current: verification needs no TensorFlow
    before = model.read_bytes()
    assert main(args) == 2  # no silent overwrite of the user's model
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert model.read_bytes() == before
    embeddings = tmp_path / "e.npy"
    assert (
        main(["embed", str(shapes_dir / "lines" / "hline" / "00.png"), "--model", str(model), "--out", str(embeddings)])
        == 0
    )
    assert np.load(embeddings).shape == (1, 8)


def test_train_cli_rotated_classes_quadruple_the_training_classes(shapes_dir, tmp_path, capsys):
    def train(name, *extra):
        results = tmp_path / name
        args = [
            "train",
            str(shapes_dir),
            "--model-out",
            str(tmp_path / f"{name}.keras"),
            "--results",
            str(results),
            *tiny_training(),
            "--no-augment",
            "--seed",
            "0",
            "--no-export",
            *extra,
        ]
        assert main(args) == 0
        assert "export:" not in capsys.readouterr().out and not (tmp_path / f"{name}.onnx").exists()
        return (json.loads((results / "metrics.json").read_text()), json.loads((results / "config.json").read_text()))

    plain, plain_config = train("plain")
    rotated, rotated_config = train("rotated", "--rotated-classes")
    assert (
        plain_config["sampling"]["rotated_classes"] is False and rotated_config["sampling"]["rotated_classes"] is True
    )
    # 12 shape classes in 3 groups; one group is held out, so 8 train, and each gains 3 quarter turns.
    assert plain["training_classes"] == 8 and plain["validation_classes"] == 4
    assert rotated["training_classes"] == 4 * plain["training_classes"]
    assert rotated["validation_classes"] == plain["validation_classes"]  # validation classes are never rotated
    _, proxied_config = train("proxies", "--rotated-classes", "--proxy-weight", "0.5")  # a proxy for each of the 32
    assert proxied_config["loss"]["proxy_weight"] == 0.5 and plain_config["loss"]["proxy_weight"] == 0.0


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["train", "{tmp}/nowhere"], ["nowhere: no such file or folder"]),
        (["train", "{one}"], ["found 1 class"]),
        (
            ["train", "{shapes}", "--margin", "-1", "--model-out", "{tmp}/m.keras"],
            ["margin must be positive, got -1.0"],
        ),
        (["train", "{shapes}", "--epochs", "0", "--model-out", "{tmp}/m.keras"], ["epochs must be at least 1, got 0"]),
        (
            ["train", "{shapes}", "--proxy-weight", "-1", "--model-out", "{tmp}/m.keras"],
            ["proxy_weight", "must be zero or more"],
        ),
        (
            ["train", "{shapes}", "--runs", "{shapes}/lines", "--model-out", "{tmp}/m.keras"],
            ["lines: not the one-shot runs layout"],
        ),
    ],
)
def test_train_bad_input_exits_2(tmp_path, shapes_dir, capsys, args, fragments):
    import shutil

    one = tmp_path / "one"
    shutil.copytree(shapes_dir / "lines" / "hline", one / "hline")
    args = [a.format(tmp=tmp_path, one=one, shapes=shapes_dir) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(f in err for f in fragments)
    assert not (tmp_path / "m.keras").exists()


def test_train_py_defaults_to_the_bundled_data_and_ends_with_the_runs_score(tmp_path):
    """In the user's environment (no TF_CPP_MIN_LOG_LEVEL), without a log line of TensorFlow's."""
    from tests.cli.test_quiet import tensorflow_messages

    result = run(
        REPO / "train.py",
        "--epochs",
        "1",
        "--steps",
        "2",
        "--image-size",
        "16",
        "--filters",
        "8,8",
        "--model-out",
        tmp_path / "m.keras",
        "--results",
        tmp_path / "r",
        "--no-export",
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    assert result.returncode == 0, result.stderr
    assert "images_background_small1.zip" in result.stdout and "of 242 classes" in result.stdout
    assert (tmp_path / "m.keras").is_file()
    assert tensorflow_messages(result.stderr) == [] and "absl::InitializeLog" not in result.stderr, result.stderr
    last = result.stdout.splitlines()[-2:]  # as `siamese evaluate --runs` prints it
    assert re.match(
        r"one-shot runs accuracy \(20 runs, 400 trials\) +0\.\d{4}  \[0\.\d{4}, 0\.\d{4}\]  +400$", last[0]
    ), last
    assert last[1].startswith("one-shot runs, per run: run01 ")
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    runs = metrics["oneshot_runs"]  # beside the training's own figures
    assert "val_auc" in metrics and runs["trials"] == 400 and f"{runs['accuracy']['value']:.4f}" in last[0]


def test_siamese_network_py_prints_the_tower():
    result = run("siamese_network.py")
    assert result.returncode == 0, result.stderr
    assert "conv1" in result.stdout and "distance: CosineDistance" in result.stdout
