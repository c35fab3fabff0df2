"""Training on embeddings: one tower pass per image, every pair of the batch scored.

A batch of B images of a few classes goes through the shared tower once; the distance's
`pairwise` gives the (B, B) matrix of all pair distances, and the pair loss (contrastive or
cross-entropy) is taken over the B(B-1)/2 distinct pairs. It is the same Siamese network as
the two-input form, seeing B^2 pairs for B forward passes instead of one pair per two.

Same and different pairs count for half each. Within each side the loss is averaged over
the pairs that still cost something ("nonzero", as pytorch-metric-learning's
AvgNonZeroReducer), so the many different pairs already past the margin do not dilute the
few hard ones; "mean" averages over all pairs instead.
"""

from __future__ import annotations

import keras
from keras import ops

REDUCERS = ("nonzero", "mean")


class PairwiseTrainer(keras.Model):
    """Wraps a tower and a distance for `fit` on (images, class labels) batches.

    Args:
        tower: the shared tower being trained.
        distance: a distance layer with `pairwise`.
        pair_loss: a `keras.losses.Loss` whose `call(same, distance)` is per pair.
        augmentation: a layer applied to the images in training only, or None.
        reducer: "nonzero" or "mean", see the module docstring.
    """

    def __init__(self, tower: keras.Model, distance: keras.layers.Layer, pair_loss: keras.losses.Loss, *, augmentation: keras.layers.Layer | None = None, reducer: str = "nonzero", **kwargs):
        super().__init__(**kwargs)
        if reducer not in REDUCERS:
            raise ValueError(f"reducer must be one of {REDUCERS}, got {reducer!r}")
        self.tower = tower
        self.distance = distance
        self.pair_loss = pair_loss
        self.augmentation = augmentation
        self.reducer = reducer

    def build(self, input_shape):
        if self.augmentation is not None:
            self.augmentation.build(input_shape)
        self.built = True

    def call(self, images, training=False):
        if self.augmentation is not None and training:
            images = self.augmentation(images, training=True)
        return self.distance.pairwise(self.tower(images, training=training))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        labels = ops.reshape(y, (-1,))
        same = ops.cast(ops.equal(labels[:, None], labels[None, :]), y_pred.dtype)
        size = ops.shape(same)[0]
        upper = ops.triu(ops.ones((size, size), dtype=y_pred.dtype), k=1)
        per_pair = self.pair_loss.call(same, y_pred)
        total = 0.0
        for side in (same * upper, (1.0 - same) * upper):
            counted = side * ops.cast(per_pair > 0, y_pred.dtype) if self.reducer == "nonzero" else side
            total = total + 0.5 * ops.sum(per_pair * side) / ops.maximum(ops.sum(counted), 1.0)
        for regularization in self.losses:
            total = total + ops.sum(regularization)
        return total
