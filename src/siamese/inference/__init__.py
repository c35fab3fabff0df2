"""Using trained models: load, embed, verify; export the tower for deployment.

Nothing here imports Keras or TensorFlow until a Keras model is loaded or exported, so the
ONNX engine (`siamese export`, then `load_model`) runs without them.
"""

from siamese.inference.export import ExportResult, export_model
from siamese.inference.model import SiameseModel, Verification, load_model
from siamese.inference.pretrained import lasting_name, pretrained_path, resolve_model

__all__ = [
    "ExportResult",
    "SiameseModel",
    "Verification",
    "export_model",
    "lasting_name",
    "load_model",
    "pretrained_path",
    "resolve_model",
]
