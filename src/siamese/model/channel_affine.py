"""A per-channel scale and shift: what a batch normalisation becomes once training is over.

dlib's face network keeps no running statistics; each `bnorm` was folded into an `affine`
layer, y = gamma * x + beta per channel, before it was published. This layer holds those
two vectors as weights (trainable, so the tower can be fine-tuned).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="siamese")
class ChannelAffine(keras.layers.Layer):
    """y = gamma * x + beta over the last axis (channels); gamma starts at 1, beta at 0.

    Shapes: (batch, ..., channels) -> the same.
    """

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("ChannelAffine needs a known number of channels, got None")
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, x):
        return x * self.gamma + self.beta

    def compute_output_shape(self, input_shape):
        return input_shape
