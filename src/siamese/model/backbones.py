"""Towers that start from a Keras Applications network, for colour photos (transfer learning).

A face seen under new light is far from the handwriting the compact tower was built for;
a network pretrained on ImageNet already knows edges, skin and shading. The backbone's
pooled features go through a dense layer to the embedding, as in the compact tower, so
distances, losses, saving and export are the same. Grey images are repeated to three
channels; images in [0, 1] are scaled to the [0, 255] the applications expect (their own
preprocessing layer then applies).
"""

from __future__ import annotations

import functools
import os

import keras

from siamese.errors import ConfigError, ModelFileError
from siamese.registry import BACKBONES

_APPLICATIONS = {
    "mobilenetv3small": functools.partial(keras.applications.MobileNetV3Small, include_preprocessing=True),
    "mobilenetv3large": functools.partial(keras.applications.MobileNetV3Large, include_preprocessing=True),
    "efficientnetb0": keras.applications.EfficientNetB0,
}


def build_backbone_tower(
    input_shape: tuple,
    backbone: str,
    *,
    weights: str = "imagenet",
    embedding_dim: int = 128,
    dropout: float = 0.0,
    normalize: bool = True,
    name: str = "tower",
) -> keras.Model:
    """A functional `keras.Model`: (batch, h, w, c) images in [0, 1] -> (batch, embedding_dim) embeddings."""
    BACKBONES.check(backbone)
    height, width, channels = input_shape
    if min(height, width) < 32:
        raise ConfigError(f"backbone {backbone} needs inputs of 32x32 or more, got {height}x{width}")
    local = weights not in ("imagenet", "none")  # "imagenet": Keras downloads it once into ~/.keras
    if local and not os.path.isfile(weights):
        raise ModelFileError(f"{weights}: no such backbone weights file")
    base = _APPLICATIONS[backbone](
        input_shape=(height, width, 3),
        include_top=False,
        pooling="avg",
        weights="imagenet" if weights == "imagenet" else None,
    )
    if local:
        try:
            base.load_weights(weights)
        except (ValueError, OSError) as error:
            raise ModelFileError(f"{weights}: not weights for {backbone} without its top ({error})") from None
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Concatenate(name="to_rgb")([inputs] * 3) if channels == 1 else inputs
    x = keras.layers.Rescaling(255.0, name="to_0_255")(x)
    x = base(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Dense(embedding_dim, name="embedding")(x)
    if normalize:
        x = keras.layers.UnitNormalization(name="unit_norm")(x)
    return keras.Model(inputs, x, name=name)
