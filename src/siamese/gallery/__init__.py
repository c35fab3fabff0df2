"""Enrolment and identification: a gallery of known identities over a trained model.

Uses the inference API only (no training, no TensorFlow on the ONNX path): the store
(`siamese.gallery.store`, SQLite, searched by the FAISS index of `siamese.gallery.index`; or
`siamese.gallery.postgres`, PostgreSQL with pgvector, which searches itself), chosen by
`siamese.gallery.stores` from `siamese.gallery.location` (a path or a postgresql:// URL), and the `Gallery` that joins
them to a model: enrol, identify (1:N), verify a claim (1:1), forget.
"""

from siamese.gallery.embedded import Embedded
from siamese.gallery.gallery import UNKNOWN, Candidate, ClaimVerification, Gallery, Identification
from siamese.gallery.location import PostgresLocation, gallery_location, is_postgres
from siamese.gallery.meta import SCHEMA_VERSION
from siamese.gallery.store import Store
from siamese.gallery.stores import open_store, store_exists

__all__ = [
    "Candidate",
    "ClaimVerification",
    "Embedded",
    "Gallery",
    "Identification",
    "PostgresLocation",
    "SCHEMA_VERSION",
    "Store",
    "UNKNOWN",
    "gallery_location",
    "is_postgres",
    "open_store",
    "store_exists",
]
