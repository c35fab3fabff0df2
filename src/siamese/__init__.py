"""siamese: one-shot similarity learning with Siamese networks on Keras 3.

    import siamese
    siamese.verify("a.png", "b.png")            # shipped Omniglot model
    model = siamese.load_model("omniglot")      # a shipped model by name, or a path
    model.verify(a, b)                          # Verification(distance, same, threshold)
    model.embed(["a.png", "b.png"])             # (2, d) float32
    faces = siamese.load_model("faces")         # a face model
    faces.embed(photos, on_no_face="whole")     # a photo without a face found: warned about, taken whole
    faces.embed(photos, faces=siamese.FaceLog())  # the same, recording each photo's faces and boxes
    siamese.liveness("door.jpg")                # Liveness(live, score, box, threshold): a printed photo?

Importing siamese is light: Keras and TensorFlow load on the first call that needs them.
After `siamese export models/omniglot.keras` (which writes models/omniglot.onnx beside it),
loading and verifying run on ONNX Runtime and never import them.
"""

from __future__ import annotations

import functools
import os

from siamese.errors import (
    ConfigError,
    DatasetError,
    GalleryError,
    GalleryUnavailableError,
    ImageError,
    ModelFileError,
    NoFaceError,
    OutputError,
    PresentationAttackError,
    ReferenceQualityError,
    SiameseError,
    TrainingError,
    UnknownIdentityError,
)

__version__ = "0.1.0"


def load_model(path: str | os.PathLike | None = None, *, engine: str = "auto"):
    """Load a saved model (.keras or .onnx), or a shipped one by name ("omniglot"); default the shipped one.

    `engine="auto"` runs on ONNX Runtime when an up-to-date export lies beside the .keras
    file, else on Keras; see `siamese.inference.load_model` and `SiameseModel`.
    """
    from siamese.inference import load_model as _load_model

    return _load_model(path, engine=engine)


@functools.lru_cache(maxsize=4)
def _cached_model(path: str):
    return load_model(path)


def verify(a, b, *, model: str | os.PathLike | None = None, threshold: float | None = None):
    """Are images `a` and `b` (paths or arrays) the same class? Returns a `Verification`.

    The model (a path or a shipped model's name; default the shipped one) is loaded once
    and kept for later calls.
    """
    from siamese.inference import resolve_model

    return _cached_model(os.path.abspath(resolve_model(model))).verify(a, b, threshold=threshold)


def __getattr__(name: str):
    if name == "FaceLog":  # OpenCV and numpy, imported only when asked for
        from siamese.data.faces import FaceLog

        return FaceLog
    raise AttributeError(f"module 'siamese' has no attribute {name!r}")


def liveness(frame, *, threshold: float | None = None, model: str | os.PathLike | None = None):
    """Is a live face before the camera in `frame` (a path or an RGB array: the whole frame)?
    Returns a `Liveness` (live, score, box, threshold); no face is a `NoFaceError`.

    The shipped detector (or `model`, a calibrated copy) is loaded once and kept; see
    `siamese.inference.liveness`. `threshold` overrides the one stored with the model.
    """
    from siamese.inference.liveness import check_liveness

    return check_liveness(frame, threshold=threshold, model=model)


__all__ = [
    "ConfigError",
    "DatasetError",
    "GalleryError",
    "GalleryUnavailableError",
    "ImageError",
    "FaceLog",
    "ModelFileError",
    "NoFaceError",
    "OutputError",
    "PresentationAttackError",
    "ReferenceQualityError",
    "SiameseError",
    "TrainingError",
    "UnknownIdentityError",
    "liveness",
    "load_model",
    "verify",
]
