"""Enrolment and identification: a gallery of known identities over a trained model.

Uses the inference API only (no training, no TensorFlow on the ONNX path): the store
(`siamese.gallery.store`, SQLite), the index (`siamese.gallery.index`, FAISS) and the
`Gallery` that joins them to a model: enrol, identify (1:N), verify a claim (1:1), forget.
"""

from siamese.gallery.gallery import UNKNOWN, Candidate, ClaimVerification, Gallery, Identification
from siamese.gallery.store import SCHEMA_VERSION, Store

__all__ = ["Candidate", "ClaimVerification", "Gallery", "Identification", "SCHEMA_VERSION", "Store", "UNKNOWN"]
