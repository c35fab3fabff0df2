"""The `siamese` command line: train, verify, embed, export, evaluate, calibrate, ensemble, galleries; it mirrors the Python API.

The arguments of every command are in `siamese.cli.arguments`; each command is a module of
its own (`siamese.cli.train`, ...) with a `run(args)` over public library calls, imported
only when it runs. Errors in the user's input (`siamese.errors.SiameseError`, a bad setting
included) print one line, `siamese: error: FILE: PROBLEM`, and exit with status 2; no
traceback. Any other exception is a bug and keeps its traceback. TensorFlow's own log
lines stay off the terminal unless `TF_CPP_MIN_LOG_LEVEL` asks for them (`siamese.cli.quiet`).
"""

from __future__ import annotations

import importlib
import logging
import sys

from siamese.cli.arguments import build_parser
from siamese.cli.quiet import quiet_tensorflow
from siamese.errors import SiameseError

EXIT_BAD_INPUT = 2


def _show_warnings() -> None:
    """The library logs what the user should know (a stale export, skipped files); show it, one line each."""
    logger = logging.getLogger("siamese")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("siamese: warning: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    quiet_tensorflow()  # before any command imports TensorFlow
    args = build_parser().parse_args(argv)
    _show_warnings()
    try:
        return importlib.import_module(f"siamese.cli.{args.command}").run(args)
    except SiameseError as error:  # the user's input (a bad setting is a ConfigError); a bug keeps its traceback
        print(f"siamese: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("siamese: interrupted", file=sys.stderr)
        return 130


def main_exit() -> None:
    """Console-script entry point: run `main` and exit with its status."""
    sys.exit(main())
