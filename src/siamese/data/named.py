"""Images that keep their names, so what is said about one later names its file.

Evaluation and the service hand the model decoded arrays, not paths; a photo in which no
face is found, in the middle of a run of thousands, should still be named by its file.
"""

from __future__ import annotations

import os

import numpy as np


class NamedImage(np.ndarray):
    """A decoded image that keeps its file's name; otherwise a plain array."""

    name: str | None = None


def named(image: np.ndarray, name: str) -> NamedImage:
    """`image` as a `NamedImage` called `name` (a view: no copy)."""
    view = image.view(NamedImage)
    view.name = name
    return view


def image_name(index: int, image) -> str:
    """How messages and a `FaceLog` name the `index`-th image of a call: its path, its name, or "image N"."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    return getattr(image, "name", None) or f"image {index}"
