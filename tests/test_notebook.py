"""The quick-start notebook runs top to bottom on the shipped model."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_quickstart_notebook_code_runs():
    notebook = json.loads((REPO / "notebooks" / "quickstart.ipynb").read_text())
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO / "notebooks", env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "same=True" in lines[0] and "same=False" in lines[1]
    assert lines[2].startswith("picked class18.png")
