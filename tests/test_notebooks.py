"""The notebooks run top to bottom in a Jupyter kernel: the quick start on the shipped model,
and the three application notebooks on a tiny training setting (one epoch of a few batches,
set through the environment variables of their first cell)."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"


def run_notebook(name: str, monkeypatch, **env) -> nbformat.NotebookNode:
    """Execute notebooks/NAME in a fresh python3 kernel (which inherits `env`; None unsets); the executed notebook."""
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, str(value))
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


def printed(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("name") == "stdout")


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning")  # its cells carry no ids
def test_quickstart_notebook_runs(monkeypatch):
    notebook = run_notebook("quickstart.ipynb", monkeypatch, TF_CPP_MIN_LOG_LEVEL=3)
    lines = "".join(printed(cell) for cell in code_cells(notebook)).splitlines()
    assert "same=True" in lines[0] and "same=False" in lines[1]
    assert lines[2].startswith("picked class18.png")


@pytest.mark.parametrize("name, data", [("handwriting", None), ("signatures", None), ("faces", "synthetic")])
def test_application_notebook_trains_evaluates_verifies_and_identifies(name, data, monkeypatch, tmp_path):
    notebook = run_notebook(
        f"{name}.ipynb",
        monkeypatch,
        SIAMESE_NOTEBOOK_DATA=data,
        SIAMESE_NOTEBOOK_EPOCHS=1,
        SIAMESE_NOTEBOOK_STEPS=3,
        SIAMESE_NOTEBOOK_WORKDIR=tmp_path / name,
        TF_CPP_MIN_LOG_LEVEL=3,
    )

    last = printed(code_cells(notebook)[-1]).splitlines()
    assert sum("Verification(distance=" in line for line in last) == 2, last
    assert any(line.startswith("identification: ") for line in last), last
    metrics = json.loads(next(line for line in last if line.startswith("metrics: "))[len("metrics: ") :])
    # One epoch of 3 batches promises no level of AUC, so none is asserted: the figures printed
    # must be those the training and the evaluation wrote.
    trained = json.loads((tmp_path / name / "training" / "metrics.json").read_text())
    evaluated = json.loads((tmp_path / name / "evaluation" / "metrics.json").read_text())
    assert metrics["val_auc"] == round(trained["val_auc"], 4)
    assert metrics["auc"] == round(evaluated["verification"]["auc"]["value"], 4)
    assert metrics["eer"] == round(evaluated["verification"]["eer"]["value"], 4)
    assert 0 <= metrics["identified"] <= metrics["queries"] and metrics["queries"] >= 2

    pictures = sum("image/png" in output.get("data", {}) for cell in code_cells(notebook) for output in cell.outputs)
    assert pictures >= 6  # the data, the evaluation's plots, the verified pairs
    assert (tmp_path / name / f"{name}.keras").is_file()
    assert (tmp_path / name / "evaluation" / "report.md").is_file()
