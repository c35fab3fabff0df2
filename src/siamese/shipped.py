"""Pretrained models by name: the ones shipped inside the installed package.

Beside the package chain (it needs no Keras and no engine), so inference loads them and
training starts from them (`TowerConfig.start_from`) alike.

    load_model("omniglot")   # <the installed package>/pretrained/omniglot.keras (+ .onnx)

The files are package data of `siamese.pretrained` (in a source checkout, the `models/`
folder), found through `importlib.resources`, so an editable install, a plain install and a
wheel all find them; nothing climbs out of the package. Without a model, the default is
`$SIAMESE_MODEL` (a name or a path) or else the Omniglot model. Each shipped file is checked
against the package's `SHA256SUMS` when it is resolved.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from siamese.errors import ModelFileError
from siamese.files import file_sha256
from siamese.registry import LIVENESS_MODELS, PRETRAINED

DEFAULT = "omniglot"


def pretrained_path(name: str) -> Path:
    """The .keras file of the pretrained model `name` (one of `siamese.registry.PRETRAINED`)."""
    PRETRAINED.check(name)
    path = Path(str(importlib.resources.files("siamese.pretrained") / f"{name}.keras"))
    if not path.is_file():
        raise ModelFileError(f"{path}: the pretrained model {name!r} is not installed with this copy of siamese")
    _check_sums(path)
    return path


def shipped_path(name: str, suffix: str) -> Path:
    """A shipped liveness model's file (`siamese.registry.LIVENESS_MODELS`), checked like the pretrained ones."""
    LIVENESS_MODELS.check(name)
    path = Path(str(importlib.resources.files("siamese.pretrained") / f"{name}{suffix}"))
    if not path.is_file():
        raise ModelFileError(f"{path}: the shipped model {name!r} is not installed with this copy of siamese")
    _check_sums(path.with_suffix(".keras"))
    return path


def _check_sums(path: Path) -> None:
    """Refuse a shipped model (or its export) whose bytes differ from the package's SHA256SUMS."""
    sums = path.with_name("SHA256SUMS")
    listed = {}
    if sums.is_file():
        listed = {
            parts[1].lstrip("*"): parts[0] for parts in map(str.split, sums.read_text().splitlines()) if len(parts) == 2
        }
    for file in (path, path.with_suffix(".onnx")):
        if file.is_file() and file_sha256(file) != listed.get(file.name):
            raise ModelFileError(
                f"{file}: differs from the SHA-256 in {sums.name} of the shipped models; reinstall siamese"
            )


def resolve_model(model: str | os.PathLike | None = None) -> Path:
    """The model file meant by `model`: a pretrained name, a path, or None for the default."""
    if model is None:
        model = os.environ.get("SIAMESE_MODEL") or DEFAULT
    text = os.fspath(model)
    return pretrained_path(text) if text in PRETRAINED else Path(text)


def lasting_name(model: str | os.PathLike | None = None) -> str:
    """How to find `model` again later (a gallery keeps it): a shipped model's name, else its absolute path."""
    if model is None:
        model = os.environ.get("SIAMESE_MODEL") or DEFAULT
    text = os.fspath(model)
    return text if text in PRETRAINED else str(Path(text).resolve())
