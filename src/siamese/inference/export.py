"""Export a model's tower for deployment, with what inference needs stored alongside the weights.

    models/omniglot.keras -> models/omniglot.onnx            (format "onnx", the default)
                          -> models/omniglot_saved_model/    (format "saved_model")
                          -> models/omniglot.tflite          (format "litert")

Only the tower is exported: it is the one costly part, and one tower pass per image is all
verification needs; the distance is a few numpy lines (`siamese.numpy_distances`). The
preprocessing, threshold, distance (with the learned head's weights) and the SHA-256 of the
.keras file travel in the export (`siamese.inference.metadata`): in `metadata_props` for
ONNX, in `assets.extra/siamese.json` for a SavedModel, in the flatbuffer's metadata for LiteRT.

Every export is checked before it is moved into place: on a few random images its
embeddings must agree with Keras's to `tolerance`, or nothing is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np

from siamese.errors import BackendError, ModelFileError, SiameseError
from siamese.files import atomic_dir, atomic_path, check_keras_archive, file_sha256
from siamese.inference.metadata import ExportMetadata, write_onnx_metadata
from siamese.registry import EXPORT_FORMATS


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Where the export went and how closely it agrees with Keras (max |difference| of embeddings)."""

    path: Path
    format: str
    max_difference: float
    seconds: float


def export_path(model_path: str | os.PathLike, format: str = "onnx") -> Path:
    """Where `export_model` writes by default: beside the model, named after it."""
    model_path = Path(model_path)
    if format == "saved_model":
        return model_path.with_name(f"{model_path.stem}_saved_model")
    return model_path.with_suffix({"onnx": ".onnx", "litert": ".tflite"}[format])


def export_model(
    model_path: str | os.PathLike,
    format: str = "onnx",
    *,
    out: str | os.PathLike | None = None,
    tolerance: float = 1e-4,
    check_images: int = 8,
    seed: int = 0,
) -> ExportResult:
    """Export the tower of the .keras model at `model_path`; returns where it went.

    Args:
        model_path: a .keras model.
        format: "onnx", "saved_model" or "litert".
        out: destination; default `export_path(model_path, format)`, beside the model.
        tolerance: the largest embedding difference from Keras accepted.
        check_images: random images the check runs on.
        seed: seed of those images.
    """
    EXPORT_FORMATS.check(format)
    model_path = check_keras_archive(model_path)  # fails fast, before TensorFlow is imported
    out = Path(out) if out is not None else export_path(model_path, format)
    wanted = {"onnx": ".onnx", "litert": ".tflite"}.get(format)
    if wanted and out.suffix != wanted:
        raise ModelFileError(f"{out}: {format} exports must end in {wanted}")
    start = time.perf_counter()
    source_sha256 = file_sha256(model_path)

    from siamese.inference.keras_engine import KerasEngine, distance_spec

    engine = KerasEngine.open(model_path)
    tower, shape = engine.network.tower, engine.preprocessing.input_shape
    tower(np.zeros((1, *shape), np.float32), training=False)  # export wants a tower that has run once
    images = np.random.default_rng(seed).random((check_images, *shape), dtype=np.float32)
    expected = engine.embed_batch(images)
    metadata = ExportMetadata(
        preprocessing=engine.preprocessing.to_dict(),
        threshold=engine.threshold,
        distance_spec=distance_spec(engine.network.distance),
        embedding_dim=engine.embedding_dim,
        source_file=model_path.name,
        source_sha256=source_sha256,
        siamese_version=importlib.metadata.version("siamese"),
        weights_sha256=engine.model_id,
        open_set=engine.open_set,
    )
    writer = {"onnx": _write_onnx, "saved_model": _write_saved_model, "litert": _write_litert}[format]
    difference = writer(tower, out, images, expected, metadata, tolerance)
    return ExportResult(out, format, difference, time.perf_counter() - start)


def _check(out: Path, got: np.ndarray, expected: np.ndarray, tolerance: float) -> float:
    difference = float(np.max(np.abs(np.asarray(got, np.float32) - expected)))
    if not difference <= tolerance:
        raise ModelFileError(
            f"{out}: exported tower disagrees with Keras by {difference:.2g} (> {tolerance:g}); nothing written"
        )
    return difference


@contextlib.contextmanager
def _quiet():
    """Silence the converters' deprecation chatter and INFO logs for the duration."""
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow", "absl")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def _write_onnx(tower, out, images, expected, metadata, tolerance) -> float:
    import keras

    # Keras converts to ONNX with another package on each backend: check for the one it will use.
    backend = keras.backend.backend()
    converter, extra = {"tensorflow": ("tf2onnx", "export"), "jax": ("jax2onnx", "jax")}.get(
        backend, ("onnxscript", None)
    )
    if importlib.util.find_spec(converter) is None:
        how = f"pip install 'siamese[{extra}]'" if extra else f"pip install {converter}"
        raise SiameseError(f"{out}: ONNX export on Keras's {backend} backend needs {converter} ({how})")
    import onnx
    import onnxruntime

    from siamese.inference.onnx_pooling import split_channels_last_max_pools

    with atomic_path(out) as temporary:
        with _quiet():
            tower.export(temporary, format="onnx", verbose=False)
        graph = onnx.load(temporary)
        if split_channels_last_max_pools(graph):  # jax2onnx's pooling, which ONNX Runtime refuses
            onnx.save(graph, temporary)
        session = onnxruntime.InferenceSession(temporary, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: images})[0]
        difference = _check(out, got, expected, tolerance)
        write_onnx_metadata(temporary, temporary, metadata.replace(max_difference=difference))
    return difference


def _write_saved_model(tower, out, images, expected, metadata, tolerance) -> float:
    import keras

    if keras.backend.backend() not in (
        "tensorflow",
        "jax",
    ):  # Keras writes SavedModels from TensorFlow or JAX (jax2tf) functions
        raise BackendError(
            f"{out}: SavedModel export needs Keras's tensorflow or jax backend, not {keras.backend.backend()} "
            "(run it with KERAS_BACKEND=tensorflow; the .keras file is the same)"
        )
    try:
        import tensorflow as tf
    except ImportError:
        raise SiameseError(
            f"{out}: SavedModel export needs TensorFlow (pip install 'siamese[tensorflow-cpu]')"
        ) from None

    with atomic_dir(out) as temporary:
        with _quiet():
            tower.export(temporary, format="tf_saved_model", verbose=False)
            loaded = tf.saved_model.load(temporary)  # kept in a name: its variables must outlive the call
            got = loaded.serve(images).numpy()
        difference = _check(out, got, expected, tolerance)
        extra = Path(temporary) / "assets.extra"
        extra.mkdir(exist_ok=True)
        (extra / "siamese.json").write_text(
            metadata.replace(max_difference=difference).to_json() + "\n", encoding="utf-8"
        )
    return difference


def _write_litert(tower, out, images, expected, metadata, tolerance) -> float:
    import keras

    if keras.backend.backend() != "tensorflow":  # Keras converts to LiteRT from TensorFlow graphs only
        raise BackendError(
            f"{out}: LiteRT export needs Keras's tensorflow backend, not {keras.backend.backend()} "
            "(run it with KERAS_BACKEND=tensorflow; the .keras file is the same)"
        )
    with atomic_path(out) as temporary:
        try:
            with _quiet():
                tower.export(temporary, format="litert", verbose=False)
                import tensorflow as tf
                from tensorflow.lite.tools import flatbuffer_utils

                interpreter = tf.lite.Interpreter(model_path=temporary)
        except (ImportError, AttributeError, ValueError, RuntimeError) as error:
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise SiameseError(
                f"{out}: LiteRT export is not available with this Keras / TensorFlow ({first_line[:200]})"
            ) from None
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, images.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, images)
        interpreter.invoke()
        difference = _check(
            out, interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), expected, tolerance
        )
        _add_tflite_metadata(flatbuffer_utils, temporary, metadata.replace(max_difference=difference))
    return difference


def _add_tflite_metadata(flatbuffer_utils, path: str, metadata: ExportMetadata) -> None:
    """Store the metadata as the flatbuffer's "siamese" metadata entry (a buffer of JSON bytes)."""
    schema = flatbuffer_utils.schema_fb
    model = flatbuffer_utils.read_model(path)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata.to_json().encode("utf-8"), np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = "siamese"
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name not in (b"siamese", "siamese")] + [entry]
    flatbuffer_utils.write_model(model, path)
