"""Start a tower from a trained model: its weights, and which of its last layers go on learning.

A face-trained network has seen millions of faces; a user's few hundred photos can adjust
it, not replace it. Fine-tuning keeps the early layers (edges, parts of faces) as they are
and lets the last ones move: `trainable_layers` counts the tower's layers that hold weights
from its output back (the 128-d dense layer is the first, then the last block's affines
and convolutions). The tower reads images as its model did, so the run's preprocessing
is the model's own; a run that sets another is refused before anything is decoded.

    TrainConfig.from_settings(start_from="faces", trainable_layers=5, ...)   # the faces recipe
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras

from siamese.data.preprocessing import Preprocessing
from siamese.errors import ConfigError
from siamese.model.saving import load_network
from siamese.registry import PRETRAINED
from siamese.shipped import pretrained_path
from siamese.training.config import TrainConfig

logger = logging.getLogger(__name__)


def source_path(start_from: str) -> Path:
    """The `.keras` file `start_from` names: a shipped model's name or a path."""
    return pretrained_path(start_from) if start_from in PRETRAINED else Path(start_from)


def source_preprocessing(start_from: str) -> Preprocessing:
    """How the model `start_from` reads images (a run starting from it must read them so)."""
    return Preprocessing.from_dict(load_network(source_path(start_from)).preprocessing)


def run_preprocessing(start_from: str, configured: Preprocessing) -> Preprocessing:
    """How a run starting from `start_from` reads images: as the model does. A config that
    leaves its preprocessing at the default takes the model's; one that sets another is refused."""
    expected = source_preprocessing(start_from)
    if configured not in (expected, TrainConfig().preprocessing):
        raise ConfigError(
            f"start_from {start_from!r} reads images as {expected.to_dict()}; the run sets "
            f"{configured.to_dict()} (leave the preprocessing settings to the model)"
        )
    return expected


def weighted_layers(tower: keras.Model) -> list:
    """The tower's layers that hold weights, input to output, looking inside nested models (a
    mirror-averaged tower's inner tower; an ensemble's members)."""
    found = []
    for layer in tower.layers:
        if isinstance(layer, keras.Model):
            found += weighted_layers(layer)
        elif layer.weights:
            found.append(layer)
    return found


def start_tower(start_from: str, trainable_layers: int | None) -> keras.Model:
    """The tower of the model `start_from`, weights loaded, all but its last `trainable_layers`
    layers with weights frozen (None: all train)."""
    tower = load_network(source_path(start_from)).tower
    layers = weighted_layers(tower)
    if trainable_layers is not None:
        if trainable_layers > len(layers):
            raise ConfigError(
                f"trainable_layers {trainable_layers}: the tower of {start_from!r} has {len(layers)} layers with weights"
            )
        for position, layer in enumerate(layers):
            layer.trainable = position >= len(layers) - trainable_layers
    trained = sum(layer.trainable for layer in layers)
    logger.info("%s: %d of its %d layers with weights train", start_from, trained, len(layers))
    return tower
