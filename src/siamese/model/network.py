r"""The Siamese network: one shared tower, a distance, and what inference needs to know.

    image a --\                      /-- embedding a --\
               tower (shared weights)                    distance -> (batch,)
    image b --/                      \-- embedding b --/

The saved model carries its preprocessing (input size, channels, inversion) and the decision
threshold calibrated on validation pairs, so a loaded model verifies images on its own, and
the open-set operating point its galleries identify with (`siamese.open_set`), once calibrated.
"""

from __future__ import annotations

import keras

from siamese.model import distances


@keras.saving.register_keras_serializable(package="siamese")
class SiameseNetwork(keras.Model):
    """Scores pairs of images: `network((a, b)) -> distance`, smaller = more alike.

    Args:
        tower: a Keras model, images -> embeddings; shared by both inputs.
        distance: a distance layer or a name for `siamese.model.distances.get`.
        preprocessing: dict form of `siamese.data.Preprocessing`, saved with the model.
        threshold: distances at or below it mean "same"; None until calibrated.
        open_set: dict form of `siamese.open_set.OpenSetPoint` (identification's thresholds by
            gallery size); None until calibrated for it.
    """

    def __init__(
        self,
        tower: keras.Model,
        distance="euclidean",
        *,
        preprocessing: dict | None = None,
        threshold: float | None = None,
        open_set: dict | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tower = tower
        self.distance = distances.get(distance)
        self.preprocessing = dict(preprocessing or {})
        self.threshold = None if threshold is None else float(threshold)
        self.open_set = None if open_set is None else dict(open_set)
        self.build()

    def build(self, input_shape=None):
        if not self.distance.built:
            self.distance.build(self.tower.output.shape)
        self.built = True

    def call(self, inputs, training=None):
        a, b = inputs
        return self.distance(self.tower(a, training=training), self.tower(b, training=training))

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.build()

    def get_config(self):
        return {
            "name": self.name,
            "tower": keras.saving.serialize_keras_object(self.tower),
            "distance": keras.saving.serialize_keras_object(self.distance),
            "preprocessing": self.preprocessing,
            "threshold": self.threshold,
            "open_set": self.open_set,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        tower = keras.saving.deserialize_keras_object(config.pop("tower"))
        distance = keras.saving.deserialize_keras_object(config.pop("distance"))
        return cls(tower, distance, **config)
