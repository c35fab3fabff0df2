"""Evaluation on unseen data: verification metrics, N-way episodes, the official one-shot
runs, retrieval, writer-dependent verification against forgeries, pictures and a report.

Models come in as an `embed` and a `distance` function, so nothing here loads one (the CLI
wires a `SiameseModel`'s `embed` and `distances` in). `evaluate` runs a list of steps, one
per kind of evaluation (`siamese.evaluation.steps`). Pictures live in
`siamese.evaluation.plots`, imported on use (it brings matplotlib).
"""

from siamese.evaluation.embedding import (
    embed_dataset,
    embed_images,
    euclidean,
    pairwise_distances,
    path_pair_distances,
)
from siamese.evaluation.fewshot import Episode, EpisodeSampler, FewShotResult, default_way, score_episodes
from siamese.evaluation.identification import (
    IdentificationResult,
    IdentificationTrial,
    sample_trial,
    score_identification,
)
from siamese.evaluation.intervals import Estimate, proportion, wilson_interval
from siamese.evaluation.oneshot_runs import (
    OneShotRun,
    OneShotRuns,
    RunsResult,
    read_oneshot_runs,
    runs_from_dataset,
    score_oneshot_runs,
)
from siamese.evaluation.pair_sources import (
    FilePairs,
    ForgeryPairs,
    SampledPairs,
    read_pair_source,
    sample_forgery_pairs,
    sample_pairs,
)
from siamese.evaluation.report import format_markdown, format_table, summary_rows, write_report
from siamese.evaluation.retrieval import RetrievalResult, average_precisions, retrieval_metrics, retrieval_subset
from siamese.evaluation.steps import (
    Context,
    EpisodesStep,
    HistoryStep,
    IdentificationStep,
    PairsStep,
    RetrievalStep,
    RunsStep,
    Step,
)
from siamese.evaluation.suite import Evaluation, evaluate
from siamese.evaluation.verification import (
    VerificationMetrics,
    equal_error_rate,
    roc_points,
    true_accept_rate_at,
    verification_metrics,
)
from siamese.evaluation.writers import REFERENCE_COUNTS, WritersResult, WritersStep, writer_scores

__all__ = [
    "Context",
    "REFERENCE_COUNTS",
    "SampledPairs",
    "Episode",
    "EpisodesStep",
    "EpisodeSampler",
    "Estimate",
    "Evaluation",
    "FewShotResult",
    "FilePairs",
    "ForgeryPairs",
    "HistoryStep",
    "IdentificationResult",
    "IdentificationStep",
    "IdentificationTrial",
    "OneShotRun",
    "OneShotRuns",
    "PairsStep",
    "RetrievalResult",
    "RetrievalStep",
    "RunsResult",
    "RunsStep",
    "Step",
    "VerificationMetrics",
    "WritersResult",
    "WritersStep",
    "average_precisions",
    "default_way",
    "sample_forgery_pairs",
    "sample_pairs",
    "sample_trial",
    "embed_dataset",
    "embed_images",
    "equal_error_rate",
    "evaluate",
    "euclidean",
    "format_markdown",
    "format_table",
    "pairwise_distances",
    "path_pair_distances",
    "proportion",
    "read_oneshot_runs",
    "read_pair_source",
    "retrieval_metrics",
    "retrieval_subset",
    "roc_points",
    "runs_from_dataset",
    "score_episodes",
    "score_identification",
    "score_oneshot_runs",
    "summary_rows",
    "true_accept_rate_at",
    "verification_metrics",
    "wilson_interval",
    "writer_scores",
    "write_report",
]
