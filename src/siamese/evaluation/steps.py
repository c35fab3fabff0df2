"""The steps of an evaluation: one per kind of figure, each returning its result and pictures.

A step is handed a `Context` (the model as `embed` and `distance`, the dataset, and the
embeddings of the dataset images every step asked for) and works in three moves:

    prepare(context) -> dataset indices   check inputs, draw pairs or episodes; embeds nothing
    measure(context) -> result            the figures (a result with `to_dict()`, or None)
    draw(context, result, out) -> {name: file}   its pictures, into the folder `out`

`evaluate` prepares every step before the first image is embedded, so bad input fails in
a second, embeds each dataset image once for all steps, then measures and draws. A new
kind of evaluation is one more step class here.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.errors import ConfigError, DatasetError
from siamese.evaluation.embedding import Distance, Embed
from siamese.evaluation.fewshot import EpisodeSampler, score_episodes
from siamese.evaluation.identification import sample_trial, score_identification
from siamese.evaluation.oneshot_runs import OneShotRuns, score_oneshot_runs
from siamese.evaluation.pair_sources import FilePairs, SampledPairs, sample_pairs
from siamese.evaluation.retrieval import retrieval_metrics, retrieval_subset
from siamese.evaluation.verification import verification_metrics

EXAMPLE_PAIRS = 16
_NOTHING = np.zeros(0, dtype=np.int64)


@dataclasses.dataclass
class Context:
    """What every step is handed; `table` holds the embeddings of the dataset images the
    steps asked for (row = dataset index, NaN elsewhere), once they are embedded."""

    embed: Embed
    distance: Distance
    dataset: ImageDataset | None = None
    channels: int = 1
    seed: int = 0
    resamples: int = 1000
    table: np.ndarray | None = None

    def need_dataset(self, what: str) -> ImageDataset:
        if self.dataset is None:
            raise DatasetError(f"{what} needs a dataset of class folders")
        return self.dataset


class Step:
    """Base of the steps: no images needed, no figures, no pictures."""

    key: str | None = None  # where the result goes in the metrics

    def prepare(self, context: Context) -> np.ndarray:
        return _NOTHING

    def measure(self, context: Context):
        return None

    def draw(self, context: Context, result, out: Path) -> dict:
        return {}


class HistoryStep(Step):
    """The training curves of a `history.csv` (read, and so checked, in `prepare`)."""

    def __init__(self, path: str | os.PathLike):
        self.path = path

    def prepare(self, context):
        from siamese.evaluation import plots  # matplotlib, only when drawing

        self.history_ = plots.read_history(self.path)
        return _NOTHING

    def draw(self, context, result, out):
        from siamese.evaluation import plots

        return {"history": plots.plot_history(self.history_, out / "history.png").name}


class PairsStep(Step):
    """Verification on pairs: from a source (`siamese.evaluation.pair_sources`), or `count`
    pairs drawn from the dataset; accuracy and accept rates at `threshold` when given."""

    key = "verification"

    def __init__(
        self, source: FilePairs | SampledPairs | None = None, *, count: int = 2000, threshold: float | None = None
    ):
        self.source = source
        self.count = count
        self.threshold = threshold

    def prepare(self, context):
        if self.source is None:
            self.source = sample_pairs(
                context.need_dataset("verification on drawn pairs"), self.count, seed=context.seed
            )
        return self.source.needed

    def measure(self, context):
        self.distances_ = self.source.distances(
            context.embed, context.distance, channels=context.channels, table=context.table
        )
        return verification_metrics(
            self.distances_, self.source.same, threshold=self.threshold, resamples=context.resamples, seed=context.seed
        )

    def draw(self, context, result, out):
        from siamese.evaluation import plots

        distances, same, threshold = self.distances_, self.source.same, self.threshold
        cut = threshold if threshold is not None else result.eer_threshold
        worst = self._distinct(plots.worst_first(distances, same, cut))[:EXAMPLE_PAIRS]
        first, second = zip(*(self.source.images(int(i), context.channels) for i in worst))
        return {
            "roc": plots.plot_roc(distances, same, out / "roc.png", threshold=threshold).name,
            "distances": plots.plot_distance_histograms(
                distances, same, out / "distances.png", threshold=threshold
            ).name,
            "pairs": plots.plot_pair_grid(
                first, second, distances[worst], same[worst], out / "pairs.png", threshold=cut
            ).name,
        }

    def _distinct(self, order: np.ndarray) -> np.ndarray:
        """`order` without repeats of a pair already listed (drawn pairs may repeat on small data)."""
        seen, keep = set(), []
        for i in order:
            if self.source.key(int(i)) not in seen:
                seen.add(self.source.key(int(i)))
                keep.append(i)
        return np.array(keep, dtype=np.int64)


class EpisodesStep(Step):
    """N-way k-shot episodes drawn from the dataset by `sampler`."""

    key = "fewshot"

    def __init__(self, sampler: EpisodeSampler):
        self.sampler = sampler

    def prepare(self, context):
        self.episodes_ = self.sampler.sample(context.need_dataset("N-way episodes"))
        return np.concatenate([index for e in self.episodes_ for index in (e.support.ravel(), e.queries)])

    def measure(self, context):
        return score_episodes(self.episodes_, context.table, context.distance, within_group=self.sampler.within_group)

    def draw(self, context, result, out):
        from siamese.evaluation import plots

        episode, image = result.episodes[0], context.dataset.image
        shots = f" (first of {result.shot} supports shown, mean distances)" if result.shot > 1 else ""
        picture = plots.plot_episode(
            image(int(episode.queries[0]), context.channels),
            [image(int(episode.support[c, 0]), context.channels) for c in range(result.way)],
            result.distances[0][0],
            int(result.picks[0][0]),
            int(episode.answers[0]),
            out / "episode.png",
            title=f"{result.way}-way {result.shot}-shot episode{shots}",
        )
        return {"episode": picture.name}


class RunsStep(Step):
    """The official one-shot runs (`read_oneshot_runs`), with optional test-time augmentation."""

    key = "oneshot_runs"

    def __init__(self, runs: OneShotRuns, *, support_variants: int = 0):
        if support_variants < 0:
            raise ConfigError(f"support_variants must be zero or positive, got {support_variants}")
        self.runs = runs
        self.support_variants = support_variants

    def measure(self, context):
        return score_oneshot_runs(
            self.runs,
            context.embed,
            context.distance,
            channels=context.channels,
            support_variants=self.support_variants,
            seed=context.seed,
        )

    def draw(self, context, result, out):
        from siamese.evaluation import plots

        run, channels = self.runs.runs[0], context.channels
        picture = plots.plot_episode(
            self.runs.image(run.test[0], channels),
            [self.runs.image(m, channels) for m in run.training],
            result.distances[0][0],
            int(result.picks[0][0]),
            int(run.answers[0]),
            out / "oneshot_run.png",
            title=f"{run.name}, {run.test[0].rsplit('/', 1)[-1]}",
        )
        return {"oneshot_run": picture.name}


class RetrievalStep(Step):
    """Leave-one-out retrieval (P@1, mAP) on at most `max_images` images, whole classes."""

    key = "retrieval"

    def __init__(self, max_images: int = 2000):
        if max_images < 2:
            raise ConfigError(f"max_images must be at least 2, got {max_images}")
        self.max_images = max_images

    def prepare(self, context):
        self.subset_ = retrieval_subset(context.need_dataset("retrieval"), self.max_images, seed=context.seed)
        return self.subset_

    def measure(self, context):
        labels = context.dataset.labels[self.subset_]
        return retrieval_metrics(
            context.table[self.subset_], labels, context.distance, resamples=context.resamples, seed=context.seed
        )

    def draw(self, context, result, out):
        from siamese.evaluation import plots

        if context.table.shape[1] < 2:
            return {}
        picture = plots.plot_embedding_map(
            context.table[self.subset_],
            context.dataset.labels[self.subset_],
            out / "embeddings.png",
            names=context.dataset.classes,
            seed=context.seed,
        )
        return {"embeddings": picture.name}


class IdentificationStep(Step):
    """Open-set identification: one image of each enrolled class, `unknown_share` of the classes
    never enrolled (`siamese.evaluation.identification`)."""

    key = "identification"

    def __init__(self, *, threshold: float | None = None, unknown_share: float = 0.2):
        self.threshold = threshold
        self.unknown_share = unknown_share

    def prepare(self, context):
        self.trial_ = sample_trial(
            context.need_dataset("identification"), unknown_share=self.unknown_share, seed=context.seed
        )
        return np.concatenate([self.trial_.enrolled, self.trial_.known, self.trial_.unknown])

    def measure(self, context):
        return score_identification(
            self.trial_, context.table, context.dataset.labels, context.distance, threshold=self.threshold
        )
