"""The names siamese accepts, one list per kind, in one place (no Keras import).

The command line's choices, the configurations' checks, the Keras layers, the numpy engine
and the exporters all read these lists, so a new distance, loss or engine is named here
once; a test checks that every name has its Keras class and, for distances, its numpy twin.

    DISTANCES.check("cosine")      # -> "cosine"
    DISTANCES.check("cosin")       # ConfigError: distance must be one of [...], got 'cosin'
"""

from __future__ import annotations

import dataclasses

from siamese.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Names:
    """The accepted names of one kind of thing; iterate it for argparse's `choices`."""

    kind: str
    names: tuple

    def __iter__(self):
        return iter(self.names)

    def __contains__(self, value) -> bool:
        return value in self.names

    def check(self, value) -> str:
        """`value` if it is one of the names, else a `ConfigError` naming the kind and the choices."""
        if value not in self.names:
            raise ConfigError(f"{self.kind} must be one of {list(self.names)}, got {value!r}")
        return value


DISTANCES = Names("distance", ("euclidean", "manhattan", "cosine", "learned"))
LOSSES = Names("loss", ("contrastive", "crossentropy", "multi_similarity"))
REDUCERS = Names("reducer", ("nonzero", "mean"))
ENGINES = Names("engine", ("auto", "onnx", "keras"))
# What a face model does with an image in which no face is found: raise NoFaceError, or take the whole image as the face.
ON_NO_FACE = Names("on_no_face", ("raise", "whole"))
OBJECTIVES = Names("objective", ("accuracy", "eer", "far"))
# How a questioned image is scored against a claimed identity's references (siamese.claims).
CLAIM_RULES = Names("claim rule", ("mean", "min", "normalized", "svm"))
EXPORT_FORMATS = Names("format", ("onnx", "saved_model", "litert"))
PRETRAINED = Names(
    "pretrained model", ("omniglot", "signatures", "signatures-cross-media", "faces", "faces-mobilefacenet")
)
# Presentation-attack (liveness) detectors shipped beside the face tower: an .onnx (+ its .keras source)
# read by siamese.inference.liveness, not Siamese networks (`load_model` does not take them).
LIVENESS_MODELS = Names("liveness model", ("liveness",))
RECIPES = Names("recipe", ("handwriting", "signatures", "faces"))
CROPS = Names("crop", ("none", "ink", "face"))
# Where a face crop puts the 5 landmarks (siamese.data.faces): dlib's chip (dlib's ResNet, the
# `faces` model) or the 112x112 ArcFace-like frame (MobileFaceNet, `faces-mobilefacenet`).
FACE_TEMPLATES = Names("face template", ("dlib", "arcface"))
CONTRASTS = Names("contrast", ("none", "stretch", "equalize", "binarize"))
STROKES = Names("strokes", ("keep", "even"))
# Training distortions (siamese.data.augmentation.Distortions's fields).
AUGMENTATIONS = Names("augmentation", ("rotation", "shear", "zoom", "shift", "flip", "brightness", "contrast"))
# Keras Applications towers for colour photos (siamese.model.backbones).
BACKBONES = Names("backbone", ("mobilenetv3small", "mobilenetv3large", "efficientnetb0"))
# Towers rebuilt from published face-trained weights: the builder in siamese.model, the
# converter of the weights in tools/ (dlib_resnet: siamese.model.face_resnet, the `faces` model).
FACE_TOWERS = Names("face tower", ("dlib_resnet",))

# Losses that score the learned head's probabilities rather than distances.
PROBABILITY_LOSSES = ("crossentropy",)
