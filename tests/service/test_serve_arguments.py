"""`siamese serve`'s own arguments: a wrong one is one line and exit 2, before any server starts."""

import subprocess
import sys

import pytest

from siamese.gallery import Gallery
from tests.service.conftest import ENV


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--threads", "0"], "--threads must be at least 1, got 0"),
        (["--rate", "lots"], "rate 'lots': not a rate; write it as COUNT/PERIOD, e.g. 60/minute"),
        (["--liveness", "required", "--liveness-model", "missing.onnx"], "missing.onnx: no such liveness model"),
    ],
)
def test_a_wrong_setting_is_one_line_and_exit_2(tmp_path, extra, message):
    Gallery.create(tmp_path / "g.db", "omniglot").close()
    result = subprocess.run(
        [sys.executable, "-m", "siamese", "serve", "--gallery", str(tmp_path / "g.db"), "--port", "1", *extra],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.strip() == f"siamese: error: {message}"
    assert "serving" not in result.stdout
