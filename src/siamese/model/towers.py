"""The tower: one convolutional network that maps an image to an embedding.

The same tower (the same weights) embeds both images of a pair; that sharing is what makes
the network Siamese. Blocks of Conv2D -> MaxPooling -> (BatchNorm) -> ReLU halve the image
size each time, then a dense layer gives the embedding. Compact by design: four blocks of
64 filters on 48x48 inputs train in minutes on two CPU cores.

Pooling comes before the normalisation: BatchNorm then works on a quarter of the values, and
on a CPU its statistics and their gradients cost as much as the convolution itself (a step
of the default tower took 0.6x the time this way, for the same accuracy; docs/benchmarks.md).
ReLU and max-pooling commute, so only the statistics differ from the classic order, which
`pool_first=False` keeps (the shipped models before this change were trained with it).
"""

from __future__ import annotations

import keras

from siamese.errors import ConfigError


def build_tower(
    input_shape: tuple,
    *,
    filters: tuple = (64, 64, 64, 64),
    embedding_dim: int = 128,
    batchnorm: bool = True,
    dropout: float = 0.0,
    l2: float = 0.0,
    normalize: bool = True,
    mixed_precision: bool = False,
    pool_first: bool = True,
    name: str = "tower",
) -> keras.Model:
    """A functional `keras.Model`: (batch, h, w, c) images -> (batch, embedding_dim) embeddings.

    Args:
        input_shape: (height, width, channels).
        filters: filters of each Conv2D block; each block halves height and width.
        embedding_dim: size of the embedding.
        batchnorm: BatchNormalization after each convolution.
        dropout: dropout rate before the embedding layer (0 = none).
        l2: L2 weight decay on convolution and dense kernels (0 = none).
        normalize: scale embeddings to unit length, so distances live in a fixed range.
        mixed_precision: compute the convolutions in float16 (variables stay float32), for
            GPUs with tensor cores; the embedding layer and the output stay float32.
        pool_first: max-pool each block before its BatchNorm and ReLU (fast), or after them (classic).
    """
    height, width, _ = input_shape
    if not filters or any(f < 1 for f in filters):
        raise ConfigError(f"filters must be a non-empty list of positive ints, got {filters!r}")
    if min(height, width) < 2 ** len(filters):
        raise ConfigError(f"input of {height}x{width} is too small for {len(filters)} pooling blocks")
    if embedding_dim < 1:
        raise ConfigError(f"embedding_dim must be positive, got {embedding_dim}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
    if l2 < 0:
        raise ConfigError(f"l2 must be zero or positive, got {l2}")
    regularizer = keras.regularizers.L2(l2) if l2 else None
    policy = "mixed_float16" if mixed_precision else None  # per layer: no global policy is set

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for index, count in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            count,
            3,
            padding="same",
            use_bias=not batchnorm,
            kernel_regularizer=regularizer,
            dtype=policy,
            name=f"conv{index}",
        )(x)
        pool = keras.layers.MaxPooling2D(2, dtype=policy, name=f"pool{index}")
        if pool_first:
            x = pool(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(momentum=0.9, dtype=policy, name=f"bn{index}")(x)
        x = keras.layers.ReLU(dtype=policy, name=f"relu{index}")(x)
        if not pool_first:
            x = pool(x)
    x = keras.layers.Flatten(dtype=policy, name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, dtype=policy, name="dropout")(x)
    x = keras.layers.Dense(embedding_dim, kernel_regularizer=regularizer, name="embedding")(x)
    if normalize:
        x = keras.layers.UnitNormalization(name="unit_norm")(x)
    return keras.Model(inputs, x, name=name)
