"""Training on embeddings: one tower pass per image, every pair of the batch scored.

A batch of B images of a few classes goes through the shared tower once; the distance's
`pairwise` gives the (B, B) matrix of all pair distances, and the batch loss (contrastive,
cross-entropy, multi-similarity, ...) takes the class labels and that matrix in one call.
It is the same Siamese network as the two-input form, seeing B^2 pairs for B forward
passes instead of one pair per two. How the loss weighs and averages its terms is the
loss's own business (its reducer; see `siamese.model.losses`). With class proxies
(`ClassProxies`), their normalised-softmax loss on the same embeddings is added while
training; validation batches, of other classes, are scored by the batch loss alone.
"""

from __future__ import annotations

import keras
from keras import ops

from siamese.model.losses import ClassProxies


class PairwiseTrainer(keras.Model):
    """Wraps a tower and a distance for `fit` on (images, class labels) batches.

    Args:
        tower: the shared tower being trained.
        distance: a distance layer with `pairwise`.
        loss: a batch loss, `loss(labels, distance_matrix)` -> scalar (`siamese.model.losses`).
        proxies: a `ClassProxies` over the training classes, or None.
        proxy_weight: the proxies' loss's weight beside the batch loss.
    """

    def __init__(
        self,
        tower: keras.Model,
        distance: keras.layers.Layer,
        loss: keras.losses.Loss,
        proxies: ClassProxies | None = None,
        proxy_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tower = tower
        self.distance = distance
        self.batch_loss = loss
        self.proxies = proxies
        self.proxy_weight = float(proxy_weight)
        if proxies is not None:
            proxies.build(tower.output_shape)
        # Built now, so `fit` takes no peek at a batch to build it (on JAX that peek left a
        # threaded PyDataset's prefetched batches in the first epoch).
        self.built = True

    def build(self, input_shape):
        self.built = True

    def call(self, images, training=False):
        """The batch's embeddings; the loss takes their distance matrix."""
        return self.tower(images, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        labels = ops.reshape(y, (-1,))
        total = self.batch_loss(labels, self.distance.pairwise(y_pred))
        if self.proxies is not None and training:
            total = total + self.proxy_weight * self.proxies(y_pred, labels)
        for regularization in self.losses:
            total = total + ops.sum(regularization)
        return total / self._replicas_in_sync()

    def _replicas_in_sync(self) -> int:
        """How many replicas' losses tf.distribute sums (1 elsewhere): each replica's loss is then
        its share of the mean, as Keras scales its own losses' batch means (a scalar it leaves as is)."""
        strategy = getattr(self, "distribute_strategy", None)  # TensorFlow's trainer only
        return strategy.num_replicas_in_sync if strategy is not None else 1
