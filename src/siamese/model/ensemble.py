"""An ensemble of Siamese networks as one network whose distance is the mean of theirs.

Each member's tower ends in a unit-length embedding, so its cosine distance is 1 - a.b.
Put the k members' embeddings side by side and scale them by 1/sqrt(k): the result has unit
length too, and its cosine distance is exactly the mean of the members' cosine distances.
So the ensemble is a plain network, one tower (one input, the k towers inside, one
embedding) and a cosine distance, and all that is built on towers works unchanged:
embedding once per image, galleries, ONNX export, the service.
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
        if network.preprocessing != first.preprocessing:
            raise ConfigError(
                f"{name}: its input ({network.preprocessing}) differs from {names[0]}'s "
                f"({first.preprocessing}); members must read images alike"
            )


def ensemble_network(
    networks: Sequence[SiameseNetwork], threshold: float | None = None, *, names: Sequence[str] | None = None
) -> SiameseNetwork:
    """One network whose cosine distance is the mean of the members' cosine distances.

    The members' weights are shared with the ensemble, not copied. `threshold` is the
    ensemble's decision threshold; None leaves the mean of the members' thresholds (a
    starting point: calibrate it on validation pairs, as training does). `names` name the
    members in errors (default "member 0", "member 1", ...).
    """
    _check_members(networks, names or [f"member {index}" for index in range(len(networks))])
    first = networks[0]
    inputs = keras.Input(shape=tuple(first.tower.input.shape[1:]), name="image")
    members = [
        keras.Model(network.tower.input, network.tower.output, name=f"member{index}")
        for index, network in enumerate(networks)
    ]
    joined = keras.layers.Concatenate(name="joined")([member(inputs) for member in members])
    embedding = keras.layers.Rescaling(1.0 / math.sqrt(len(members)), name="unit_mean")(joined)
    tower = keras.Model(inputs, embedding, name="ensemble")
    if threshold is None and all(network.threshold is not None for network in networks):
        threshold = sum(network.threshold for network in networks) / len(networks)
    return SiameseNetwork(tower, CosineDistance(), preprocessing=dict(first.preprocessing), threshold=threshold)
