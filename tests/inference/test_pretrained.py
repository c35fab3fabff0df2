"""Pretrained models by name, from the installed package: editable here, and from a wheel."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

import siamese
from siamese.cli import main
from siamese.errors import ModelFileError
from siamese.inference import pretrained_path, resolve_model
from siamese.registry import LIVENESS_MODELS, PRETRAINED
from tests.conftest import BUNDLED, REPO

# run01: item06 is class18's character; the shipped model's answer, as the README shows it.
SAME_ANSWER = "same (distance 0.1177, threshold 0.3205)"


@pytest.fixture(scope="module")
def run_pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        for member, name in (
            ("run01/test/item06.png", "item06.png"),
            ("run01/training/class18.png", "class18.png"),
            ("run01/training/class01.png", "class01.png"),
        ):
            (folder / name).write_bytes(archive.read(member))
    return folder


def test_a_name_resolves_inside_the_package():
    path = pretrained_path("omniglot")
    assert path.name == "omniglot.keras" and path.is_file()
    assert resolve_model("omniglot") == path and resolve_model(None) == path
    assert resolve_model("models/mine.keras") == type(path)("models/mine.keras")  # a path stays a path


def test_load_model_by_name_runs_on_the_shipped_export():
    model = siamese.load_model("omniglot")
    assert model.engine == "onnx" and model.path == pretrained_path("omniglot")


def test_the_cli_default_is_the_shipped_model(run_pair, capsys):
    a, b = str(run_pair / "item06.png"), str(run_pair / "class18.png")
    for extra in ([], ["--model", "omniglot"], ["--model", str(REPO / "models" / "omniglot.keras")]):
        assert main(["verify", a, b, *extra]) == 0
        assert capsys.readouterr().out.strip() == SAME_ANSWER


def test_environment_may_name_a_pretrained_model(monkeypatch):
    monkeypatch.setenv("SIAMESE_MODEL", "omniglot")
    assert resolve_model(None) == pretrained_path("omniglot")


def test_an_unknown_name_is_a_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match="omniglott: no such model file"):
        siamese.load_model("omniglott")


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The project built as a wheel from a copy of its files and installed (no deps) into a folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "results", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "*.tmp*"
        ),
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(source)], capture_output=True, text=True, timeout=600
    )
    if built.returncode != 0 and "No matching distribution found for setuptools" in built.stderr:
        pytest.skip("no package index reachable for the wheel's build requirements")
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("siamese-*.whl"))
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(work / "site"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    return work / "site"


def test_a_wheel_install_verifies_with_no_model_given(wheel_site, run_pair, tmp_path):
    """`siamese verify A B` from a plain (non-editable) install, outside the source tree."""
    env = {**os.environ, "PYTHONPATH": str(wheel_site), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("SIAMESE_MODEL", None)
    where = subprocess.run(
        [sys.executable, "-c", "import siamese; print(siamese.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(wheel_site)), where  # the installed copy, not the source tree
    command = [
        str(wheel_site / "bin" / "siamese"),
        "verify",
        str(run_pair / "item06.png"),
        str(run_pair / "class18.png"),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == SAME_ANSWER
    assert (wheel_site / "siamese" / "pretrained" / "omniglot.onnx").is_file()
    shipped = sorted(f"{name}{suffix}" for name in (*PRETRAINED, *LIVENESS_MODELS) for suffix in (".keras", ".onnx"))
    assert (
        sorted(p.name for p in (wheel_site / "siamese" / "pretrained").iterdir() if p.suffix in (".keras", ".onnx"))
        == shipped
    )
