"""What an exported tower carries so that it verifies images on its own, without Keras.

An ONNX export holds it in `metadata_props` under the key "siamese", as JSON:

    {"format": 1, "siamese_version": "0.1.0",
     "preprocessing": {"image_size": [48, 48], "channels": 1, "invert": true},
     "threshold": 0.41, "distance": {"name": "cosine"}, "embedding_dim": 128,
     "source": {"file": "omniglot.keras", "sha256": "9f2c..."}, "max_difference": 2e-07,
     "onnx_sha256": "51ab...", "open_set": {"target_fpir": 0.01, "sizes": [...], ...}}

`source.sha256` is the hash of the .keras file the tower came from: an export beside a
.keras file is used in its place only while the hashes agree (otherwise it is stale).
`onnx_sha256` is the hash of the export itself (`siamese.integrity`): an export edited
after it was written is refused.
Reading and editing it needs the `onnx` package only, never TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from siamese.errors import ModelFileError
from siamese.files import atomic_path
from siamese.integrity import ONNX_FIELD, PLACEHOLDER, seal_onnx_bytes

METADATA_KEY = "siamese"
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExportMetadata:
    """The metadata of one export; see the module docstring for its JSON form.

    Args:
        preprocessing: dict form of `siamese.data.Preprocessing`.
        threshold: the calibrated threshold, or None.
        distance_spec: the distance's spec (`siamese.numpy_distances.NumpyDistance.to_spec`).
        embedding_dim: size of the tower's embeddings.
        source_file: name of the .keras file exported.
        source_sha256: hex SHA-256 of that file's bytes at export (or at the last save).
        max_difference: largest |exported - Keras| embedding difference measured at export.
        onnx_sha256: the export's own hash (`siamese.integrity`).
        weights_sha256: the hash of the .keras file's weights: the model's identity, the same
            on both engines and through threshold changes (`SiameseModel.model_id`).
        open_set: dict form of `siamese.open_set.OpenSetPoint`, or None (absent in older exports).
    """

    preprocessing: dict
    threshold: float | None
    distance_spec: dict
    embedding_dim: int
    source_file: str
    source_sha256: str
    max_difference: float | None = None
    siamese_version: str = ""
    onnx_sha256: str | None = None
    weights_sha256: str | None = None
    open_set: dict | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "siamese_version": self.siamese_version,
                "preprocessing": self.preprocessing,
                "threshold": self.threshold,
                "distance": self.distance_spec,
                "embedding_dim": self.embedding_dim,
                "source": {"file": self.source_file, "sha256": self.source_sha256},
                "max_difference": self.max_difference,
                ONNX_FIELD: self.onnx_sha256,
                "weights_sha256": self.weights_sha256,
                "open_set": self.open_set,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None, *, name: str) -> ExportMetadata:
        """Parse the stored JSON; `name` (the file) is what errors start with."""
        if not text:
            raise ModelFileError(f"{name}: no siamese metadata (not exported by `siamese export`)")
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT_VERSION:
                raise ModelFileError(
                    f"{name}: siamese metadata format {data.get('format')!r}, this version reads {FORMAT_VERSION}"
                )
            return cls(
                preprocessing=dict(data["preprocessing"]),
                threshold=None if data["threshold"] is None else float(data["threshold"]),
                distance_spec=dict(data["distance"]),
                embedding_dim=int(data["embedding_dim"]),
                source_file=str(data["source"]["file"]),
                source_sha256=str(data["source"]["sha256"]),
                max_difference=data.get("max_difference"),
                siamese_version=str(data.get("siamese_version", "")),
                onnx_sha256=data.get(ONNX_FIELD),
                weights_sha256=data.get("weights_sha256"),
                open_set=None if data.get("open_set") is None else dict(data["open_set"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ModelFileError(f"{name}: unreadable siamese metadata ({type(error).__name__}: {error})") from None

    def replace(self, **changes) -> ExportMetadata:
        return dataclasses.replace(self, **changes)


def read_onnx_metadata(path: str | os.PathLike) -> ExportMetadata:
    """The metadata stored in an ONNX file (the weights are not read)."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # onnx raises DecodeError, OSError, ...: all mean "not an ONNX file"
        raise ModelFileError(f"{path}: not an ONNX file ({type(error).__name__})") from None
    props = {p.key: p.value for p in model.metadata_props}
    return ExportMetadata.from_json(props.get(METADATA_KEY), name=str(path))


def write_onnx_metadata(source: str | os.PathLike, target: str | os.PathLike, metadata: ExportMetadata) -> Path:
    """Copy the ONNX file `source` to `target` (the same path is fine) with `metadata`, atomically,
    sealed with the SHA-256 of the result (`siamese.integrity`)."""
    import onnx

    model = onnx.load(str(source))
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=METADATA_KEY, value=metadata.replace(onnx_sha256=PLACEHOLDER).to_json())
    sealed = seal_onnx_bytes(model.SerializeToString())
    with atomic_path(target) as temporary:
        Path(temporary).write_bytes(sealed)
    return Path(target)
