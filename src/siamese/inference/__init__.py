"""Using trained models: load, embed, verify; export the tower for deployment.

Nothing here imports Keras or TensorFlow until a Keras model is loaded or exported, so the
ONNX engine (`siamese export`, then `load_model`) runs without them. Image bytes that
arrive over the wire are checked and decoded here too (`declared_size`, `decode_image`),
as every model reads them, so the gallery and service need nothing from `siamese.data`.
"""

from siamese.data.images import declared_size, decode_image
from siamese.inference.export import ExportResult, export_model
from siamese.inference.model import SiameseModel, Verification, load_model
from siamese.shipped import lasting_name, pretrained_path, resolve_model

__all__ = [
    "ExportResult",
    "SiameseModel",
    "Verification",
    "declared_size",
    "decode_image",
    "export_model",
    "lasting_name",
    "load_model",
    "pretrained_path",
    "resolve_model",
]
