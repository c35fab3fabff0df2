"""Batch losses: class labels (B,) and the batch's distance matrix (B, B) in, a scalar out.

Each loss is a registered `keras.losses.Loss` holding its configuration and its reducer,
beside a pure function holding its maths. Label convention: same = 1, different = 0.
`ClassProxies` is the one with weights of its own (a proxy per training class), so it is
a layer the trainer holds beside the batch loss.
"""

from siamese.model.losses.base import BatchLoss, PairLoss, same_class
from siamese.model.losses.contrastive import ContrastiveLoss, contrastive_loss
from siamese.model.losses.crossentropy import PairCrossentropy, pair_crossentropy
from siamese.model.losses.multi_similarity import MultiSimilarityLoss, multi_similarity_loss
from siamese.model.losses.proxies import ClassProxies, cosface_loss
from siamese.registry import LOSSES


def get(name: str, *, margin: float = 1.0, reducer="nonzero") -> BatchLoss:
    """A loss by its name in `siamese.registry.LOSSES`; `margin` goes to the contrastive loss only."""
    LOSSES.check(name)
    if name == "contrastive":
        return ContrastiveLoss(margin=margin, reducer=reducer)
    if name == "crossentropy":
        return PairCrossentropy(reducer=reducer)
    return MultiSimilarityLoss(reducer=reducer)


__all__ = [
    "BatchLoss",
    "ClassProxies",
    "ContrastiveLoss",
    "MultiSimilarityLoss",
    "PairCrossentropy",
    "PairLoss",
    "contrastive_loss",
    "cosface_loss",
    "get",
    "multi_similarity_loss",
    "pair_crossentropy",
    "same_class",
]
