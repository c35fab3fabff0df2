"""What defines a training run, checked when it is made (no Keras import, nothing decoded).

A bad name or value fails here, in a second, with a `ConfigError`, rather than after every
image has been decoded; the names come from `siamese.registry`. A `TrainConfig` holds the
objects that do the work where they exist (`Preprocessing`, `Distortions`) and small groups
for the rest: tower, loss, sampling of batches, validation, schedule, runtime.

    TrainConfig()                                         # every default
    TrainConfig(schedule=ScheduleConfig(epochs=5))        # a group, in full
    TrainConfig.from_settings(epochs=5, crop="ink")       # flat settings, the CLI's names
    config.with_settings(epochs=5)                        # the same, over another config

Flat settings are the command line's names (`--epochs 5 --crop ink`), which `config.json`
files written before the groups held at their top level: each belongs to one group
(`SETTINGS`), but `augment` (False: no distortions) and `augmentation` (the distortions'
strengths by name, over `Distortions`' defaults).
"""

from __future__ import annotations

import dataclasses

from siamese.data.augmentation import Distortions
from siamese.data.images import Preprocessing
from siamese.errors import ConfigError
from siamese.registry import (
    AUGMENTATIONS,
    BACKBONES,
    DISTANCES,
    LOSSES,
    OBJECTIVES,
    PROBABILITY_LOSSES,
    REDUCERS,
)


def _at_least(config, minimum, *names) -> None:
    for name in names:
        value = getattr(config, name)
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TowerConfig:
    """The tower: blocks of `filters` convolutions to an `embedding_dim` embedding, or a backbone.

    `pool_first` max-pools each block before its BatchNorm (fast on CPUs; see
    `siamese.model.towers`); False is the classic order of the models shipped before it.
    `backbone` starts the tower from a Keras Applications network instead, with
    `backbone_weights` "imagenet" (downloaded once by Keras), "none" or a local weights file.
    `start_from` starts it from a trained model instead (a shipped model's name, such as
    "faces", or a `.keras` path), weights and all; `trainable_layers` then says how many of
    its last layers with weights train (None: all). See `siamese.training.transfer`.
    """

    filters: tuple = (64, 64, 64, 64)
    embedding_dim: int = 128
    batchnorm: bool = True
    pool_first: bool = True
    dropout: float = 0.0
    l2: float = 0.0
    normalize: bool = True
    backbone: str | None = None
    backbone_weights: str = "imagenet"
    start_from: str | None = None
    trainable_layers: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple(self.filters))  # a list, read from JSON
        if not self.filters or min(self.filters) < 1:
            raise ConfigError(f"filters must be one or more counts of at least 1, got {list(self.filters)}")
        _at_least(self, 1, "embedding_dim")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.l2 < 0:
            raise ConfigError(f"l2 must be zero or positive, got {self.l2}")
        if self.backbone is not None:
            BACKBONES.check(self.backbone)
        if self.backbone is not None and self.start_from is not None:
            raise ConfigError(f"backbone {self.backbone!r} and start_from {self.start_from!r}: a tower starts from one")
        if self.trainable_layers is not None and (self.start_from is None or self.trainable_layers < 1):
            raise ConfigError(
                f"trainable_layers goes with start_from and is 1 or more, got {self.trainable_layers} "
                f"(start_from {self.start_from!r})"
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LossConfig:
    """How pairs are compared and what they cost.

    `margin` is in the distance's units (cosine distance lies in [0, 2], and so does the
    Euclidean distance between unit embeddings) and goes to the contrastive loss. `reducer`
    is how the loss averages its terms (`siamese.model.reducers`). `loss=None` picks
    cross-entropy for the learned distance, contrastive else. `proxy_weight` > 0 adds a
    normalised softmax over one learnt proxy per training class (CosFace,
    `siamese.model.ClassProxies`, with `proxy_scale` and `proxy_margin`) to the pair loss,
    with that weight; the proxies are not part of the saved model.
    """

    distance: str = "cosine"
    loss: str | None = None
    margin: float = 0.6
    reducer: str = "nonzero"
    proxy_weight: float = 0.0
    proxy_scale: float = 30.0
    proxy_margin: float = 0.35

    def __post_init__(self):
        if not self.margin > 0:
            raise ConfigError(f"margin must be positive, got {self.margin}")
        if self.proxy_weight < 0 or not self.proxy_scale > 0 or self.proxy_margin < 0:
            raise ConfigError(
                f"proxy_weight and proxy_margin must be zero or more and proxy_scale positive, got "
                f"{self.proxy_weight}, {self.proxy_margin} and {self.proxy_scale}"
            )
        DISTANCES.check(self.distance)
        REDUCERS.check(self.reducer)
        if self.loss is not None:
            LOSSES.check(self.loss)
        if self.pair_loss in PROBABILITY_LOSSES and self.distance != "learned":
            raise ConfigError(f"loss {self.pair_loss!r} needs distance 'learned', got distance {self.distance!r}")

    @property
    def pair_loss(self) -> str:
        return self.loss or ("crossentropy" if self.distance == "learned" else "contrastive")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SamplingConfig:
    """How training batches are drawn: `classes_per_batch` x `examples_per_class` images, a
    `same_group_fraction` of the classes from one group (alphabet). `rotated_classes` adds each
    quarter turn of a training class as a new class (for characters; `siamese.data.rotations`)."""

    classes_per_batch: int = 16
    examples_per_class: int = 4
    same_group_fraction: float = 0.5
    rotated_classes: bool = False

    def __post_init__(self):
        _at_least(self, 2, "classes_per_batch", "examples_per_class")
        if not 0.0 <= self.same_group_fraction <= 1.0:
            raise ConfigError(f"same_group_fraction must be in [0, 1], got {self.same_group_fraction}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ValidationConfig:
    """The classes held out (a `validation_fraction` of them, of whole groups with
    `split_by_group`), the pairs drawn from them, and how the saved threshold is set on those
    pairs: `threshold_objective` "accuracy", "eer", or "far" at `target_far`."""

    validation_fraction: float = 0.2
    split_by_group: bool = True
    validation_pairs: int = 2000
    threshold_objective: str = "accuracy"
    target_far: float = 0.01

    def __post_init__(self):
        if not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be between 0 and 1, got {self.validation_fraction}")
        _at_least(self, 2, "validation_pairs")
        OBJECTIVES.check(self.threshold_objective)
        if not 0.0 < self.target_far < 1.0:
            raise ConfigError(f"target_far must be between 0 and 1, got {self.target_far}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """How long and how fast: `epochs` of `steps_per_epoch` batches, the learning rate decaying
    along a cosine. The epoch with the best validation AUC is kept in any case; `patience`
    (epochs without a better one) stops early, which saves time but cuts the schedule short
    (None: run them all)."""

    epochs: int = 20
    steps_per_epoch: int = 100
    learning_rate: float = 1e-3
    patience: int | None = None

    def __post_init__(self):
        _at_least(self, 1, "epochs", "steps_per_epoch")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.patience is not None and self.patience < 0:
            raise ConfigError(f"patience must be zero or positive, got {self.patience}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuntimeConfig:
    """Where and how the work is done: `mixed_precision` (float16 convolutions) and `jit_compile`
    (XLA) for GPUs (on a CPU they are slower); `stream` decodes images as batches draw them,
    with a bounded cache, for datasets larger than memory (`siamese.data.streaming`);
    `distributed` trains data-parallel over every device, process and host the backend is
    given (`siamese.training.distributed`; docs/scaling.md)."""

    mixed_precision: bool = False
    jit_compile: bool = False
    stream: bool = False
    distributed: bool = False


GROUPS = {
    "tower": TowerConfig,
    "loss": LossConfig,
    "sampling": SamplingConfig,
    "validation": ValidationConfig,
    "schedule": ScheduleConfig,
    "runtime": RuntimeConfig,
}
# Each flat setting's group; `augment` and `augmentation` set the distortions (see the module's docstring).
SETTINGS = {
    **{field.name: "preprocessing" for field in dataclasses.fields(Preprocessing)},
    **{field.name: group for group, kind in GROUPS.items() for field in dataclasses.fields(kind)},
    "augment": "distortions",
    "augmentation": "distortions",
    "seed": None,
    "recipe": None,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything that defines a training run; saved in `config.json` beside its results.

    `preprocessing` frames each image (`siamese.data.Preprocessing`; its `invert=None`
    decides from the data: images that are mostly white, ink on paper, are inverted) and is
    saved in the model. `distortions` distort each training image (`siamese.data.Distortions`;
    None: none). `recipe` records which recipe the settings came from.
    """

    preprocessing: Preprocessing = Preprocessing(image_size=(48, 48), invert=None)
    distortions: Distortions | None = Distortions()
    tower: TowerConfig = TowerConfig()
    loss: LossConfig = LossConfig()
    sampling: SamplingConfig = SamplingConfig()
    validation: ValidationConfig = ValidationConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    seed: int = 0
    recipe: str | None = None

    def __post_init__(self):
        kinds = {"preprocessing": (Preprocessing,), "distortions": (Distortions, type(None))}
        for name, kind in {**kinds, **{group: (kind,) for group, kind in GROUPS.items()}}.items():
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"{name} must be a {kind[0].__name__}, got {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, **settings) -> TrainConfig:
        """The default config with flat settings (`epochs=5`, `crop="ink"`) in their groups."""
        return cls().with_settings(**settings)

    def with_settings(self, **settings) -> TrainConfig:
        """This config with flat settings in place of its values (a recipe with the command line's options)."""
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ConfigError(f"unknown training setting(s) {', '.join(unknown)}; the settings are {sorted(SETTINGS)}")
        changes = {name: value for name, value in settings.items() if SETTINGS[name] is None}
        for group in ("preprocessing", *GROUPS):
            values = {name: value for name, value in settings.items() if SETTINGS[name] == group}
            if values:
                changes[group] = dataclasses.replace(getattr(self, group), **values)
        if "augment" in settings or "augmentation" in settings:
            changes["distortions"] = self._distortions(settings.get("augment"), settings.get("augmentation"))
        return dataclasses.replace(self, **changes)

    def _distortions(self, augment: bool | None, strengths: dict | None) -> Distortions | None:
        if augment is False:
            return None
        if strengths is None:
            return self.distortions if self.distortions is not None else Distortions()
        for name in strengths:
            AUGMENTATIONS.check(name)
        return Distortions(**strengths)

    def to_settings(self) -> dict:
        """The flat settings that `from_settings` makes this config from."""
        settings = {"seed": self.seed, "recipe": self.recipe, **self.preprocessing.to_dict()}
        for group in GROUPS:
            settings.update(dataclasses.asdict(getattr(self, group)))
        settings["augment"] = self.distortions is not None
        settings["augmentation"] = dataclasses.asdict(self.distortions or Distortions())
        return settings

    def to_dict(self) -> dict:
        """The config as JSON can hold it, group by group (`from_dict` reads it back)."""
        saved = {
            "preprocessing": self.preprocessing.to_dict(),
            "distortions": None if self.distortions is None else dataclasses.asdict(self.distortions),
            **{group: dataclasses.asdict(getattr(self, group)) for group in GROUPS},
            "seed": self.seed,
            "recipe": self.recipe,
        }
        saved["tower"]["filters"] = list(self.tower.filters)
        return saved

    @classmethod
    def from_dict(cls, saved: dict) -> TrainConfig:
        """The config of a saved `config.json`, grouped or flat as written before the groups
        existed (other entries there, such as the data, are ignored)."""
        if not isinstance(saved.get("tower"), dict):
            flat = {name: value for name, value in saved.items() if name in SETTINGS}
            flat.setdefault("pool_first", False)  # runs saved before the field existed had the classic order
            return cls.from_settings(**flat)
        distortions = saved.get("distortions")
        return cls(
            preprocessing=Preprocessing.from_dict(saved["preprocessing"]),
            distortions=None if distortions is None else Distortions(**distortions),
            **{group: kind(**saved[group]) for group, kind in GROUPS.items() if group in saved},
            seed=saved.get("seed", 0),
            recipe=saved.get("recipe"),
        )
