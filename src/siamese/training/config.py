"""What defines a training run, checked when it is made (no Keras import, nothing decoded).

A bad name or value fails here, in a second, rather than after every image of the dataset
has been decoded; the names come from `siamese.registry`.
"""

from __future__ import annotations

import dataclasses

from siamese.registry import (
    AUGMENTATIONS,
    BACKBONES,
    CONTRASTS,
    CROPS,
    DISTANCES,
    LOSSES,
    OBJECTIVES,
    PROBABILITY_LOSSES,
    REDUCERS,
    STROKES,
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything that defines a training run; saved as `config.json` beside its results.

    `invert=None` decides from the data: images that are mostly white (ink on paper) are
    inverted. `margin` is in the distance's units (cosine distance lies in [0, 2], and so
    does the Euclidean distance between unit embeddings) and goes to the contrastive loss.
    `reducer` is how the loss averages its terms (`siamese.model.reducers`).
    `rotated_classes` adds each quarter turn of a training class as a new class (for
    characters; see `siamese.data.rotations`). `mixed_precision` (float16 convolutions)
    and `jit_compile` (XLA) are for GPUs; on a CPU they are slower, not faster. The epoch
    with the best validation AUC is kept in any case; `patience` (epochs without a better
    one) stops early, which saves time but cuts the learning-rate schedule short (None: run
    them all). `loss=None` picks cross-entropy for the learned distance, contrastive else.

    `proxy_weight` > 0 adds a normalised softmax over one learnt proxy per training class
    (CosFace, `siamese.model.ClassProxies`, with `proxy_scale` and `proxy_margin`) to the
    pair loss, with that weight; the proxies are not part of the saved model.

    `pool_first` max-pools each tower block before its BatchNorm (fast on CPUs; see
    `siamese.model.towers`); False is the classic order of the models shipped before it.

    `crop`, `contrast`, `strokes` and `keep_aspect` frame each image (`siamese.data.Preprocessing`);
    `augmentation` overrides the distortions' strengths by name (`siamese.registry.AUGMENTATIONS`).
    `backbone` starts the tower from a Keras Applications network, with `backbone_weights`
    "imagenet" (downloaded once by Keras), "none" or a local weights file. The saved
    threshold follows `threshold_objective` ("accuracy", "eer", or "far" at `target_far`)
    on the validation pairs. `recipe` records which recipe the settings came from.

    `stream` decodes images as batches draw them, keeping a bounded cache, instead of all of
    them up front: for datasets larger than memory (`siamese.data.streaming`); validation
    decodes only the images its pairs and batches use. Rotated classes stream too.

    `distributed` trains data-parallel over every device, process and host the backend is
    given (`siamese.training.distributed`; docs/scaling.md).
    """

    image_size: tuple = (48, 48)
    channels: int = 1
    invert: bool | None = None
    filters: tuple = (64, 64, 64, 64)
    embedding_dim: int = 128
    batchnorm: bool = True
    pool_first: bool = True
    dropout: float = 0.0
    l2: float = 0.0
    normalize: bool = True
    distance: str = "cosine"
    loss: str | None = None
    margin: float = 0.6
    reducer: str = "nonzero"
    proxy_weight: float = 0.0
    proxy_scale: float = 30.0
    proxy_margin: float = 0.35
    epochs: int = 20
    steps_per_epoch: int = 100
    classes_per_batch: int = 16
    examples_per_class: int = 4
    same_group_fraction: float = 0.5
    learning_rate: float = 1e-3
    augment: bool = True
    rotated_classes: bool = False
    validation_fraction: float = 0.2
    split_by_group: bool = True
    validation_pairs: int = 2000
    patience: int | None = None
    mixed_precision: bool = False
    jit_compile: bool = False
    seed: int = 0
    crop: str = "none"
    contrast: str = "none"
    strokes: str = "keep"
    keep_aspect: bool = False
    augmentation: dict = dataclasses.field(default_factory=dict)
    backbone: str | None = None
    backbone_weights: str = "imagenet"
    threshold_objective: str = "accuracy"
    target_far: float = 0.01
    recipe: str | None = None
    stream: bool = False
    distributed: bool = False

    def __post_init__(self):
        for name in ("epochs", "steps_per_epoch", "embedding_dim", "validation_pairs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not self.margin > 0:
            raise ValueError(f"margin must be positive, got {self.margin}")
        if self.proxy_weight < 0 or not self.proxy_scale > 0 or self.proxy_margin < 0:
            raise ValueError(
                f"proxy_weight and proxy_margin must be zero or more and proxy_scale positive, got "
                f"{self.proxy_weight}, {self.proxy_margin} and {self.proxy_scale}"
            )
        if self.patience is not None and self.patience < 0:
            raise ValueError(f"patience must be zero or positive, got {self.patience}")
        DISTANCES.check(self.distance)
        REDUCERS.check(self.reducer)
        if self.loss is not None:
            LOSSES.check(self.loss)
        CROPS.check(self.crop)
        CONTRASTS.check(self.contrast)
        STROKES.check(self.strokes)
        OBJECTIVES.check(self.threshold_objective)
        for name, value in self.augmentation.items():
            AUGMENTATIONS.check(name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"augmentation {name} must be a number zero or above, got {value!r}")
        if self.backbone is not None:
            BACKBONES.check(self.backbone)
        if not 0.0 < self.target_far < 1.0:
            raise ValueError(f"target_far must be between 0 and 1, got {self.target_far}")
        if self.pair_loss in PROBABILITY_LOSSES and self.distance != "learned":
            raise ValueError(f"loss {self.pair_loss!r} needs distance 'learned', got distance {self.distance!r}")

    @property
    def pair_loss(self) -> str:
        return self.loss or ("crossentropy" if self.distance == "learned" else "contrastive")

    def to_dict(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "image_size": list(self.image_size),
            "filters": list(self.filters),
            "augmentation": dict(self.augmentation),
        }

    @classmethod
    def from_dict(cls, saved: dict) -> TrainConfig:
        """The config of a saved `config.json` (other entries there, such as the data, are ignored)."""
        names = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in saved.items() if key in names}
        values.setdefault("pool_first", False)  # runs saved before the field existed had the classic order
        for key in ("image_size", "filters"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)
