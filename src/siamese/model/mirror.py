"""Test-time flip as part of the tower: the mean of the embeddings of an image and of its mirror image.

A face and its mirror image are the same person, and a network's errors on the two are not
the same errors: averaging them takes some noise out of each embedding. Inside the tower,
it is the same on every engine (Keras, the ONNX export, galleries, the service), and the
threshold is calibrated on what the tower gives. The shipped faces model uses it
(benchmarks/faces.py measured it against the single embedding); it costs a second pass of
the tower, not a second face search.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="siamese")
class HorizontalFlip(keras.layers.Layer):
    """The image mirrored left to right: (batch, height, width, channels) -> the same shape."""

    def call(self, x):
        return keras.ops.flip(x, axis=2)

    def compute_output_shape(self, input_shape):
        return input_shape


def mirror_averaged(tower: keras.Model, *, name: str = "tower") -> keras.Model:
    """A tower whose embedding is the mean of `tower`'s for the image and for its mirror image
    (the same weights, called twice)."""
    inputs = keras.Input(shape=tower.input_shape[1:], name="image")
    mirrored = HorizontalFlip(name="mirror")(inputs)
    outputs = keras.layers.Average(name="mirror_average")([tower(inputs), tower(mirrored)])
    return keras.Model(inputs, outputs, name=name)
