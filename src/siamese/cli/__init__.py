"""The `siamese` command line."""

from siamese.cli.main import main

__all__ = ["main"]
