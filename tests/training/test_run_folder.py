"""The results folder of a run: where each file lies, and what a resume reads back from it."""

import json
from pathlib import Path

import pytest

from siamese.errors import ConfigError
from siamese.training import RunFolder, TrainConfig

FLAT = (Path(__file__).parent / "saved" / "flat-config.json").read_text()


def test_the_layout_of_a_run_folder(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert (run.config, run.history, run.metrics) == tuple(
        tmp_path / "r" / name for name in ("config.json", "history.csv", "metrics.json")
    )
    assert (run.resume, run.evaluation, run.lock) == tuple(
        tmp_path / "r" / name for name in ("resume", "evaluation", ".lock")
    )
    assert RunFolder.named("mine").path == Path("results") / "mine"
    assert RunFolder.of_model(tmp_path / "models" / "mine.keras").path == Path("results") / "mine"


def test_a_written_config_reads_back_with_its_data_model_and_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = RunFolder(tmp_path / "r")
    run.path.mkdir()
    config = TrainConfig.from_settings(epochs=3, crop="ink", invert=True, augment=False)
    data = {"sources": [str(tmp_path / "data")], "class_pattern": r"(\d+)", "images": 10}
    run.write_config(config, data=data, model_path="models/m.keras", options={"export": False})
    saved = run.read()
    assert saved.config == config and saved.options == {"export": False}
    assert saved.sources == data["sources"] and saved.class_pattern == r"(\d+)"
    assert saved.model_path == tmp_path / "models" / "m.keras"  # recorded absolute: a resume may start elsewhere
    assert json.loads(run.config.read_text())["schedule"]["epochs"] == 3  # grouped, as it is made


def test_a_flat_config_saved_before_the_groups_reads_with_no_options(tmp_path):
    run = RunFolder(tmp_path)
    run.config.write_text(FLAT)
    saved = run.read()
    assert saved.config == TrainConfig.from_dict(json.loads(FLAT)) and saved.options == {}
    assert (saved.sources, saved.class_pattern, saved.model_path) == (["SHAPES"], r"(\d+)", Path("MODEL"))


@pytest.mark.parametrize("text", [None, "{}", "not json", '{"data": {}, "model_path": "m.keras"}'])
def test_a_folder_without_a_readable_run_is_a_config_error(tmp_path, text):
    run = RunFolder(tmp_path)
    if text is not None:
        run.config.write_text(text)
    with pytest.raises(ConfigError, match="config.json: no training run to resume there"):
        run.read()


def test_starting_afresh_removes_an_earlier_runs_history_and_resume_state(tmp_path):
    run = RunFolder(tmp_path)
    run.resume.mkdir()
    for stale in (run.history, run.resume / "state.json"):
        stale.write_text("old")
    run.config.write_text("{}")
    run.start_afresh()
    assert not run.history.exists() and not (run.resume / "state.json").exists() and run.config.exists()
    assert run.resume_state() is None
