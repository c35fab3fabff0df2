"""Distortions for training, drawn per image in the input pipeline (affine ones: Koch et al. 2015, sec. 4.1).

Small rotations, shears, zooms and shifts make a character drawn by one hand look like the
same character drawn by another, which is what the network must learn to ignore; flips and
changes of light do the same for faces. The affine distortions of an image are composed into
one matrix and applied in one OpenCV warp: one resampling instead of one per distortion, off
the training step's critical path, the same on every Keras backend. The draws come from the
batch's own generator, so a batch (and a resumed run) gets the same distortions every time.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from siamese.errors import ConfigError


def random_affine(
    rng: np.random.Generator,
    height: int,
    width: int,
    *,
    rotation: float,
    shear: float,
    zoom: float,
    shift: float,
    flip: bool = False,
) -> np.ndarray:
    """A 2x3 matrix about the image's centre: rotation (degrees), shear, zoom and shift (fractions) drawn
    uniformly within +/- each bound, then a left-right mirror when `flip`."""
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])  # pixel centres lie on whole coordinates
    angle = np.deg2rad(rng.uniform(-rotation, rotation))
    scale = 1.0 + rng.uniform(-zoom, zoom)
    sx, sy = rng.uniform(-shear, shear, size=2)
    linear = (
        scale
        * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        @ np.array([[1.0, sx], [sy, 1.0]])
    )
    if flip:
        linear = linear @ np.diag([-1.0, 1.0])
    offset = centre - linear @ centre + rng.uniform(-shift, shift, size=2) * (width, height)
    return np.hstack([linear, offset[:, None]])


@dataclasses.dataclass(frozen=True)
class Distortions:
    """Random distortions of float images in [0, 1], (n, h, w, c) -> a new array of the same shape.

    Angles in degrees, the rest as fractions; the border is filled with 0 (the background of
    inverted ink; black around a face). `flip` (1 = on) mirrors half the images left-right,
    which suits faces, not writing; `brightness` adds up to +/- that much light and
    `contrast` scales the contrast about the image's mean by up to +/- that fraction.
    """

    rotation: float = 10.0
    shear: float = 0.15
    zoom: float = 0.1
    shift: float = 0.1
    flip: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{field.name} must be zero or positive, got {value!r}")

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty_like(images)
        _, height, width, channels = images.shape
        for index, image in enumerate(images):
            matrix = random_affine(
                rng,
                height,
                width,
                rotation=self.rotation,
                shear=self.shear,
                zoom=self.zoom,
                shift=self.shift,
                flip=bool(self.flip) and rng.random() < 0.5,
            )
            warped = cv2.warpAffine(
                image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
            out[index] = warped.reshape(height, width, channels)
        if self.brightness or self.contrast:
            count = len(images)
            factor = rng.uniform(1.0 - self.contrast, 1.0 + self.contrast, size=(count, 1, 1, 1)).astype(images.dtype)
            mean = out.mean(axis=(1, 2, 3), keepdims=True)
            light = rng.uniform(-self.brightness, self.brightness, size=(count, 1, 1, 1)).astype(images.dtype)
            np.clip((out - mean) * factor + mean + light, 0.0, 1.0, out=out)
        return out
