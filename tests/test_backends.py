"""The core tests again on Keras's JAX backend, so CI's one test command checks a second backend.

The library's model code uses `keras.ops` only, and training, saving, loading, resuming and the
ONNX export go through Keras, so they must work on any backend Keras runs. A Keras backend is
chosen once per process, at the first `import keras`: the core modules run once more in a child
pytest with `KERAS_BACKEND=jax`. The slow end-to-end modules (CLI runs in subprocesses, the
killed-and-resumed run, the backbones) stay on TensorFlow only, so this stays near 3 minutes on
two cores. To run the same by hand:

    KERAS_BACKEND=jax python -m pytest -q tests/model/test_distances.py ...
"""

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

CORE = [
    "tests/model/test_distances.py",
    "tests/model/test_losses.py",
    "tests/model/test_network.py",
    "tests/training/test_trainer.py",
    "tests/training/test_resume.py",
    "tests/training/test_train.py",
    "tests/inference/test_model.py",
    "tests/test_numpy_distances.py",
    "tests/inference/test_export.py",
    "tests/inference/test_pretrained.py",
]


MISSING = [name for name in ("jax", "jax2onnx") if importlib.util.find_spec(name) is None]


@pytest.mark.skipif(
    bool(MISSING),
    reason=f"{' and '.join(MISSING)} not installed (pip install 'siamese[jax]'; jax2onnx needs Python 3.11+)",
)
def test_the_core_tests_pass_on_the_jax_backend():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CORE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-60:])
    assert run.returncode == 0, f"the core tests failed on the jax backend (exit {run.returncode}):\n{tail}"
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    assert "this run is on jax" in run.stdout, tail  # the LiteRT test's skip: the child really ran on JAX
