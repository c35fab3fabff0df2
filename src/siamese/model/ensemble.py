"""An ensemble of Siamese networks as one network whose distance is the mean of theirs.

Each member's tower ends in a unit-length embedding, so its cosine distance is 1 - a.b.
Put the k members' embeddings side by side and scale them by 1/sqrt(k): the result has unit
length too, and its cosine distance is exactly the mean of the members' cosine distances.
So the ensemble is a plain network, one tower (one input, the k towers inside, one
embedding) and a cosine distance, and all that is built on towers works unchanged:
embedding once per image, galleries, ONNX export, the service.

Members may read images at different sizes of one aspect, each a whole multiple of the
smallest: the ensemble reads them at the largest and shrinks them for the others by
averaging blocks of pixels, which is what reading them at their own size does (area
resizing; the difference is the rounding of one resize to 8 bits). A tower trained at a
finer size for stroke detail can so join one trained at a coarser size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

from siamese.errors import ConfigError
from siamese.model.distances import CosineDistance
from siamese.model.network import SiameseNetwork


def _check_members(networks: Sequence[SiameseNetwork], names: Sequence[str]) -> None:
    if len(networks) < 2:
        raise ConfigError(f"an ensemble needs 2 or more networks, got {len(networks)}")
    first = networks[0]
    for network, name in zip(networks, names):
        if not isinstance(network.distance, CosineDistance):
            raise ConfigError(
                f"{name}: the ensemble averages cosine distances, this one uses {type(network.distance).__name__}"
            )
        if not isinstance(network.tower.layers[-1], keras.layers.UnitNormalization):
            raise ConfigError(f"{name}: its tower must end in unit-length embeddings (normalize=True)")
        if _besides_size(network.preprocessing) != _besides_size(first.preprocessing):
            raise ConfigError(
                f"{name}: its input ({network.preprocessing}) differs from {names[0]}'s "
                f"({first.preprocessing}) in more than its size; members must read images alike"
            )


def _besides_size(preprocessing: dict) -> dict:
    return {key: value for key, value in preprocessing.items() if key != "image_size"}


def _shrink_factors(networks: Sequence[SiameseNetwork], names: Sequence[str]) -> list[int]:
    """How many times smaller than the largest each member's input is, the same whole number
    along both sides (1 for the largest); another aspect or a fraction is refused."""
    sizes = [tuple(network.tower.input.shape[1:3]) for network in networks]
    largest = max(sizes)
    factors = []
    for size, name in zip(sizes, names):
        factor = largest[0] // size[0]
        if (size[0] * factor, size[1] * factor) != largest:
            raise ConfigError(
                f"{name}: its input of {size[0]}x{size[1]} is not the largest member's "
                f"{largest[0]}x{largest[1]} shrunk by a whole factor; members must share an aspect"
            )
        factors.append(factor)
    return factors


def ensemble_network(
    networks: Sequence[SiameseNetwork], threshold: float | None = None, *, names: Sequence[str] | None = None
) -> SiameseNetwork:
    """One network whose cosine distance is the mean of the members' cosine distances.

    The members' weights are shared with the ensemble, not copied. `threshold` is the
    ensemble's decision threshold; None leaves the mean of the members' thresholds (a
    starting point: calibrate it on validation pairs, as training does). `names` name the
    members in errors (default "member 0", "member 1", ...). The ensemble reads images at
    its largest member's size (see the module's docstring for members of smaller sizes).
    """
    names = names or [f"member {index}" for index in range(len(networks))]
    _check_members(networks, names)
    factors = _shrink_factors(networks, names)
    largest = networks[factors.index(1)]
    inputs = keras.Input(shape=tuple(largest.tower.input.shape[1:]), name="image")
    embeddings = []
    for index, (network, factor) in enumerate(zip(networks, factors)):
        member = keras.Model(network.tower.input, network.tower.output, name=f"member{index}")
        image = inputs if factor == 1 else keras.layers.AveragePooling2D(factor, name=f"shrink{index}")(inputs)
        embeddings.append(member(image))
    joined = keras.layers.Concatenate(name="joined")(embeddings)
    embedding = keras.layers.Rescaling(1.0 / math.sqrt(len(networks)), name="unit_mean")(joined)
    tower = keras.Model(inputs, embedding, name="ensemble")
    if threshold is None and all(network.threshold is not None for network in networks):
        threshold = sum(network.threshold for network in networks) / len(networks)
    return SiameseNetwork(tower, CosineDistance(), preprocessing=dict(largest.preprocessing), threshold=threshold)
