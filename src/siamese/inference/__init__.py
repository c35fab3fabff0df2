"""Using trained models: load, embed, verify."""

from siamese.inference.model import SiameseModel, Verification, default_model_path, load_model

__all__ = ["SiameseModel", "Verification", "default_model_path", "load_model"]
