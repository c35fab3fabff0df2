"""Distortions for training, as Keras preprocessing layers (affine ones: Koch et al. 2015, sec. 4.1).

Small rotations, shears, zooms and shifts make a character drawn by one hand look like the
same character drawn by another, which is what the network must learn to ignore. The layers
are active only in training and run inside the model's graph on any backend.
"""

from __future__ import annotations

import keras


def build_augmentation(*, rotation: float = 10.0, shear: float = 0.15, zoom: float = 0.1, shift: float = 0.1, flip: float = 0.0,
                       brightness: float = 0.0, contrast: float = 0.0, seed: int = 0) -> keras.Sequential:
    """A `keras.Sequential` of random layers; angles in degrees, the rest as fractions.

    `flip` (1 = on) mirrors left-right, which suits faces, not writing; `brightness` and
    `contrast` change the light, as a face under another lamp (images in [0, 1]).
    """
    for name, value in (("rotation", rotation), ("shear", shear), ("zoom", zoom), ("shift", shift), ("flip", flip),
                        ("brightness", brightness), ("contrast", contrast)):
        if value < 0:
            raise ValueError(f"{name} must be zero or positive, got {value}")
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed + 4))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation / 360.0, seed=seed, **fill))
    if shear:
        layers.append(keras.layers.RandomShear(x_factor=shear, y_factor=shear, seed=seed + 1, **fill))
    if zoom:
        layers.append(keras.layers.RandomZoom(zoom, seed=seed + 2, **fill))
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, seed=seed + 3, **fill))
    if brightness:
        layers.append(keras.layers.RandomBrightness(brightness, value_range=(0.0, 1.0), seed=seed + 5))
    if contrast:
        layers.append(keras.layers.RandomContrast(contrast, value_range=(0.0, 1.0), seed=seed + 6))
    return keras.Sequential(layers, name="augmentation")
