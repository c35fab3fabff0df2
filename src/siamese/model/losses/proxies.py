"""A normalised softmax over one proxy per training class (CosFace), beside the pair loss.

A pair loss sees only the few classes of its batch. A proxy per training class, a unit
vector learnt with the tower, lets every image be pushed away from all the other classes
at each step, which pair losses reach only over many batches:

    loss_i = -log softmax(scale * (cos(e_i, w_c) - margin * [c = y_i]))_{y_i}

Images with no training class of their own (a signer's skilled forgeries, labelled below
0) are left out. The proxies are training-only weights of the trainer: the saved network
never holds them, so embedding, galleries and export are as before. Reference: Wang et al.
(2018), "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR.
"""

from __future__ import annotations

import keras
from keras import ops

from siamese.errors import ConfigError


def _unit(x):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=-1, keepdims=True), 1e-12))


def cosface_loss(embeddings, proxies, labels, scale: float = 30.0, margin: float = 0.35):
    """Mean loss over the images whose label is a class (>= 0); 0 when none is."""
    labels = ops.reshape(labels, (-1,))
    known = ops.cast(ops.greater_equal(labels, 0), embeddings.dtype)
    target = ops.one_hot(ops.maximum(labels, 0), ops.shape(proxies)[0], dtype=embeddings.dtype)
    cosines = ops.matmul(_unit(embeddings), ops.transpose(_unit(proxies)))
    logits = scale * (cosines - margin * target)
    terms = -ops.sum(target * ops.log_softmax(logits, axis=-1), axis=-1)
    return ops.sum(terms * known) / ops.maximum(ops.sum(known), 1.0)


@keras.saving.register_keras_serializable(package="siamese")
class ClassProxies(keras.layers.Layer):
    """One learnt proxy per training class; `layer(embeddings, labels)` is the CosFace loss.

    Args:
        num_classes: training classes (labels run from 0 to num_classes - 1).
        scale: the logits' scale (the softmax's inverse temperature); positive.
        margin: subtracted from the cosine to the own class's proxy; zero or more.
    """

    def __init__(self, num_classes: int, scale: float = 30.0, margin: float = 0.35, **kwargs):
        if num_classes < 2:
            raise ConfigError(f"num_classes must be at least 2, got {num_classes}")
        if not scale > 0:
            raise ConfigError(f"scale must be positive, got {scale}")
        if not margin >= 0:
            raise ConfigError(f"margin must be zero or more, got {margin}")
        super().__init__(**kwargs)
        self.num_classes, self.scale, self.margin = int(num_classes), float(scale), float(margin)

    def build(self, input_shape):
        self.proxies = self.add_weight(
            shape=(self.num_classes, input_shape[-1]), initializer="glorot_uniform", name="proxies"
        )

    def call(self, embeddings, labels):
        return cosface_loss(embeddings, self.proxies, labels, self.scale, self.margin)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "scale": self.scale, "margin": self.margin}
