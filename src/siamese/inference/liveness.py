"""Liveness: is a live face before the camera, or a printed photo (a presentation attack)?

    result = siamese.liveness("door.jpg")     # Liveness(live=True, score=0.98, box=(x, y, w, h), threshold=0.5)

The whole frame goes in: the shipped detector (Minivision's MiniFASNetV2 and V1SE, see
`siamese.model.minifasnet` and models/README.md) judges the face by its surroundings too,
and fails on tight face crops. The face is found by the package's own detector
(`siamese.data.faces.find_faces`, the largest face); its box is enlarged about its centre 2.7
and 4 times (less where the frame is too small, then shifted back inside it), each crop
resized to 80x80 and scored by one network. The score is the mean of the two networks'
probability of "real" (higher = more likely live), in [0, 1]; the frame is live when the score
is at least the threshold, which is stored in the model's ONNX metadata (`siamese calibrate
--attacks` writes a copy with another) and can be overridden per call.

Runs on ONNX Runtime alone: no Keras, no TensorFlow.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
from pathlib import Path

import cv2
import numpy as np

from siamese.data.faces import find_faces
from siamese.data.images import image_array
from siamese.data.named import image_name
from siamese.errors import ConfigError, ModelFileError, NoFaceError, PresentationAttackError
from siamese.integrity import ONNX_FIELD, check_onnx_bytes
from siamese.registry import LIVENESS_MODELS
from siamese.shipped import shipped_path

METADATA_KEY = "siamese.liveness"
DEFAULT = "liveness"


@dataclasses.dataclass(frozen=True)
class Liveness:
    """The verdict on one frame: `live` when `score` (the probability of a real face) is at
    least `threshold`; `box` (left, top, width, height) is the face judged, the largest."""

    live: bool
    score: float
    box: tuple
    threshold: float

    def to_dict(self) -> dict:
        return {"live": self.live, "score": self.score, "box": list(self.box), "threshold": self.threshold}


def check_threshold(threshold) -> float:
    """A liveness threshold as a float in [0, 1], or a `ConfigError` echoing it."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ConfigError(f"liveness threshold must be a number between 0 and 1, got {threshold!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"liveness threshold must be between 0 and 1, got {threshold}")
    return value


def crop_box(height: int, width: int, box, scale: float) -> tuple:
    """(left, top, right, bottom), inclusive, of `box` scaled about its centre by `scale` (at most
    what fits the frame), shifted back inside the frame: Minivision's `CropImage._get_new_box`."""
    x, y, w, h = box
    scale = min((height - 1) / h, (width - 1) / w, scale)
    centre_x, centre_y = x + w / 2, y + h / 2
    left, top = centre_x - w * scale / 2, centre_y - h * scale / 2
    right, bottom = centre_x + w * scale / 2, centre_y + h * scale / 2
    if left < 0:
        right, left = right - left, 0
    if top < 0:
        bottom, top = bottom - top, 0
    if right > width - 1:
        left, right = left - (right - width + 1), width - 1
    if bottom > height - 1:
        top, bottom = top - (bottom - height + 1), height - 1
    return int(left), int(top), int(right), int(bottom)


class LivenessModel:
    """A liveness detector on ONNX Runtime: two 80x80 RGB crops in, each network's softmax out.

    Args:
        session: an `onnxruntime.InferenceSession` of `liveness.onnx` (or a calibrated copy).
        about: its metadata: threshold, scales, size, real_class.
        path: the file, for messages.
    """

    def __init__(self, session, about: dict, *, path: Path):
        self.session, self.path = session, path
        self.threshold = check_threshold(about["threshold"])
        self.scales, self.size, self.real_class = tuple(about["scales"]), int(about["size"]), int(about["real_class"])
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def open(cls, path: str | os.PathLike) -> LivenessModel:
        """Load a liveness .onnx; a one-line `ModelFileError` when it is missing or not one."""
        from siamese.inference.onnx_engine import cpu_session

        path = Path(path)
        session = cpu_session(path, missing="no such liveness model", unusable="not a siamese liveness model")
        try:
            about = json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY])
            check_onnx_bytes(path.read_bytes(), about[ONNX_FIELD], name=str(path))
            return cls(session, about, path=path)
        except (ConfigError, ModelFileError):
            raise
        except Exception as error:  # ONNX Runtime's own errors, missing or malformed metadata
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ModelFileError(f"{path}: not a siamese liveness model ({first[:200]})") from None

    def probabilities(self, crops: list) -> np.ndarray:
        """float32 (n, 80, 80, 3) RGB crops in 0..255, one batch per scale -> (n, 2, 3) probabilities."""
        feed = {name: np.ascontiguousarray(batch, np.float32) for name, batch in zip(self._inputs, crops)}
        return self.session.run(None, feed)[0]

    def crops(self, frame: np.ndarray, box) -> list:
        """The crops of the face `box` in the uint8 RGB `frame`, one (1, size, size, 3) per scale."""
        height, width = frame.shape[:2]
        out = []
        for scale in self.scales:
            left, top, right, bottom = crop_box(height, width, box, scale)
            crop = cv2.resize(frame[top : bottom + 1, left : right + 1], (self.size, self.size))
            out.append(crop[None].astype(np.float32))
        return out

    def check(self, frame, *, threshold: float | None = None, name: str | None = None) -> Liveness:
        """The verdict on `frame` (a path, or an RGB or grey array); `NoFaceError` when no face is found."""
        name = name or image_name(0, frame)
        threshold = self.threshold if threshold is None else check_threshold(threshold)
        image = image_array(frame, name=name, channels=3)
        faces = find_faces(image)
        if not faces:
            raise NoFaceError(f"{name}: no face found, so liveness cannot be judged")
        box = tuple(int(v) for v in faces[0].box)
        score = float(self.probabilities(self.crops(image, box))[0, :, self.real_class].mean())
        return Liveness(live=bool(score >= threshold), score=score, box=box, threshold=threshold)

    def with_threshold(self, threshold) -> LivenessModel:
        """This model deciding at `threshold` instead (the same session; this one is unchanged)."""
        twin = copy.copy(self)
        twin.threshold = check_threshold(threshold)
        return twin

    def require_live(self, frame, *, threshold: float | None = None, name: str | None = None) -> Liveness:
        """The verdict on `frame`, or a one-line `PresentationAttackError` naming it and its score when it is an attack."""
        name = name or image_name(0, frame)
        result = self.check(frame, threshold=threshold, name=name)
        if not result.live:
            raise PresentationAttackError(
                f"{name}: a presentation attack, not a live face (liveness score {result.score:.4f}, "
                f"threshold {result.threshold:.4f})"
            )
        return result

    def save(self, path: str | os.PathLike, *, threshold: float) -> Path:
        """A copy of this model at `path` whose stored threshold is `threshold` (the shipped file is never changed)."""
        import onnx

        path = Path(path)
        if path.suffix != ".onnx":
            raise ModelFileError(f"{path}: a liveness model is saved as .onnx")
        graph = onnx.load(str(self.path))
        about = json.loads({p.key: p.value for p in graph.metadata_props}[METADATA_KEY])
        return write_liveness_onnx(graph, {**about, "threshold": check_threshold(threshold)}, path)


def write_liveness_onnx(graph, about: dict, path: str | os.PathLike) -> Path:
    """Write the ONNX `graph` to `path` with `about` (threshold, scales, size, real_class) as its
    liveness metadata, sealed with the SHA-256 of the file (`siamese.integrity`): a threshold
    edited afterwards by other means is refused when the file is opened."""
    from siamese.files import atomic_path
    from siamese.integrity import PLACEHOLDER, seal_onnx_bytes

    del graph.metadata_props[:]
    graph.metadata_props.add(key=METADATA_KEY, value=json.dumps({**about, ONNX_FIELD: PLACEHOLDER}))
    with atomic_path(path) as temporary:
        Path(temporary).write_bytes(seal_onnx_bytes(graph.SerializeToString()))
    return Path(path)


def liveness_path(model: str | os.PathLike | None = None) -> Path:
    """The .onnx file meant by `model`: the shipped detector's name (default) or a path."""
    text = os.fspath(model) if model is not None else DEFAULT
    return shipped_path(text, ".onnx") if text in LIVENESS_MODELS else Path(text)


@functools.lru_cache(maxsize=4)
def _cached(path: str) -> LivenessModel:
    return LivenessModel.open(path)


def load_liveness(model: str | os.PathLike | None = None) -> LivenessModel:
    """The liveness model `model` (default the shipped one), loaded once per process."""
    path = liveness_path(model)
    if not path.is_file():  # said as the user wrote it
        raise ModelFileError(f"{path}: no such liveness model")
    return _cached(str(path.resolve()))


def check_liveness(frame, *, threshold: float | None = None, model: str | os.PathLike | None = None) -> Liveness:
    """Is a live face in `frame` (a path or an array: the whole frame, not a face crop)? See the module docstring."""
    return load_liveness(model).check(frame, threshold=threshold)
