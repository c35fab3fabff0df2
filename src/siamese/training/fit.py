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
from siamese.data.images import Preprocessing, default_workers
from siamese.data.pairs import ClassBatchSampler, PairIndices, PairSampler, forgery_pairs
from siamese.data.rotations import add_rotated_classes
from siamese.data.streaming import decode_pairs, image_errors, streamed_split
from siamese.files import check_writable, exclusive_lock
from siamese.model import ClassProxies, losses
from siamese.model.backbones import build_backbone_tower
from siamese.model.network import SiameseNetwork
from siamese.model.saving import save_network
from siamese.model.towers import build_tower
from siamese.training import distributed, transfer
from siamese.training.batches import ClassBatches
from siamese.training.calibration import ThresholdCalibrator
from siamese.training.callbacks import PairValidation
from siamese.training.config import TrainConfig
from siamese.training.run_callbacks import RunCallbacks
from siamese.training.run_folder import RunFolder, describe_data
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
    """A fresh network as the config describes it (untrained, or a trained model's tower: `start_from`)."""
    settings = config.tower
    if settings.start_from is not None:
        tower = transfer.start_tower(settings.start_from, settings.trainable_layers)
    elif settings.backbone is not None:
        tower = build_backbone_tower(
            preprocessing.input_shape,
            settings.backbone,
            weights=settings.backbone_weights,
            embedding_dim=settings.embedding_dim,
            dropout=settings.dropout,
            normalize=settings.normalize,
        )
    else:
        tower = build_tower(
            preprocessing.input_shape,
            filters=settings.filters,
            embedding_dim=settings.embedding_dim,
            batchnorm=settings.batchnorm,
            pool_first=settings.pool_first,
            dropout=settings.dropout,
            l2=settings.l2,
            normalize=settings.normalize,
            mixed_precision=config.runtime.mixed_precision,
        )
    return SiameseNetwork(tower, config.loss.distance, preprocessing=preprocessing.to_dict())


def _calibrator(config: TrainConfig) -> ThresholdCalibrator:
    return ThresholdCalibrator(config.validation.threshold_objective, target_far=config.validation.target_far)


def _decoded_split(dataset: ImageDataset, config: TrainConfig):
    """((train_set, images, forgeries), (val_set, images, forgeries), preprocessing): classes split, images
    and skilled forgeries decoded once."""
    train_set, val_set = split_by_class(
        dataset, config.validation.validation_fraction, by_group=config.validation.split_by_group, seed=config.seed
    )
    preprocessing = config.preprocessing
    if config.tower.start_from is not None:  # the images reach the tower as they reached it in its model
        preprocessing = transfer.run_preprocessing(config.tower.start_from, preprocessing)
    elif preprocessing.invert is None:
        preprocessing = dataclasses.replace(preprocessing, invert=_looks_like_ink_on_paper(dataset, config.seed))
    rotated_classes = config.sampling.rotated_classes
    if config.runtime.stream:  # nothing decoded now: batches decode the images they draw (siamese.data.streaming)
        logger.info("streaming %d training and %d validation images from disk", len(train_set), len(val_set))
        return (
            *streamed_split(train_set, val_set, preprocessing, rotated_classes=rotated_classes),
            preprocessing,
        )
    logger.info(
        "decoding %d training and %d validation images (and %d skilled forgeries)",
        len(train_set),
        len(val_set),
        dataset.num_forgeries,
    )
    train_images = train_set.load(preprocessing)
    if rotated_classes:
        train_set, train_images = add_rotated_classes(
            train_set, train_images
        )  # forgeries stay with the unturned classes
    train_forged, val_forged = (side.load_forgeries(preprocessing)[0] for side in (train_set, val_set))
    return (train_set, train_images, train_forged), (val_set, val_set.load(preprocessing), val_forged), preprocessing


def _validation_pairs(val_set: ImageDataset, images: np.ndarray, forged: np.ndarray, config: TrainConfig):
    """(images, pairs) to validate on: drawn same / different pairs and, when the validation signers
    have skilled forgeries, half the different ones made a genuine signature against a forgery of
    the same signer, with the forgeries' images after the others."""
    pairs = PairSampler(config.validation.validation_pairs, same_group_negatives=True, seed=config.seed).sample(val_set)
    if not val_set.num_forgeries:
        return images, pairs
    different = np.flatnonzero(pairs.same == 0)  # in a random order already: the sampler shuffles its pairs
    swap = different[: len(different) // 2]
    first, second = pairs.first.copy(), pairs.second.copy()
    genuine, forgery = forgery_pairs(val_set, len(swap), seed=config.seed)
    first[swap], second[swap] = genuine, len(val_set) + forgery
    return np.concatenate([images, forged]), PairIndices(first=first, second=second, same=pairs.same)


def _compiled_trainer(network: SiameseNetwork, config: TrainConfig, num_classes: int) -> PairwiseTrainer:
    """The network's tower and distance under the config's loss (and class proxies) and schedule."""
    settings, timing = config.loss, config.schedule
    loss = losses.get(settings.pair_loss, margin=settings.margin, reducer=settings.reducer)
    proxies = (
        ClassProxies(num_classes, settings.proxy_scale, settings.proxy_margin) if settings.proxy_weight > 0 else None
    )
    trainer = PairwiseTrainer(
        network.tower, network.distance, loss, proxies=proxies, proxy_weight=settings.proxy_weight
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        timing.learning_rate, decay_steps=timing.epochs * timing.steps_per_epoch, alpha=0.05
    )
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule), jit_compile=distributed.jit_compile(config.runtime.jit_compile)
    )
    return trainer


def train(
    data: ImageDataset | str | os.PathLike | list,
    *,
    model_path: str | os.PathLike,
    config: TrainConfig = TrainConfig(),
    results_dir: str | os.PathLike | None = None,
    resume: bool = False,
    verbose: int = 1,
    class_pattern: str | None = None,
    callbacks: tuple = (),
    options: dict | None = None,
) -> TrainResult:
    """Train on `data` (dataset, or paths of folders / zips of class folders) and save the best model.

    `class_pattern` names classes from file names (see `load_dataset`); it reads the paths
    and is kept in `config.json`, so a resumed run reads its data alike. A dataset's skilled
    forgeries (signatures) join the training batches and validation pairs as negatives of their signer.
    `callbacks` (Keras callbacks, e.g. a progress line) run after the run's own, which they can read.
    `options` (JSON values, such as the CLI's `--no-export`) are kept in `config.json` for a
    resume to find (`RunFolder.read`).

    The model is written atomically to `model_path` each time validation AUC improves; the
    history, config and metrics go to `results_dir` (laid out by `RunFolder`), with the
    state a killed run needs to go on (see `siamese.training.resume`). With
    `resume`, training continues from that state's last finished epoch. One run at a time
    writes to a results folder (or, without one, to a model file): a second is refused.
    A NaN or exploding loss stops training with a `TrainingError`; the last good model stays.
    """
    if resume and results_dir is None:
        raise ValueError("resume needs results_dir: the resume state lives there")
    start = time.perf_counter()
    dataset = data if isinstance(data, ImageDataset) else load_dataset(data, class_pattern=class_pattern)
    dataset.check_trainable()  # bad data fails before any file or folder is made
    model_path = Path(model_path)
    for folder in (model_path.parent, results_dir):
        if folder is not None:
            check_writable(folder)  # a read-only or missing output folder fails now, not at the first save
    replicas = distributed.setup(
        config.runtime.distributed, resume=resume
    )  # joins the other processes; only process 0 writes here
    with replicas.own_outputs(model_path, results_dir) as (written, results):
        run = None if results is None else RunFolder(results)
        lock = run.lock if run is not None else written.with_name(f".{written.name}.lock")
        with exclusive_lock(lock), replicas.scope():
            result = _train(
                dataset,
                written,
                config,
                run,
                resume,
                verbose,
                start,
                class_pattern,
                callbacks=tuple(callbacks),
                options=dict(options or {}),
            )
    return dataclasses.replace(
        result, model_path=model_path, results_dir=None if results_dir is None else Path(results_dir)
    )


def _train(
    dataset: ImageDataset,
    model_path: Path,
    config: TrainConfig,
    folder: RunFolder | None,
    resume: bool,
    verbose: int,
    start: float,
    class_pattern: str | None,
    *,
    callbacks: tuple,
    options: dict,
) -> TrainResult:
    duplicates = dataset.duplicates_across_classes()
    if duplicates:
        logger.warning(
            "%d image(s) stand in two classes (first: %s and %s); such pairs are both same and different, "
            "which misleads training and validation: remove them",
            len(duplicates),
            *map(dataset.name, duplicates[0]),
        )
    (train_set, train_images, train_forged), (val_set, val_images, val_forged), preprocessing = _decoded_split(
        dataset, config
    )
    keras.utils.set_random_seed(config.seed)
    network = build_network(config, preprocessing)
    trainer = _compiled_trainer(network, config, train_set.num_classes)

    sampling, steps = config.sampling, config.schedule.steps_per_epoch
    sampler = ClassBatchSampler(
        sampling.classes_per_batch, sampling.examples_per_class, same_group_fraction=sampling.same_group_fraction
    )
    train_batches = distributed.shard(
        ClassBatches(
            train_images,
            train_set,
            sampler,
            steps=steps,
            seed=config.seed,
            forgeries=train_forged,
            augmentation=config.distortions,
            workers=default_workers() if config.runtime.stream else 1,
        )
    )  # streamed: decode batches in threads
    val_batches = distributed.shard(
        ClassBatches(
            val_images,
            val_set,
            sampler,
            steps=max(5, steps // 10),
            seed=config.seed + 1,
            per_epoch=False,
            forgeries=val_forged,
        )
    )
    val_images, val_pairs = _validation_pairs(val_set, val_images, val_forged, config)  # forgeries appended
    run = RunCallbacks(
        network,
        config,
        model_path,
        folder,
        PairValidation(network, *decode_pairs(val_images, val_pairs), calibrator=_calibrator(config)),
        train_batches,
    )
    if folder is not None:  # the preprocessing as decided (invert), so that a resumed run reads images alike
        folder.write_config(
            dataclasses.replace(config, preprocessing=preprocessing),
            data=describe_data(dataset, class_pattern),
            model_path=model_path,
            options=options,
        )
    initial_epoch = run.resume(trainer, train_images.shape) if resume else run.start_afresh()

    with image_errors(train_images, val_images):  # a bad file met while streaming: the typed error naming it
        history = trainer.fit(
            train_batches,
            validation_data=val_batches,
            epochs=config.schedule.epochs,
            initial_epoch=initial_epoch,
            callbacks=run.callbacks + list(callbacks),
            verbose=verbose,
        )
    run.raise_if_stopped()
    metrics = {
        **run.validation.evaluate(),
        "best_epoch": (run.checkpoint.best_epoch or 0) + 1,
        "epochs_run": initial_epoch + len(history.history.get("loss", [])),
        "resumed_at_epoch": initial_epoch + 1 if initial_epoch else None,
        "duplicates_across_classes": len(duplicates),
        "validation_pairs": len(val_pairs),
        "validation_forgery_pairs": int(np.sum(val_pairs.second >= len(val_set))),
        "validation_classes": val_set.num_classes,
        "training_classes": train_set.num_classes,
        "parameters": int(network.tower.count_params() + network.distance.count_params()),
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    network.threshold = metrics["val_threshold"]
    save_network(network, model_path)
    if folder is not None:
        folder.write_metrics(metrics)
    return TrainResult(
        model_path, None if folder is None else folder.path, metrics, history.history, metrics["train_seconds"]
    )
