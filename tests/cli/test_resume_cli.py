"""`siamese train --resume RUN` goes on with every flag the run started with, and reads the
flat `config.json` that runs wrote before the config was grouped."""

import json
from pathlib import Path

from siamese import load_model
from siamese.cli import main
from siamese.training import RunFolder, TrainConfig
from tests.conftest import tiny_training

FLAT = Path(__file__).parents[1] / "training" / "saved" / "flat-config.json"
TINY = [
    *tiny_training(filters="8"),
    "--no-augment",
]


def test_a_run_started_without_an_export_resumes_without_one(shapes_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(shapes_dir), "--run", "r", "--no-export", *TINY]) == 0
    assert RunFolder.named("r").read().options == {"export": False}
    capsys.readouterr()
    assert main(["train", "--resume", "r"]) == 0
    out = capsys.readouterr().out
    assert "resuming results/r" in out and "export:" not in out
    assert (tmp_path / "models" / "r.keras").is_file() and not (tmp_path / "models" / "r.onnx").exists()


def test_a_run_started_with_an_export_resumes_with_one(shapes_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(shapes_dir), "--run", "r", *TINY]) == 0
    (tmp_path / "models" / "r.onnx").unlink()
    capsys.readouterr()
    assert main(["train", "--resume", "r"]) == 0
    assert "export:" in capsys.readouterr().out and (tmp_path / "models" / "r.onnx").is_file()


def test_a_flat_config_json_from_before_the_groups_resumes(shapes_dir, tmp_path, capsys, monkeypatch):
    """The fixture's run (the signatures recipe, 24x48, classes from file names) had no resume
    state yet: it starts afresh with its saved settings, and with today's default options."""
    monkeypatch.chdir(tmp_path)
    old = json.loads(FLAT.read_text())
    old["data"]["sources"], old["model_path"] = [str(shapes_dir)], str(tmp_path / "models" / "old.keras")
    run = RunFolder.named("old")
    run.path.mkdir(parents=True)
    run.config.write_text(json.dumps(old))
    assert main(["train", "--resume", "old"]) == 0
    out = capsys.readouterr().out
    assert "resuming results/old on 96 images of 8 classes" in out  # the saved class pattern: 8 file names
    assert "export:" in out and (tmp_path / "models" / "old.onnx").is_file()  # the default of runs before options
    saved = run.read()
    assert saved.config == TrainConfig.from_dict(old) and saved.options == {"export": True}
    model = load_model(tmp_path / "models" / "old.keras", engine="keras")
    assert model.preprocessing == saved.config.preprocessing
    assert (model.preprocessing.image_size, model.preprocessing.crop) == ((24, 48), "ink")
