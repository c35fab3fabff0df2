"""The ONNX engine: an exported tower on ONNX Runtime, distances in numpy. No TensorFlow, no Keras.

Everything it needs besides the weights (preprocessing, threshold, distance) comes from the
metadata stored in the file by `siamese export` (see `siamese.inference.metadata`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from siamese.data.images import Preprocessing
from siamese.errors import ConfigError, ModelFileError
from siamese.inference.metadata import METADATA_KEY, ExportMetadata
from siamese.integrity import check_onnx_bytes
from siamese.numpy_distances import NumpyDistance

logger = logging.getLogger(__name__)


def intra_op_threads() -> int:
    """ONNX Runtime's threads for one inference: `$SIAMESE_ONNX_THREADS`, else 0 (its default, one
    per core). Several processes on one machine (`siamese serve --workers N`) each set a share,
    so that N sessions do not each start a thread per core and fight over them."""
    value = os.environ.get("SIAMESE_ONNX_THREADS", "0").strip() or "0"
    if not value.isdigit():
        raise ConfigError(f"SIAMESE_ONNX_THREADS must be a whole number of threads (0: one per core), got {value!r}")
    return int(value)


def cpu_session(path: Path, *, missing: str, unusable: str):
    """An ONNX Runtime session of the file at `path` on the CPU with `intra_op_threads()` threads;
    a one-line `ModelFileError`, "<path>: `missing`" or "<path>: `unusable` (<why>)", when it cannot be had."""
    import onnxruntime

    if not path.is_file():
        raise ModelFileError(f"{path}: {missing}")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = intra_op_threads()
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own Fail / InvalidGraph / ... types
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelFileError(f"{path}: {unusable} ({first_line[:200]})") from None


class OnnxEngine:
    """Runs an exported tower with ONNX Runtime on the CPU.

    Args:
        session: an `onnxruntime.InferenceSession` of the exported tower.
        metadata: its `ExportMetadata`.
        path: the .onnx file, for messages.
    """

    name = "onnx"

    def __init__(self, session, metadata: ExportMetadata, *, path: str | os.PathLike):
        self.session = session
        self.metadata = metadata
        self.path = Path(path)
        self.preprocessing = Preprocessing.from_dict(metadata.preprocessing)
        self.distances = NumpyDistance.from_spec(metadata.distance_spec)
        self._input = session.get_inputs()[0].name

    @classmethod
    def open(cls, path: str | os.PathLike) -> OnnxEngine:
        """Load an exported tower; a one-line `ModelFileError` if it is missing or not one."""
        path = Path(path)
        session = cpu_session(path, missing="no such model file", unusable="not a usable ONNX model")
        custom = session.get_modelmeta().custom_metadata_map
        metadata = ExportMetadata.from_json(custom.get(METADATA_KEY), name=str(path))
        if metadata.onnx_sha256 is None:
            logger.warning("%s: no integrity record (exported by an older siamese); re-export to add one", path)
        else:
            check_onnx_bytes(path.read_bytes(), metadata.onnx_sha256, name=str(path))
        try:
            return cls(session, metadata, path=path)
        except (ValueError, KeyError, TypeError) as error:
            raise ModelFileError(f"{path}: unreadable siamese metadata ({error})") from None

    @property
    def threshold(self) -> float | None:
        return self.metadata.threshold

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        self.metadata = self.metadata.replace(threshold=None if value is None else float(value))

    @property
    def open_set(self) -> dict | None:
        return self.metadata.open_set

    @open_set.setter
    def open_set(self, value: dict | None) -> None:
        self.metadata = self.metadata.replace(open_set=None if value is None else dict(value))

    @property
    def embedding_dim(self) -> int:
        return self.metadata.embedding_dim

    @property
    def model_id(self) -> str:
        """SHA-256 of the weights of the .keras model it was exported from (see `SiameseModel.model_id`)."""
        return self.metadata.weights_sha256 or self.metadata.source_sha256

    @property
    def distance_name(self) -> str:
        return self.distances.name

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        """float32 (n, h, w, c) -> float32 (n, embedding_dim)."""
        return self.session.run(None, {self._input: np.ascontiguousarray(batch, np.float32)})[0]
