"""Using trained models: load, embed, verify; export the tower for deployment.

Nothing here imports Keras or TensorFlow until a Keras model is loaded or exported, so the
ONNX engine (`siamese export`, then `load_model`) runs without them.
"""

from siamese.inference.export import FORMATS, ExportResult, export_model
from siamese.inference.model import SiameseModel, Verification, default_model_path, load_model

__all__ = ["FORMATS", "ExportResult", "SiameseModel", "Verification", "default_model_path", "export_model", "load_model"]
