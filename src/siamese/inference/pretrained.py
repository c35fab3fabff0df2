"""Pretrained models by name: the ones shipped inside the installed package.

    load_model("omniglot")   # <the installed package>/pretrained/omniglot.keras (+ .onnx)

The files are package data of `siamese.pretrained` (in a source checkout, the `models/`
folder), found through `importlib.resources`, so an editable install, a plain install and a
wheel all find them; nothing climbs out of the package. Without a model, the default is
`$SIAMESE_MODEL` (a name or a path) or else the Omniglot model.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from siamese.errors import ModelFileError
from siamese.registry import PRETRAINED

DEFAULT = "omniglot"


def pretrained_path(name: str) -> Path:
    """The .keras file of the pretrained model `name` (one of `siamese.registry.PRETRAINED`)."""
    PRETRAINED.check(name)
    path = Path(str(importlib.resources.files("siamese.pretrained") / f"{name}.keras"))
    if not path.is_file():
        raise ModelFileError(f"{path}: the pretrained model {name!r} is not installed with this copy of siamese")
    return path


def resolve_model(model: str | os.PathLike | None = None) -> Path:
    """The model file meant by `model`: a pretrained name, a path, or None for the default."""
    if model is None:
        model = os.environ.get("SIAMESE_MODEL") or DEFAULT
    text = os.fspath(model)
    return pretrained_path(text) if text in PRETRAINED else Path(text)
