"""A trained model ready for use: embed images, measure distances, verify pairs.

Images are paths or numpy arrays; results are numpy arrays or small dataclasses. The score
(distance) is kept apart from the decision (`same`), which is one comparison against the
model's calibrated threshold, or one you pass.

Two engines run a model, with the same results (to 1e-4) and the same API:

    "onnx"   the tower exported by `siamese export` (x.keras -> x.onnx), on ONNX Runtime,
             distances in numpy: no TensorFlow import, a fraction of a second to load.
    "keras"  the .keras network itself (imports TensorFlow).

`load_model("x.keras")` takes the ONNX engine when x.onnx lies beside x.keras and was made
from this very file (the SHA-256 recorded in the export matches); a stale export is skipped
with a warning. `load_model("x.onnx")` loads the export on its own.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from siamese.data.faces import FaceLog
from siamese.data.images import ImageLike, as_image_list, iter_image_batches
from siamese.errors import ModelFileError
from siamese.files import check_keras_archive, file_sha256
from siamese.registry import ENGINES, ON_NO_FACE
from siamese.shipped import resolve_model

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Verification:
    """The answer to "same or different?": the distance, the decision and the threshold used."""

    distance: float
    same: bool
    threshold: float


class SiameseModel:
    """A loaded Siamese model with its preprocessing and threshold, on one engine.

    Args:
        engine: a `KerasEngine` or `OnnxEngine` (a `SiameseNetwork` is wrapped in a `KerasEngine`).
        path: where it was loaded from, for messages and `save`.
    """

    def __init__(self, engine, *, path: str | os.PathLike | None = None):
        if not hasattr(engine, "embed_batch"):
            from siamese.inference.keras_engine import KerasEngine

            engine = KerasEngine(engine)
        self._engine = engine
        self.path = Path(path) if path is not None else None
        self.preprocessing = engine.preprocessing

    @property
    def engine(self) -> str:
        """ "onnx" or "keras": what runs the tower."""
        return self._engine.name

    @property
    def network(self):
        """The Keras `SiameseNetwork` (Keras engine only)."""
        if self._engine.name != "keras":
            raise AttributeError(
                f"{self.path}: runs on ONNX Runtime and holds no Keras network; "
                "load_model(path, engine='keras') gives one"
            )
        return self._engine.network

    @property
    def threshold(self) -> float | None:
        return self._engine.threshold

    @threshold.setter
    def threshold(self, value: float | None) -> None:
        self._engine.threshold = value

    @property
    def open_set(self) -> dict | None:
        """The open-set operating point galleries identify with (dict form of
        `siamese.open_set.OpenSetPoint`), or None where the model was not calibrated for it."""
        return self._engine.open_set

    @open_set.setter
    def open_set(self, value: dict | None) -> None:
        self._engine.open_set = value

    @property
    def embedding_dim(self) -> int:
        return self._engine.embedding_dim

    @property
    def model_id(self) -> str:
        """SHA-256 of the model's weights: what made an embedding. The same on both engines and
        after a new threshold, different for any other training; galleries keep it."""
        return self._engine.model_id

    @property
    def distance_name(self) -> str:
        """The model's distance, as named in `siamese.registry.DISTANCES`."""
        return self._engine.distance_name

    def embed(
        self,
        images: list[ImageLike] | ImageLike,
        *,
        batch_size: int = 256,
        workers: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        detect: bool = True,
        on_no_face: str | None = None,
        faces: FaceLog | None = None,
    ) -> np.ndarray:
        """Embeddings, float32 (n, embedding_dim), of paths and/or arrays (one image or many).

        Images are decoded by `workers` threads (default one per core) while the tower runs
        on the previous batch of `batch_size`; `progress(done, total)` is called after each batch.

        For a face model (preprocessing crop "face"): `detect=False` takes each image as an
        already cut face chip (resized to the input). An image in which no face is found
        raises `NoFaceError` naming it (`on_no_face="raise"`), or, for batch work where one
        photo must not end the run (`on_no_face="whole"`), is named in a warning and taken
        whole as the face's box. `faces` (a `siamese.FaceLog`) records the faces found in
        each image, their boxes and the images without one; without `on_no_face`, its
        `keep_faceless` decides (`FaceLog()` keeps them whole), and without either, "raise".

            model.embed(photos, on_no_face="whole")
        """
        images = as_image_list(images)
        faces = _face_rule(on_no_face, faces)
        preprocessing = self.preprocessing if detect else self.preprocessing.without_face_detection()
        chunks, done = [], 0
        batches = iter_image_batches(images, preprocessing, batch_size=batch_size, workers=workers, faces=faces)
        for batch in batches:
            chunks.append(np.asarray(self._engine.embed_batch(batch), np.float32))
            done += len(batch)
            if progress is not None:
                progress(done, len(images))
        return np.concatenate(chunks)

    def distances(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Distances (n,) between matched rows of two embedding arrays (n, d)."""
        return np.asarray(self._engine.distances(first, second), np.float32)

    def distance(
        self,
        a: ImageLike,
        b: ImageLike,
        *,
        detect: bool = True,
        on_no_face: str | None = None,
        faces: FaceLog | None = None,
    ) -> float:
        """The distance between two images; smaller is more alike (`detect`, `on_no_face`, `faces`: see `embed`)."""
        embeddings = self.embed([a, b], detect=detect, on_no_face=on_no_face, faces=faces)
        return float(self.distances(embeddings[:1], embeddings[1:])[0])

    def verify(
        self,
        a: ImageLike,
        b: ImageLike,
        *,
        threshold: float | None = None,
        detect: bool = True,
        on_no_face: str | None = None,
        faces: FaceLog | None = None,
    ) -> Verification:
        """Same class or not: `distance <= threshold` (`detect`, `on_no_face`, `faces`: see `embed`)."""
        threshold = self.threshold if threshold is None else float(threshold)
        if threshold is None:
            raise ModelFileError(f"{self.path or 'model'}: has no calibrated threshold; pass threshold=")
        distance = self.distance(a, b, detect=detect, on_no_face=on_no_face, faces=faces)
        return Verification(distance=distance, same=bool(distance <= threshold), threshold=threshold)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the model (threshold and open-set point included) atomically, by default back where it came from.

        A .keras target is written from the Keras network (loaded for the purpose when the
        ONNX engine runs); an export beside it that was up to date is kept so, its metadata
        (threshold, source hash) updated. A .onnx target is written from an ONNX engine.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ModelFileError("model: no path to save to; pass one")
        if target.suffix == ".onnx":
            return self._save_onnx(target)
        beside = target.with_suffix(".onnx")
        current = target.is_file() and beside.is_file() and _export_is_current(target, beside)
        network = self._keras_network_for(target)
        network.threshold, network.open_set = self.threshold, self.open_set
        from siamese.model.saving import save_network

        save_network(network, target)
        if current:
            from siamese.inference.metadata import read_onnx_metadata, write_onnx_metadata

            metadata = read_onnx_metadata(beside).replace(
                threshold=self.threshold, open_set=self.open_set, source_sha256=file_sha256(target)
            )
            write_onnx_metadata(beside, beside, metadata)
            if self._engine.name == "onnx" and self._engine.path == beside:
                self._engine.metadata = metadata
        return target

    def _save_onnx(self, target: Path) -> Path:
        if self._engine.name != "onnx":
            raise ModelFileError(
                f"{target}: ONNX files are written by `siamese export` (siamese.inference.export_model)"
            )
        from siamese.inference.metadata import write_onnx_metadata

        write_onnx_metadata(self._engine.path, target, self._engine.metadata)
        return target

    def _keras_network_for(self, target: Path):
        if self._engine.name == "keras":
            return self._engine.network
        source = self._engine.path.with_suffix(".keras")
        if not (source.is_file() and file_sha256(source) == self._engine.metadata.source_sha256):
            raise ModelFileError(
                f"{target}: cannot write a .keras model from {self._engine.path} alone "
                f"(its source {source.name} is missing or has changed); save to a .onnx file"
            )
        from siamese.model.saving import load_network

        return load_network(source)


def _face_rule(on_no_face: str | None, faces: FaceLog | None) -> FaceLog | None:
    """The log that carries out `on_no_face` ("raise" or "whole"), recording into `faces` when given."""
    if on_no_face is None:
        return faces
    keep = ON_NO_FACE.check(on_no_face) == "whole"
    if faces is not None:
        return faces.keeping(keep)
    return FaceLog(keep_faceless=True) if keep else None


def _export_is_current(model_path: Path, export_path: Path) -> bool:
    """Whether `export_path` records the SHA-256 of `model_path` as it is now."""
    from siamese.inference.metadata import read_onnx_metadata

    try:
        return read_onnx_metadata(export_path).source_sha256 == file_sha256(model_path)
    except ModelFileError:
        return False


def _open_export_of(path: Path, *, engine: str):
    """The ONNX engine for the export beside `path`, or None (with a warning when it is stale or broken)."""
    beside = path.with_suffix(".onnx")
    if not beside.is_file():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        logger.info("%s: onnxruntime is not installed; using Keras", beside)
        return None
    from siamese.inference.onnx_engine import OnnxEngine

    try:
        onnx_engine = OnnxEngine.open(beside)
    except ModelFileError as error:
        if engine == "onnx":
            raise
        logger.warning("%s; using Keras", error)
        return None
    if path.is_file() and onnx_engine.metadata.source_sha256 != file_sha256(path):
        message = (
            f"{beside}: stale export (made from another version of {path}); run `siamese export {path}` to refresh it"
        )
        if engine == "onnx":
            raise ModelFileError(message)
        logger.warning("%s; using Keras", message)
        return None
    return onnx_engine


def load_model(path: str | os.PathLike | None = None, *, engine: str = "auto") -> SiameseModel:
    """Load a saved model (.keras or .onnx) or a pretrained one by name; by default the shipped one.

    Args:
        path: a .keras model, a .onnx export of one, or the name of a pretrained model
            ("omniglot"); default `$SIAMESE_MODEL`, else "omniglot" (`siamese.shipped`).
        engine: "auto" (ONNX Runtime when an up-to-date export lies beside the .keras file,
            else Keras), "onnx" (fail unless there is one) or "keras".
    """
    ENGINES.check(engine)
    path = resolve_model(path)
    if path.suffix == ".onnx":
        if engine == "keras":
            raise ModelFileError(f"{path}: an ONNX export; the Keras engine needs the .keras model")
        from siamese.inference.onnx_engine import OnnxEngine

        return SiameseModel(OnnxEngine.open(path), path=path)
    if engine != "keras":
        onnx_engine = _open_export_of(path, engine=engine)
        if onnx_engine is not None:
            return SiameseModel(onnx_engine, path=path)
        if engine == "onnx":
            raise ModelFileError(f"{path.with_suffix('.onnx')}: no ONNX export of {path}; run `siamese export {path}`")
    check_keras_archive(path)  # before importing Keras: a wrong path fails fast
    from siamese.inference.keras_engine import KerasEngine

    return SiameseModel(KerasEngine.open(path), path=path)
