"""The whole evaluation in one call: the steps' figures, pictures and the report.

    evaluate(model.embed, model.distances, [PairsStep(threshold=t), EpisodesStep(sampler),
             RunsStep(runs), RetrievalStep()], dataset=unseen, out="results/x/evaluation")

Every step is prepared (inputs checked, pairs and episodes drawn) before the first image is
embedded, so bad input fails in a second, not after minutes of work; each dataset image is
embedded once, however many pairs, episodes and queries use it. See
`siamese.evaluation.steps` for the steps.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import DatasetError
from siamese.evaluation.embedding import Distance, Embed, embed_dataset, euclidean
from siamese.evaluation.report import write_report
from siamese.evaluation.steps import Context, Step

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What `evaluate` measured: the metrics dict (as in `metrics.json`), each step's result
    by its key, and where the pictures and report went (empty / None without `out`)."""

    metrics: dict
    results: dict
    pictures: dict
    report: Path | None


def _check_dataset(dataset: ImageDataset) -> None:
    if dataset.num_classes < 2 or not any(len(idx) >= 2 for idx in dataset.class_indices):
        raise DatasetError(
            f"{dataset.origin}: evaluation needs 2 or more classes and a class with 2 or more images, "
            f"found {dataset.num_classes} class(es)"
        )


def evaluate(
    embed: Embed,
    distance: Distance = euclidean,
    steps: Sequence[Step] = (),
    *,
    dataset: ImageDataset | None = None,
    channels: int = 1,
    seed: int = 0,
    resamples: int = 1000,
    out: str | os.PathLike | None = None,
    about: dict | None = None,
    notes: Callable[[], dict] | None = None,
) -> Evaluation:
    """Run `steps` on a model given as `embed` (images -> (n, d)) and `distance` (matched rows -> (n,)).

    Args:
        steps: what to measure (`siamese.evaluation.steps`), in the order of the report.
        dataset: unseen classes, for the steps that draw from it.
        channels: channels the model's images have (how dataset images are decoded).
        seed: seeds every draw and bootstrap.
        resamples: bootstrap resamples for the intervals.
        out: folder for the pictures, `metrics.json` and `report.md`; None writes nothing.
        about: entries (model, data, ...) put at the top of the metrics.
        notes: entries known once the images are embedded (how many faces were not found),
            asked for after the steps and put with `about`.
    """
    start = time.perf_counter()
    if not steps:
        raise DatasetError("nothing to evaluate: give a dataset, pairs or the one-shot runs")
    if dataset is not None:
        _check_dataset(dataset)
    context = Context(embed, distance, dataset=dataset, channels=channels, seed=seed, resamples=resamples)
    needed = np.unique(np.concatenate([np.asarray(step.prepare(context), dtype=np.int64) for step in steps]))
    if len(needed):
        logger.info("embedding %d images of %s", len(needed), dataset.origin)
        context.table = embed_dataset(dataset, embed, needed, channels=channels)

    metrics, results = {**(about or {}), "seed": seed}, {}
    measured = [(step, step.measure(context)) for step in steps]
    for step, result in measured:
        if step.key is not None:
            results[step.key] = result
            metrics[step.key] = result.to_dict()
    metrics.update(notes() if notes is not None else {})
    metrics["seconds"] = round(time.perf_counter() - start, 2)

    pictures, report = {}, None
    if out is not None:
        for step, result in measured:
            pictures.update(step.draw(context, result, Path(out)))
        _, report = write_report(out, metrics, pictures)
    return Evaluation(metrics=metrics, results=results, pictures=pictures, report=report)
