"""`siamese train --distributed`: data-parallel on the active backend, saved in the run's config;
a cluster it cannot use is one line and exit status 2, before anything is written."""

import json

from siamese.cli import main
from tests.conftest import tiny_training

TINY = [
    *tiny_training(),
    "--seed",
    "0",
    "--no-export",
]


def test_train_distributed_records_it_in_the_config(shapes_dir, tmp_path, capsys):
    results = tmp_path / "results"
    args = [
        "train",
        str(shapes_dir),
        "--distributed",
        "--model-out",
        str(tmp_path / "m.keras"),
        "--results",
        str(results),
        *TINY,
    ]
    assert main(args) == 0
    assert json.loads((results / "config.json").read_text())["runtime"]["distributed"] is True
    assert (tmp_path / "m.keras").exists() and "model:" in capsys.readouterr().out


def test_train_distributed_with_a_half_named_cluster_exits_2(shapes_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", raising=False)
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    args = [
        "train",
        str(shapes_dir),
        "--distributed",
        "--model-out",
        str(tmp_path / "m.keras"),
        "--results",
        str(tmp_path / "results"),
        *TINY,
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "KERAS_DISTRIBUTION_JOB_ADDRESSES: not set" in err
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "results" / "config.json").exists()
