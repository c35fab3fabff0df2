"""Towers, distances, losses, reducers and the Siamese network (Keras 3, `keras.ops` only)."""

from siamese.model import distances, losses, reducers
from siamese.model.channel_affine import ChannelAffine
from siamese.model.distances import CosineDistance, EuclideanDistance, LearnedDistance, ManhattanDistance
from siamese.model.ensemble import ensemble_network
from siamese.model.face_resnet import build_face_resnet, build_face_tower
from siamese.model.losses import (
    BatchLoss,
    ClassProxies,
    ContrastiveLoss,
    MultiSimilarityLoss,
    PairCrossentropy,
    PairLoss,
    contrastive_loss,
    multi_similarity_loss,
    pair_crossentropy,
)
from siamese.model.mirror import HorizontalFlip, mirror_averaged
from siamese.model.network import SiameseNetwork
from siamese.model.padded_add import PaddedAdd
from siamese.model.reducers import AvgNonZeroReducer, MeanReducer
from siamese.model.saving import load_network, save_network
from siamese.model.towers import build_tower

__all__ = [
    "AvgNonZeroReducer",
    "BatchLoss",
    "ChannelAffine",
    "ClassProxies",
    "ContrastiveLoss",
    "HorizontalFlip",
    "CosineDistance",
    "EuclideanDistance",
    "LearnedDistance",
    "ManhattanDistance",
    "MeanReducer",
    "MultiSimilarityLoss",
    "PairCrossentropy",
    "PairLoss",
    "PaddedAdd",
    "SiameseNetwork",
    "build_face_resnet",
    "build_face_tower",
    "build_tower",
    "contrastive_loss",
    "distances",
    "ensemble_network",
    "load_network",
    "mirror_averaged",
    "losses",
    "multi_similarity_loss",
    "pair_crossentropy",
    "reducers",
    "save_network",
]
