"""The TensorFlow side of tests/training/test_distributed.py, run by it in a process of its own.

    python mirrored_worker.py RECORD

The one CPU is split in two logical devices (only possible before TensorFlow starts, hence a
process of its own); one step of the pairwise trainer under a two-replica MirroredStrategy
is compared with the step plain SGD takes on the mean of the two halves' gradients, which
is what data-parallel training should take. RECORD (JSON) gets the reported loss, the mean
of the halves' losses and the largest weight difference.
"""

import json
import os
import sys

os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from siamese.model import build_tower, distances, losses  # noqa: E402
from siamese.training.trainer import PairwiseTrainer  # noqa: E402

LEARNING_RATE = 0.1
IMAGES = np.random.default_rng(0).random((8, 8, 8, 1)).astype("float32")
LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 3], "int32")
HALVES = (slice(0, 4), slice(4, 8))  # what each replica is given


def trainer(strategy):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = PairwiseTrainer(
            build_tower((8, 8, 1), filters=(4,), embedding_dim=5, batchnorm=False),
            distances.get("euclidean"),
            losses.get("contrastive", margin=1.0, reducer="mean"),
        )
        model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE))
    return model


def main(record: str) -> None:
    plain = trainer(tf.distribute.get_strategy())
    start = [w.copy() for w in plain.get_weights()]
    half_losses, half_gradients = [], []
    for half in HALVES:
        with tf.GradientTape() as tape:
            loss = plain.compute_loss(y=LABELS[half], y_pred=plain(IMAGES[half], training=True))
        half_losses.append(float(loss))
        half_gradients.append([g.numpy() for g in tape.gradient(loss, plain.trainable_weights)])
    expected = [w - LEARNING_RATE * (a + b) / 2 for w, a, b in zip(start, *half_gradients)]
    mirrored = trainer(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    history = mirrored.fit(IMAGES, LABELS, batch_size=8, epochs=1, shuffle=False, verbose=0)
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(mirrored.get_weights(), expected))
    with open(record, "w") as handle:
        json.dump(
            {
                "replicas": mirrored.distribute_strategy.num_replicas_in_sync,
                "loss": history.history["loss"][0],
                "mean_of_halves": float(np.mean(half_losses)),
                "weight_difference": difference,
            },
            handle,
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
