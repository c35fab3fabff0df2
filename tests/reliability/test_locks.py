"""The run lock: the operating system's, so a killed holder lets it go; and nothing on the way
to inference needs `fcntl`, which Windows lacks."""

import os
import subprocess
import sys

import pytest

from siamese.errors import OutputError
from siamese.files import exclusive_lock
from tests.conftest import REPO

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

HOLD = """
import sys
from siamese.files import exclusive_lock
with exclusive_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_holder_is_refused_by_pid_until_the_first_is_killed(tmp_path):
    lock = tmp_path / "run" / ".lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(OutputError, match=rf"run: another training run is writing here \(pid {holder.pid}\)"):
            with exclusive_lock(lock):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert lock.exists()  # a killed holder leaves its file, but not its lock
    with exclusive_lock(lock):
        assert lock.read_text() == f"pid {os.getpid()}"
    assert not lock.exists()  # a holder that ends normally removes it


WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` fails
import siamese
model = siamese.load_model("omniglot")
print(model.engine, model.verify(sys.argv[1], sys.argv[2]).distance)
"""


def test_the_inference_path_loads_and_verifies_without_fcntl(oneshot_run):
    a, b = oneshot_run / "test" / "item06.png", oneshot_run / "training" / "class18.png"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL, str(a), str(b)],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    engine, distance = result.stdout.split()
    import siamese

    assert engine == "onnx" and float(distance) == pytest.approx(siamese.load_model("omniglot").distance(a, b))
