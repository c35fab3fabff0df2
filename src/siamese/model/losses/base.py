"""What every batch loss shares: labels and the batch's distance matrix in, a scalar out.

The trainer embeds a batch of B images once and hands the loss the class labels (B,) and
the (B, B) matrix of distances between every two of them; the loss picks the pairs or
triplets it wants from that matrix and reduces its terms with the reducer it was given.
A new loss is one file: a subclass of `BatchLoss` (or `PairLoss`, for a loss that is a
sum of per-pair terms) with its maths in `call`.

Label convention: two images are the same (1) when their class labels are equal.
"""

from __future__ import annotations

import keras
from keras import ops

from siamese.model import reducers


def same_class(labels, dtype):
    """(B, B) matrix, 1 where images i and j share a class label (the diagonal included)."""
    labels = ops.reshape(labels, (-1,))
    return ops.cast(ops.equal(labels[:, None], labels[None, :]), dtype)


class BatchLoss(keras.losses.Loss):
    """Base of the batch losses: `loss(labels, distances)` -> scalar.

    Args:
        reducer: how the loss's terms become one number: a reducer, its config, or a name
            from `siamese.registry.REDUCERS` ("nonzero", "mean").
    """

    def __init__(self, *, reducer="nonzero", name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.reducer = reducers.get(reducer)

    def get_config(self):
        return {**super().get_config(), "reducer": keras.saving.serialize_keras_object(self.reducer)}


class PairLoss(BatchLoss):
    """A loss made of per-pair terms over the batch's B(B-1)/2 distinct pairs.

    Same and different pairs count for half each; each side is reduced on its own, so a
    batch with many more different pairs than same ones still weighs both alike.
    Subclasses give `pair_terms(same, distances)`, elementwise over (B, B).
    """

    def pair_terms(self, same, distances):
        raise NotImplementedError

    def call(self, labels, distances):
        same = same_class(labels, distances.dtype)
        size = ops.shape(distances)[0]
        upper = ops.triu(ops.ones((size, size), dtype=distances.dtype), k=1)
        terms = self.pair_terms(same, distances)
        return 0.5 * self.reducer(terms, same * upper) + 0.5 * self.reducer(terms, (1.0 - same) * upper)
