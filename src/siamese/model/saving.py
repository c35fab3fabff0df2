"""Saving and loading networks: atomic writes, safe_mode loads, one-line errors.

A model is written to a temporary file beside its destination and moved into place with
one rename, so a crash mid-save leaves the previous model intact, never half a file. The
archive is sealed with the SHA-256 of its members (`siamese.integrity`) and checked before
Keras reads it: a model whose weights changed after saving is refused, not used.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keras

from siamese import integrity
from siamese.errors import ModelFileError
from siamese.files import atomic_path, check_keras_archive
from siamese.model.network import SiameseNetwork

logger = logging.getLogger(__name__)


def save_network(network: SiameseNetwork, path: str | os.PathLike) -> Path:
    """Write `network` to `path` (a `.keras` file) atomically; returns the path."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: model files must end in .keras")
    with atomic_path(path) as temporary:
        network.save(temporary, overwrite=True)
        integrity.seal_keras_archive(temporary)
    return path


def load_network(path: str | os.PathLike) -> SiameseNetwork:
    """Load a `.keras` Siamese network with safe_mode on (no code from the file is run)."""
    path = check_keras_archive(path)
    if not integrity.keras_archive_is_sealed(path):
        logger.warning("%s: no integrity record (saved by an older siamese); save it again to add one", path)
    try:
        network = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive; all mean the same here
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path}: not a siamese model ({first_line[:200]})") from None
    if not isinstance(network, SiameseNetwork):
        raise ModelFileError(f"{path}: a Keras model, but not a siamese network ({type(network).__name__})")
    return network
