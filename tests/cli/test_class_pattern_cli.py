"""`siamese train --class-pattern`: classes from file names, kept for `--resume`."""

import json

import numpy as np

from siamese.cli import main
from tests.conftest import tiny_training
from tests.data.test_layouts import SHAPE_NAMES, write_image


def test_train_with_a_class_pattern_and_resume_it(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    faces = tmp_path / "yale"
    for subject in range(8):  # Yale faces' names: subjectNN.mood, GIF without an extension
        for mood in ("happy", "sad", "wink", "sleepy"):
            write_image(faces / f"subject{subject + 1:02d}.{mood}", SHAPE_NAMES[subject], rng, ext=".gif")
    monkeypatch.chdir(tmp_path)
    args = [
        "train",
        str(faces),
        "--class-pattern",
        r"subject(\d+)",
        "--run",
        "r",
        *tiny_training(),
        "--validation-fraction",
        "0.25",
        "--no-augment",
        "--no-export",
    ]
    assert main(args) == 0
    assert "training on 32 images of 8 classes" in capsys.readouterr().out
    saved = json.loads((tmp_path / "results" / "r" / "config.json").read_text())
    assert saved["data"]["class_pattern"] == r"subject(\d+)" and "class_pattern" not in saved
    assert main(["train", "--resume", "r", "--class-pattern", "x(y)"]) == 2
    assert "give no others" in capsys.readouterr().err
    assert (
        main(["train", "--resume", "r", "--no-export"]) == 0
    )  # read with the saved pattern: a flat folder has no class folders
    assert "resuming results/r on 32 images of 8 classes" in capsys.readouterr().out


def test_train_with_a_bad_class_pattern_exits_2_with_one_line(tmp_path, capsys):
    write_image(tmp_path / "faces" / "subject01.happy", "circle", np.random.default_rng(0), ext=".gif")
    assert (
        main(
            [
                "train",
                str(tmp_path / "faces"),
                "--class-pattern",
                "subject\\d+",
                "--model-out",
                str(tmp_path / "m.keras"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "class pattern 'subject\\\\d+': has no group to name the class" in err
    assert not (tmp_path / "m.keras").exists()
