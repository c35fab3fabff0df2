"""The whole evaluation in one call: verification, N-way episodes, the one-shot runs,
retrieval, pictures and the report, from an `embed` and a `distance` function.

Every input is checked, and every pair and episode drawn, before the first image is
embedded, so bad input fails in a second, not after minutes of work. Each image of the
dataset is embedded once, however many pairs, episodes and queries use it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.data.images import read_image
from siamese.data.pairs import PairSampler
from siamese.data.pairs_file import PairList
from siamese.errors import DatasetError
from siamese.evaluation.embedding import Distance, Embed, embed_dataset, euclidean, path_pair_distances
from siamese.evaluation.fewshot import EpisodeSampler, FewShotResult, score_episodes
from siamese.evaluation.oneshot_runs import OneShotRuns, RunsResult, score_oneshot_runs
from siamese.evaluation.report import write_report
from siamese.evaluation.retrieval import RetrievalResult, retrieval_metrics, retrieval_subset
from siamese.evaluation.verification import VerificationMetrics, verification_metrics

logger = logging.getLogger(__name__)

EXAMPLE_PAIRS = 16


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What `evaluate` measured: the metrics dict (as in `metrics.json`), the result objects,
    and where the pictures and report went (empty / None without `out`)."""

    metrics: dict
    verification: VerificationMetrics | None
    fewshot: FewShotResult | None
    runs: RunsResult | None
    retrieval: RetrievalResult | None
    pictures: dict
    report: Path | None


def _distinct(order: np.ndarray, pairs) -> np.ndarray:
    """`order` without repeats of a pair already listed (drawn pairs may repeat on small data)."""
    seen, keep = set(), []
    for i in order:
        key = frozenset((str(pairs.first[i]), str(pairs.second[i])))
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return np.array(keep, dtype=np.int64)


def evaluate(
    embed: Embed,
    distance: Distance = euclidean,
    *,
    dataset: ImageDataset | None = None,
    pairs: PairList | None = None,
    runs: OneShotRuns | None = None,
    episodes: EpisodeSampler | None = None,
    threshold: float | None = None,
    channels: int = 1,
    pairs_count: int = 2000,
    retrieval_images: int = 2000,
    seed: int = 0,
    resamples: int = 1000,
    support_variants: int = 0,
    history: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    about: dict | None = None,
) -> Evaluation:
    """Evaluate a model, given as `embed` (images -> (n, d)) and `distance` (matched rows -> (n,)).

    Args:
        dataset: unseen classes: verification pairs are drawn from it (unless `pairs` is
            given; different pairs from one group when it has groups), and it serves the
            episodes and retrieval.
        pairs: verification pairs read from a file (paths), instead of drawn ones.
        runs: the official one-shot runs (`read_oneshot_runs`).
        episodes: how to draw N-way k-shot episodes from `dataset`; None for none.
        threshold: the model's decision threshold, for accuracy at the threshold.
        channels: channels the model's images have (how dataset images are decoded).
        pairs_count: pairs drawn from `dataset`, half same, half different.
        retrieval_images: at most this many images (whole classes) for retrieval.
        seed: seeds every draw and bootstrap.
        support_variants: test-time augmentation on the runs: distorted copies of each
            training image whose distances are averaged in (see `score_oneshot_runs`).
        history: a training `history.csv` to draw.
        out: folder for the pictures, `metrics.json` and `report.md`; None writes nothing.
        about: entries (model, data, ...) put at the top of the metrics.
    """
    start = time.perf_counter()
    if dataset is None and pairs is None and runs is None:
        raise DatasetError("nothing to evaluate: give a dataset, pairs or the one-shot runs")
    if out is not None or history is not None:
        from siamese.evaluation import plots  # matplotlib, only when drawing
    history_table = plots.read_history(history) if history is not None else None
    drawn = episode_list = subset = None
    if dataset is not None:
        multi = [c for c, idx in enumerate(dataset.class_indices) if len(idx) >= 2]
        if dataset.num_classes < 2 or not multi:
            raise DatasetError(f"{dataset.origin}: evaluation needs 2 or more classes and a class with 2 or more images, "
                               f"found {dataset.num_classes} class(es)")
        if episodes is not None:
            episode_list = episodes.sample(dataset)
        if pairs is None:
            grouped = len(set(dataset.groups)) > 1
            drawn = PairSampler(pairs_count, same_group_negatives=grouped, seed=seed).sample(dataset)
        subset = retrieval_subset(dataset, retrieval_images, seed=seed)

    table = None
    if dataset is not None:
        needed = [subset]
        if drawn is not None:
            needed += [drawn.first, drawn.second]
        for episode in episode_list or []:
            needed += [episode.support.ravel(), episode.queries]
        needed = np.unique(np.concatenate(needed))
        logger.info("embedding %d images of %s", len(needed), dataset.origin)
        table = embed_dataset(dataset, embed, needed, channels=channels)

    metrics = {**(about or {}), "seed": seed}
    verification = fewshot = runs_result = retrieval = None
    pair_distances = pair_same = None
    if pairs is not None:
        pair_distances = path_pair_distances(pairs.first, pairs.second, embed, distance)
        pair_same = pairs.same
    elif drawn is not None:
        pair_distances = np.asarray(distance(table[drawn.first], table[drawn.second]), dtype=np.float64)
        pair_same = drawn.same
    if pair_distances is not None:
        if pair_same.all() or not pair_same.any():
            raise DatasetError(f"{metrics.get('pairs_file', 'pairs')}: verification needs same and different pairs, got "
                               f"{int(pair_same.sum())} same of {len(pair_same)}")
        verification = verification_metrics(pair_distances, pair_same, threshold=threshold, resamples=resamples, seed=seed)
        metrics["verification"] = verification.to_dict()
    if episode_list is not None:
        fewshot = score_episodes(episode_list, table, distance, within_group=episodes.within_group)
        metrics["fewshot"] = fewshot.to_dict()
    if runs is not None:
        runs_result = score_oneshot_runs(runs, embed, distance, channels=channels, support_variants=support_variants, seed=seed)
        metrics["oneshot_runs"] = runs_result.to_dict()
    if subset is not None:
        retrieval = retrieval_metrics(table[subset], dataset.labels[subset], distance, resamples=resamples, seed=seed)
        metrics["retrieval"] = retrieval.to_dict()
    metrics["seconds"] = round(time.perf_counter() - start, 2)

    pictures, report = {}, None
    if out is not None:
        out = Path(out)
        if history_table is not None:
            pictures["history"] = plots.plot_history(history_table, out / "history.png").name
        if verification is not None:
            pictures["roc"] = plots.plot_roc(pair_distances, pair_same, out / "roc.png", threshold=threshold).name
            pictures["distances"] = plots.plot_distance_histograms(pair_distances, pair_same, out / "distances.png", threshold=threshold).name
            cut = threshold if threshold is not None else verification.eer_threshold
            worst = _distinct(plots.worst_first(pair_distances, pair_same, cut), pairs if pairs is not None else drawn)[:EXAMPLE_PAIRS]
            if pairs is not None:
                first = [read_image(pairs.first[i], channels=channels) for i in worst]
                second = [read_image(pairs.second[i], channels=channels) for i in worst]
            else:
                first = [dataset.image(int(drawn.first[i]), channels) for i in worst]
                second = [dataset.image(int(drawn.second[i]), channels) for i in worst]
            pictures["pairs"] = plots.plot_pair_grid(first, second, pair_distances[worst], pair_same[worst], out / "pairs.png", threshold=cut).name
        if fewshot is not None:
            episode = fewshot.episodes[0]
            pictures["episode"] = plots.plot_episode(
                dataset.image(int(episode.queries[0]), channels),
                [dataset.image(int(episode.support[c, 0]), channels) for c in range(fewshot.way)],
                fewshot.distances[0][0], int(fewshot.picks[0][0]), int(episode.answers[0]), out / "episode.png",
                title=f"{fewshot.way}-way {fewshot.shot}-shot episode" + (f" (first of {fewshot.shot} supports shown, mean distances)" if fewshot.shot > 1 else ""),
            ).name
        if runs_result is not None:
            run = runs.runs[0]
            pictures["oneshot_run"] = plots.plot_episode(
                runs.image(run.test[0], channels), [runs.image(m, channels) for m in run.training],
                runs_result.distances[0][0], int(runs_result.picks[0][0]), int(run.answers[0]), out / "oneshot_run.png",
                title=f"{run.name}, {run.test[0].rsplit('/', 1)[-1]}",
            ).name
        if retrieval is not None and table.shape[1] >= 2:
            pictures["embeddings"] = plots.plot_embedding_map(table[subset], dataset.labels[subset], out / "embeddings.png",
                                                              names=dataset.classes, seed=seed).name
        _, report = write_report(out, metrics, pictures)
    return Evaluation(metrics=metrics, verification=verification, fewshot=fewshot, runs=runs_result, retrieval=retrieval,
                      pictures=pictures, report=report)
