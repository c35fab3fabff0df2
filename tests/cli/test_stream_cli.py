"""`siamese train --stream`: images decoded as batches draw them; rotated classes stream too."""

import json

from siamese.cli import main
from tests.conftest import tiny_training


def test_train_stream_with_rotated_classes(shapes_dir, tmp_path, capsys):
    results = tmp_path / "results"
    args = [
        "train",
        str(shapes_dir),
        "--stream",
        "--rotated-classes",
        "--model-out",
        str(tmp_path / "m.keras"),
        "--results",
        str(results),
        *tiny_training(),
        "--seed",
        "0",
        "--no-export",
    ]
    assert main(args) == 0
    config, metrics = (json.loads((results / name).read_text()) for name in ("config.json", "metrics.json"))
    assert config["runtime"]["stream"] is True and config["sampling"]["rotated_classes"] is True
    assert (
        metrics["training_classes"] == 4 * 8 and metrics["validation_classes"] == 4
    )  # 8 training classes, 3 turns added
    assert (tmp_path / "m.keras").exists() and "model:" in capsys.readouterr().out
