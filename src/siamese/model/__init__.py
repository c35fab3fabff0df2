"""Towers, distances, losses and the Siamese network (Keras 3, `keras.ops` only)."""

from siamese.model import distances, losses
from siamese.model.distances import CosineDistance, EuclideanDistance, LearnedDistance, ManhattanDistance
from siamese.model.losses import ContrastiveLoss, PairCrossentropy, contrastive_loss, pair_crossentropy
from siamese.model.network import SiameseNetwork
from siamese.model.saving import load_network, save_network
from siamese.model.towers import build_tower

__all__ = [
    "ContrastiveLoss",
    "CosineDistance",
    "EuclideanDistance",
    "LearnedDistance",
    "ManhattanDistance",
    "PairCrossentropy",
    "SiameseNetwork",
    "build_tower",
    "contrastive_loss",
    "distances",
    "load_network",
    "losses",
    "pair_crossentropy",
    "save_network",
]
