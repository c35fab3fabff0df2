"""TensorFlow's own log lines kept off the terminal of every command (and of train.py).

TensorFlow logs from C++, before Python's logging exists. `TF_CPP_MIN_LOG_LEVEL` (3 here
unless the user set it: no info, warning or error line) silences what it logs once loaded,
but not the lines its libraries write while they load: oneDNN's `I0000 ... port.cc:153]
oneDNN custom operations are on ...` (once per library, so twice), after absl's `WARNING: All
log messages before absl::InitializeLog() ...`. Neither obeys that variable, nor
`TF_ENABLE_ONEDNN_OPTS`, `GLOG_minloglevel` or absl's flags (none is read that early), so
`quiet_tensorflow` catches the standard error of the first `import tensorflow`, wherever in
the package or its dependencies it happens (Keras, tf2onnx), and passes on everything but
those log lines. Nothing is imported here: a command that never needs TensorFlow never
loads it. The user's own `TF_CPP_MIN_LOG_LEVEL` wins: at 0 every line shows, as without siamese.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
DEFAULT_LEVEL = "3"
SEVERITIES = "IWEF"  # info, warning, error, fatal: levels 0 to 3, as TF_CPP_MIN_LOG_LEVEL counts them
# absl's prefix ("I0000 00:00:1796622505.771853    8072 port.cc:153] ") and TensorFlow's older one
# ("2026-01-30 22:44:42.456316: I tensorflow/core/util/port.cc:153] ").
_LOG_LINE = re.compile(r"^(?:([IWEF])\d{4} [\d:.]+\s+\d+|\d{4}-\d\d-\d\d [\d:.]+: ([IWEF])) \S+:\d+\] ")
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def min_level() -> int:
    """The level in force: the user's `TF_CPP_MIN_LOG_LEVEL` (0 when it is no number, as TensorFlow reads it)."""
    try:
        return int(os.environ.get(VARIABLE, DEFAULT_LEVEL))
    except ValueError:
        return 0


def is_hidden(line: str, level: int) -> bool:
    """Whether TensorFlow (at `level`) would keep this line it wrote while loading to itself."""
    if line.rstrip("\n") == _ABSL_PREAMBLE:
        return level > 0
    found = _LOG_LINE.match(line)
    return found is not None and SEVERITIES.index(found.group(1) or found.group(2)) < level


@contextlib.contextmanager
def filtered_stderr(level: int):
    """Standard error (the file descriptor, so C++ writes too) caught while the block runs,
    then written out without the lines `is_hidden` names."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to catch
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not is_hidden(line, level)))
            sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run inside `filtered_stderr`."""

    def __init__(self, loader, level: int):
        self.loader, self.level = loader, level

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # TensorFlow sees its own loader
        with filtered_stderr(self.level):
            self.loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, as the other finders do, and hands out its loader wrapped."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, min_level())
        return spec


def quiet_tensorflow() -> None:
    """Set `TF_CPP_MIN_LOG_LEVEL` unless the user did, and filter the first import of TensorFlow."""
    os.environ.setdefault(VARIABLE, DEFAULT_LEVEL)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
