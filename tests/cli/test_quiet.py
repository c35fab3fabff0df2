"""TensorFlow's own log lines (oneDNN's, absl's) stay off the terminal of the commands, unless the
user's TF_CPP_MIN_LOG_LEVEL asks for them. train.py's run, quiet by default, is in test_cli.py."""

import os
import re
import subprocess
import sys

import pytest

from siamese.cli.quiet import filtered_stderr, is_hidden
from tests.conftest import REPO

ONEDNN = (
    "I0000 00:00:1796622505.771853    8072 port.cc:153] oneDNN custom operations are on. You may see slightly "
    "different numerical results due to floating-point round-off errors from different computation orders.\n"
)
PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} |\d{4}-\d\d-\d\d .*: [IWEF] )\S.*\] (.*)$")


def tensorflow_messages(stderr: str) -> list:
    """The messages of TensorFlow's log lines (without their times and process ids)."""
    return [found.group(1) for found in map(LOG_LINE.match, stderr.splitlines()) if found]


@pytest.mark.parametrize(
    "line, level, hidden",
    [
        (ONEDNN, 3, True),
        (ONEDNN, 1, True),
        (ONEDNN, 0, False),
        (PREAMBLE, 3, True),
        (PREAMBLE, 0, False),
        ("2026-01-30 22:44:42.456316: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.\n", 3, True),
        ("E0000 00:00:1796622505.771853    8072 cuda_dnn.cc:8310] Unable to register cuDNN factory\n", 3, True),
        ("E0000 00:00:1796622505.771853    8072 cuda_dnn.cc:8310] Unable to register cuDNN factory\n", 2, False),
        ("F0000 00:00:1796622505.771853    8072 x.cc:1] Check failed\n", 3, False),
        ("siamese: warning: something the user must know\n", 3, False),
        ("Traceback (most recent call last):\n", 3, False),
    ],
)
def test_which_lines_are_hidden(line, level, hidden):
    assert is_hidden(line, level) is hidden


def test_the_filter_passes_on_everything_else_in_order(capfd):
    with filtered_stderr(3):
        os.write(2, PREAMBLE.encode() + ONEDNN.encode() + b"a line of the user's\n")
        os.write(2, ONEDNN.encode() + b"and another\n")
    assert capfd.readouterr().err == "a line of the user's\nand another\n"


def _keras_verify(image, level: str | None) -> subprocess.CompletedProcess:
    """`siamese verify` on the Keras engine (so TensorFlow is imported), with the user's level or none."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    command = ["-m", "siamese", "verify", str(image), str(image), "--engine", "keras"]
    return subprocess.run([sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_a_command_is_quiet_by_default_and_the_users_level_still_wins(shapes_dir):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    bare = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True, timeout=300
    )
    expected = tensorflow_messages(bare.stderr)
    image = shapes_dir / "lines" / "hline" / "00.png"
    quiet, loud = _keras_verify(image, None), _keras_verify(image, "0")
    assert quiet.returncode == 0 and loud.returncode == 0, quiet.stderr + loud.stderr
    assert quiet.stdout.startswith("same (distance ")
    assert tensorflow_messages(quiet.stderr) == [] and "absl::InitializeLog" not in quiet.stderr, quiet.stderr
    if not expected:
        pytest.skip("this host's TensorFlow logs nothing on import, even at level 0")
    assert set(expected) <= set(tensorflow_messages(loud.stderr)), (bare.stderr, loud.stderr)
