"""Adding two feature maps of different sizes, as dlib's `add_prev` does.

In dlib's face network a downsampling block adds a 2x2 average pool of its input to two
convolutions of it. The two branches can differ: the pool keeps 4x4 where the stride-2
convolution without padding gives 3x3, and the convolution has twice the channels. dlib adds
them anyway, treating what is missing as zeros: each is zero-padded after its last row,
column and channel to the larger size of each, then the two are summed.
"""

from __future__ import annotations

import keras
from keras import ops


def _larger(a_shape, b_shape) -> tuple:
    return tuple(None if a is None or b is None else max(a, b) for a, b in zip(a_shape, b_shape))


@keras.saving.register_keras_serializable(package="siamese")
class PaddedAdd(keras.layers.Layer):
    """a + b, each zero-padded at the end of every axis but the batch to the larger size.

    Shapes: [(batch, h1, w1, c1), (batch, h2, w2, c2)] -> (batch, max(h), max(w), max(c)).
    Height, width and channels must be known when the layer is built.
    """

    def build(self, input_shapes):
        a_shape, b_shape = input_shapes
        if len(a_shape) != len(b_shape):
            raise ValueError(f"PaddedAdd needs inputs of the same rank, got {a_shape} and {b_shape}")
        if any(size is None for size in (*a_shape[1:], *b_shape[1:])):
            raise ValueError(f"PaddedAdd needs known sizes but the batch, got {a_shape} and {b_shape}")

    def call(self, inputs):
        a, b = inputs
        target = _larger(a.shape, b.shape)
        return self._pad(a, target) + self._pad(b, target)

    @staticmethod
    def _pad(x, target):
        widths = [(0, 0)] + [(0, want - have) for have, want in zip(x.shape[1:], target[1:])]
        return x if not any(after for _, after in widths) else ops.pad(x, widths)

    def compute_output_shape(self, input_shapes):
        return _larger(*input_shapes)
