"""Using trained models: load, embed, verify; export the tower for deployment.

Nothing here imports Keras or TensorFlow until a Keras model is loaded or exported, so the
ONNX engine (`siamese export`, then `load_model`) runs without them. Image bytes that
arrive over the wire are checked and decoded here too (`measure`, `decode_image`, within `MAX_PIXELS`),
as every model reads them, so the gallery and service need nothing from `siamese.data`.
Liveness (`check_liveness`: a printed photo or a live face?) runs on ONNX Runtime too.
Collections go to Parquet shards (`embed_to_shards`, or `embed_on_ray` on a Ray cluster;
pyarrow and Ray imported only when those run) and come back with `iter_shards`.
"""

from siamese.data.faces import FaceLog
from siamese.data.images import MAX_PIXELS, declared_size, decode_image, measure
from siamese.inference.export import ExportResult, export_model
from siamese.inference.liveness import Liveness, LivenessModel, check_liveness, load_liveness
from siamese.inference.model import SiameseModel, Verification, load_model
from siamese.inference.ray_embedding import embed_on_ray
from siamese.inference.sharded_embedding import embed_to_shards
from siamese.inference.shards import iter_shards
from siamese.shipped import lasting_name, pretrained_path, resolve_model

__all__ = [
    "MAX_PIXELS",
    "ExportResult",
    "FaceLog",
    "Liveness",
    "LivenessModel",
    "SiameseModel",
    "Verification",
    "check_liveness",
    "declared_size",
    "decode_image",
    "embed_on_ray",
    "embed_to_shards",
    "export_model",
    "iter_shards",
    "lasting_name",
    "load_liveness",
    "load_model",
    "measure",
    "pretrained_path",
    "resolve_model",
]
