"""Train a Siamese network on a folder (or zip) of class folders, end to end.

    dataset -> split by class (or by group) -> decode once -> class-balanced batches
            -> tower once per image -> all pair distances -> pair loss -> best checkpoint

Classes in validation never appear in training, so the validation figures measure what
one-shot use needs: telling apart classes the network has never seen.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path

import keras
import numpy as np

from siamese.data.datasets import ImageDataset, load_dataset, split_by_class
from siamese.data.images import Preprocessing
from siamese.data.pairs import ClassBatchSampler, PairSampler
from siamese.data.rotations import add_rotated_classes
from siamese.files import write_json
from siamese.model import losses
from siamese.model.augmentation import build_augmentation
from siamese.model.network import SiameseNetwork
from siamese.model.saving import save_network
from siamese.model.towers import build_tower
from siamese.training.batches import ClassBatches
from siamese.training.callbacks import BestNetworkCheckpoint, PairValidation
from siamese.training.config import TrainConfig
from siamese.training.trainer import PairwiseTrainer

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Where the model and results went, and what the model scored on validation classes."""

    model_path: Path
    results_dir: Path | None
    metrics: dict
    history: dict
    seconds: float


def _looks_like_ink_on_paper(dataset: ImageDataset, seed: int) -> bool:
    """True when sampled images are mostly light: dark strokes on a white page."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(dataset), size=min(50, len(dataset)), replace=False)
    return float(np.mean([dataset.image(int(i)).mean() for i in sample])) > 127.0


def build_network(config: TrainConfig, preprocessing: Preprocessing) -> SiameseNetwork:
    """A fresh, untrained network as the config describes it."""
    tower = build_tower(
        preprocessing.input_shape,
        filters=tuple(config.filters),
        embedding_dim=config.embedding_dim,
        batchnorm=config.batchnorm,
        dropout=config.dropout,
        l2=config.l2,
        normalize=config.normalize,
        mixed_precision=config.mixed_precision,
    )
    return SiameseNetwork(tower, config.distance, preprocessing=preprocessing.to_dict())


def _decoded_split(dataset: ImageDataset, config: TrainConfig):
    """(train_set, train_images, val_set, val_images, preprocessing): classes split, images decoded once."""
    train_set, val_set = split_by_class(dataset, config.validation_fraction, by_group=config.split_by_group, seed=config.seed)
    invert = config.invert if config.invert is not None else _looks_like_ink_on_paper(dataset, config.seed)
    preprocessing = Preprocessing(image_size=tuple(config.image_size), channels=config.channels, invert=invert)
    logger.info("decoding %d training and %d validation images", len(train_set), len(val_set))
    train_images = train_set.load(preprocessing)
    if config.rotated_classes:
        train_set, train_images = add_rotated_classes(train_set, train_images)
    return train_set, train_images, val_set, val_set.load(preprocessing), preprocessing


def _compiled_trainer(network: SiameseNetwork, config: TrainConfig) -> PairwiseTrainer:
    """The network's tower and distance under the config's loss, augmentation and schedule."""
    augmentation = build_augmentation(seed=config.seed) if config.augment else None
    loss = losses.get(config.pair_loss, margin=config.margin, reducer=config.reducer)
    trainer = PairwiseTrainer(network.tower, network.distance, loss, augmentation=augmentation)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=config.epochs * config.steps_per_epoch, alpha=0.05)
    trainer.compile(optimizer=keras.optimizers.Adam(schedule), jit_compile=config.jit_compile)
    return trainer


def train(
    data: ImageDataset | str | os.PathLike | list,
    *,
    model_path: str | os.PathLike,
    config: TrainConfig = TrainConfig(),
    results_dir: str | os.PathLike | None = None,
    verbose: int = 1,
) -> TrainResult:
    """Train on `data` (dataset, or paths of folders / zips of class folders) and save the best model.

    The model is written atomically to `model_path` each time validation AUC improves; the
    history (`history.csv`), `config.json` and `metrics.json` go to `results_dir`.
    """
    start = time.perf_counter()
    dataset = data if isinstance(data, ImageDataset) else load_dataset(data)
    dataset.check_trainable()
    train_set, train_images, val_set, val_images, preprocessing = _decoded_split(dataset, config)
    keras.utils.set_random_seed(config.seed)
    network = build_network(config, preprocessing)
    trainer = _compiled_trainer(network, config)

    sampler = ClassBatchSampler(config.classes_per_batch, config.examples_per_class, same_group_fraction=config.same_group_fraction)
    train_batches = ClassBatches(train_images, train_set, sampler, steps=config.steps_per_epoch, seed=config.seed)
    val_batches = ClassBatches(val_images, val_set, sampler, steps=max(5, config.steps_per_epoch // 10), seed=config.seed + 1)
    val_pairs = PairSampler(config.validation_pairs, same_group_negatives=True, seed=config.seed).sample(val_set)

    validation = PairValidation(network, val_images, val_pairs)
    checkpoint = BestNetworkCheckpoint(network, model_path, monitor="val_auc")
    callbacks = [validation, checkpoint]
    if config.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=config.patience))
    if results_dir is not None:
        results_dir = Path(results_dir)
        results_dir.mkdir(parents=True, exist_ok=True)
        write_json(results_dir / "config.json", {**config.to_dict(), "invert": preprocessing.invert, "data": _describe(dataset)})
        callbacks.append(keras.callbacks.CSVLogger(str(results_dir / "history.csv")))

    history = trainer.fit(train_batches, validation_data=val_batches, epochs=config.epochs, callbacks=callbacks, verbose=verbose)
    metrics = {
        **validation.evaluate(),
        "best_epoch": (checkpoint.best_epoch or 0) + 1,
        "epochs_run": len(history.history.get("loss", [])),
        "validation_pairs": len(val_pairs),
        "validation_classes": val_set.num_classes,
        "training_classes": train_set.num_classes,
        "parameters": int(network.tower.count_params() + network.distance.count_params()),
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    network.threshold = metrics["val_threshold"]
    save_network(network, model_path)
    if results_dir is not None:
        write_json(results_dir / "metrics.json", metrics)
    return TrainResult(Path(model_path), results_dir, metrics, history.history, metrics["train_seconds"])


def _describe(dataset: ImageDataset) -> dict:
    roots = [str(source.location) for source in dataset.sources]
    return {"sources": roots, "images": len(dataset), "classes": dataset.num_classes, "groups": len(set(dataset.groups))}
