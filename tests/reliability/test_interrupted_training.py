"""Training that is killed, poisoned, short of disk or crowded: it ends well or says why in one line,
and the user's previous model is never lost."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from siamese.cli import main
from siamese.errors import TrainingError
from siamese.training import TrainConfig, train
from tests.conftest import tiny_training

SMALL = [
    "--image-size",
    "24",
    "--filters",
    "16,32,32",
    "--embedding-dim",
    "32",
    "--steps",
    "12",
    "--classes-per-batch",
    "6",
    "--examples-per-class",
    "4",
    "--validation-fraction",
    "0.34",
    "--learning-rate",
    "0.003",
    "--seed",
    "0",
]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def siamese_cli(*args, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "siamese", *map(str, args)],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def weights_of(model_path):
    import zipfile

    with zipfile.ZipFile(model_path) as archive:
        return archive.read("model.weights.h5")


def test_a_killed_run_resumes_to_the_same_model(shapes_dir, tmp_path):
    """SIGKILL at a random moment after the first finished epoch; --resume ends where an uninterrupted run ends."""
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for folder in (whole, killed):
        folder.mkdir()
    reference = siamese_cli("train", shapes_dir, "--run", "r", "--epochs", "5", *SMALL, cwd=whole)
    victim = siamese_cli("train", shapes_dir, "--run", "r", "--epochs", "5", *SMALL, cwd=killed)
    state = killed / "results" / "r" / "resume" / "state.json"
    deadline = time.monotonic() + 240
    while not state.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(float(np.random.default_rng(0).uniform(0.0, 1.5)))  # a moment inside the epochs that follow
    assert victim.poll() is None, "the run ended before it could be killed; make it longer"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert reference.wait(timeout=300) == 0, reference.stderr.read()
    resumed = subprocess.run(
        [sys.executable, "-m", "siamese", "train", "--resume", "r"],
        cwd=killed,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming results/r" in resumed.stdout
    expected = json.loads((whole / "results" / "r" / "metrics.json").read_text())
    got = json.loads((killed / "results" / "r" / "metrics.json").read_text())
    for key in ("train_seconds", "resumed_at_epoch"):
        expected.pop(key), got.pop(key)
    assert got == expected
    assert (killed / "results" / "r" / "history.csv").read_text() == (
        whole / "results" / "r" / "history.csv"
    ).read_text()
    assert weights_of(killed / "models" / "r.keras") == weights_of(whole / "models" / "r.keras")


def test_resume_refuses_what_it_cannot_do(shapes_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--resume", "nothing"]) == 2
    assert "results/nothing/config.json: no training run to resume there" in capsys.readouterr().err
    (tmp_path / "results" / "r").mkdir(parents=True)
    (tmp_path / "results" / "r" / "config.json").write_text("{}")
    assert main(["train", "--resume", "r", "--epochs", "3"]) == 2
    assert "the run goes on with its saved data and settings; give no others (epochs)" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "give DATA" in capsys.readouterr().err


class _Poisoned:
    """Training batches that turn to NaN from the second epoch on: a loss that goes bad mid-run."""

    def __init__(self, monkeypatch):
        from siamese.training import batches

        original = batches.ClassBatches.__getitem__

        def poisoned(dataset, index):
            images, labels = original(dataset, index)
            if dataset.per_epoch and dataset.epoch >= 2:  # Keras peeks once first, so epoch 2 draws with counter 2
                images = images.copy()
                images[0] = np.nan
            return images, labels

        monkeypatch.setattr(batches.ClassBatches, "__getitem__", poisoned)


def test_a_nan_loss_stops_training_and_keeps_the_last_good_model(shapes_dir, tmp_path, monkeypatch):
    _Poisoned(monkeypatch)
    config = TrainConfig.from_settings(
        image_size=(24, 24),
        filters=(16, 32),
        embedding_dim=16,
        epochs=4,
        steps_per_epoch=5,
        classes_per_batch=6,
        examples_per_class=4,
        validation_pairs=100,
        augment=False,
        split_by_group=False,
        validation_fraction=0.34,
    )
    model = tmp_path / "m.keras"
    with pytest.raises(
        TrainingError, match=r"the loss became nan at epoch 2, step 1; the best model so far \(epoch 1\) is kept in "
    ):
        train(shapes_dir, model_path=model, config=config, results_dir=tmp_path / "r", verbose=0)
    import siamese

    loaded = siamese.load_model(model, engine="keras")
    assert np.isfinite(loaded.embed(np.zeros((24, 24), np.uint8))).all() and loaded.threshold is not None
    assert (
        json.loads((tmp_path / "r" / "resume" / "state.json").read_text())["next_epoch"] == 1
    )  # no state from bad weights


def test_a_nan_loss_from_the_start_saves_nothing(shapes_dir, tmp_path, capsys):
    code = main(
        [
            "train",
            str(shapes_dir),
            "--model-out",
            str(tmp_path / "m.keras"),
            "--results",
            str(tmp_path / "r"),
            "--epochs",
            "2",
            "--learning-rate",
            "1e30",
            *SMALL[:-4],
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "siamese: error: training stopped: the loss became" in err and "no model was saved" in err
    assert not (tmp_path / "m.keras").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs: a real file system that fills up (skipped where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode
        != 0
    ):
        pytest.skip("mounting a tmpfs needs root with CAP_SYS_ADMIN")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _tiny(tmp_path, model, *extra):
    return [
        "train",
        str(tmp_path / "data"),
        "--model-out",
        str(model),
        "--results",
        str(tmp_path / "r"),
        *tiny_training(filters="8"),
        "--no-augment",
        *extra,
    ]


def test_a_full_disk_gives_one_line_and_keeps_the_previous_model(shapes_dir, tmp_path, small_disk, capsys):
    import shutil

    shutil.copytree(shapes_dir, tmp_path / "data")
    model = small_disk / "m.keras"
    assert main(_tiny(tmp_path, model)) == 0
    before = model.read_bytes()
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 8 * 1024))  # leave 8 KiB: less than a model
    capsys.readouterr()
    assert main(_tiny(tmp_path, model, "--overwrite", "--seed", "1")) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"siamese: error: {model}: cannot be written (No space left on device); nothing there was changed"
    )
    assert err.count("\n") == 1
    assert model.read_bytes() == before and sorted(p.name for p in small_disk.iterdir()) == [
        "filler",
        "m.keras",
        "m.onnx",
    ]


def test_a_read_only_folder_fails_before_training(shapes_dir, tmp_path, small_disk, capsys):
    import shutil

    shutil.copytree(shapes_dir, tmp_path / "data")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    start = time.perf_counter()
    assert main(_tiny(tmp_path, small_disk / "m.keras")) == 2
    assert capsys.readouterr().err == f"siamese: error: {small_disk}: cannot be written (Read-only file system)\n"
    assert time.perf_counter() - start < 5


def test_a_second_run_into_the_same_results_is_refused(shapes_dir, tmp_path, capsys, monkeypatch):
    first = siamese_cli("train", shapes_dir, "--run", "same", "--epochs", "50", *SMALL, cwd=tmp_path)
    lock = tmp_path / "results" / "same" / ".lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and "pid" in lock.read_text()) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert first.poll() is None, first.stderr.read()
        monkeypatch.chdir(tmp_path)
        code = main(["train", str(shapes_dir), "--run", "same", "--overwrite", "--epochs", "1", *SMALL])
        err = capsys.readouterr().err
        assert code == 2 and f"results/same: another training run is writing here (pid {first.pid})" in err
    finally:
        first.kill()
        first.wait()
