"""The HTTP service (FastAPI): `create_app` over a gallery and its API keys.

Uses the gallery and inference only (the ONNX path: no TensorFlow).
"""

from siamese.service.app import create_app
from siamese.service.keys import Key, KeyStore
from siamese.service.limits import Limits, Refused

__all__ = ["Key", "KeyStore", "Limits", "Refused", "create_app"]
