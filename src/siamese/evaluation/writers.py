"""Writer-dependent verification, as the signature field reports it: a questioned signature
against K genuine references of the writer it claims to be, for K = 1, 3, 5.

For each writer with more than K genuine signatures, K references are drawn with the seed
(nested: the first K of one shuffle of the writer's signatures, so K = 3 adds to K = 1's
reference) and three kinds of questioned signature are scored against them:

    genuine   the writer's other genuine signatures                 should be accepted
    skilled   the writer's skilled forgeries (`<writer>/forged`)    should be rejected
    random    one genuine signature of every other writer: the last   should be rejected
              of its drawn order, never one of its references

Each is scored by every claim rule (`siamese.claims`: mean, min, normalized, svm; at K = 1
not min, which equals mean, nor normalized). The svm rule's negatives are the other writers'
K references, as a gallery of enrolled writers holds them; a random forgery is never one of
them (drawn from all of a writer's signatures, it was one with probability K/n, and the svm
rule was then scored on its own training points). The scores of all writers are pooled, one global threshold as in
SigNet's reports: the EER of genuine against skilled forgeries and against random ones
apart, and at the model's threshold (mean, min), `normalized_threshold` or `svm_threshold`
the FRR and the FAR against each. A rule's EER threshold against skilled forgeries, read on validation
writers, is how the normalized rule's threshold is chosen. Each image is embedded once.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.claims import DISTANCE_RULES, claim_scores, classifier_scores, minimum_references, reference_spread
from siamese.errors import ConfigError, DatasetError
from siamese.evaluation.embedding import embed_images, pairwise_distances
from siamese.evaluation.steps import Step
from siamese.evaluation.verification import verification_metrics
from siamese.registry import CLAIM_RULES

REFERENCE_COUNTS = (1, 3, 5)
KINDS = ("skilled", "random")


def rules_for(references: int) -> list[str]:
    """The claim rules measured with `references` references (min is mean's twin at one)."""
    return [r for r in CLAIM_RULES if minimum_references(r) <= references and (references > 1 or r != "min")]


def writer_scores(table, forged, forgery_labels, order, references, distance) -> dict:
    """{rule: {"genuine" | "skilled" | "random": scores}} of every writer with more than
    `references` genuine images, from embeddings `table` (genuine, by dataset index) and `forged`.

    Args:
        order: per writer, its genuine images' dataset indices in the drawn order: the first
            `references` are its references, the last its signature used as a random forgery
            of the others (never a reference, so never one of the svm rule's negatives).
    """
    enrolled = [w for w, indices in enumerate(order) if len(indices) > references]
    rules = [r for r in rules_for(references) if r in DISTANCE_RULES or len(enrolled) > 1]  # svm: others needed
    found = {rule: {kind: [] for kind in ("genuine", *KINDS)} for rule in rules}
    for writer in enrolled:
        indices = order[writer]
        refs, questioned = table[indices[:references]], {"genuine": table[indices[references:]]}
        questioned["skilled"] = forged[forgery_labels == writer]
        questioned["random"] = table[[order[w][-1] for w in range(len(order)) if w != writer and len(order[w])]]
        spread = reference_spread(pairwise_distances(refs, refs, distance)) if references >= 2 else None
        others = table[np.concatenate([order[w][:references] for w in enrolled if w != writer] or [[]]).astype(int)]
        for kind, rows in questioned.items():
            if len(rows):
                d = pairwise_distances(rows, refs, distance)
                for rule in rules:
                    scores = (
                        claim_scores(d, rule, spread=spread)
                        if rule in DISTANCE_RULES
                        else classifier_scores(refs, others, rows)
                    )
                    found[rule][kind].append(scores)
    return {
        rule: {kind: np.concatenate(parts) if parts else np.zeros(0) for kind, parts in kinds.items()}
        for rule, kinds in found.items()
    }


class WritersStep(Step):
    """Writer-dependent verification with K references (`REFERENCE_COUNTS`), against skilled
    and random forgeries apart; see the module docstring.

    Args:
        threshold: the model's threshold (mean and min rules); None skips FAR / FRR.
        normalized_threshold: the normalized rule's own threshold; None skips its FAR / FRR.
        svm_threshold: the svm rule's own threshold (0: the classifier's boundary).
        references: the K to measure.
    """

    key = "writers"

    def __init__(
        self,
        *,
        threshold: float | None = None,
        normalized_threshold: float | None = None,
        svm_threshold: float | None = 0.0,
        references: tuple = REFERENCE_COUNTS,
    ):
        if not references or min(references) < 1:
            raise ConfigError(f"references must be counts of 1 or more, got {references}")
        self.thresholds = {"normalized": normalized_threshold, "svm": svm_threshold}
        self.threshold = threshold
        self.references = tuple(sorted(set(int(k) for k in references)))

    def prepare(self, context):
        dataset = context.need_dataset("writer-dependent verification")
        most = int(dataset.class_sizes.max())
        if most <= max(self.references):
            raise DatasetError(
                f"{dataset.origin}: {max(self.references)} references need a writer with "
                f"{max(self.references) + 1} or more genuine images (a questioned one), the most is {most}"
            )
        rng = np.random.default_rng(context.seed)
        self.order_ = [rng.permutation(indices) for indices in dataset.class_indices]
        return np.concatenate(self.order_)

    def measure(self, context):
        dataset = context.dataset
        forged = np.zeros((0, context.table.shape[1]), np.float32)
        if dataset.num_forgeries:
            images = [dataset.forgery_image(i, context.channels) for i in range(dataset.num_forgeries)]
            forged = embed_images(images, context.embed)
        results = {}
        for k in self.references:
            scores = writer_scores(
                context.table,
                forged,
                dataset.forgery_labels,
                self.order_,
                k,
                context.distance,
            )
            results[k] = {
                "writers": int(sum(len(indices) > k for indices in self.order_)),
                "rules": {rule: self._metrics(rule, kinds, context) for rule, kinds in scores.items()},
            }
        return WritersResult(results)

    def _metrics(self, rule: str, kinds: dict, context) -> dict:
        threshold = self.thresholds.get(rule, self.threshold)
        genuine, measured = kinds["genuine"], {"genuine": len(kinds["genuine"])}
        for kind in KINDS:
            if len(kinds[kind]):
                same = np.r_[np.ones(len(genuine), np.int64), np.zeros(len(kinds[kind]), np.int64)]
                measured[kind] = verification_metrics(
                    np.r_[genuine, kinds[kind]],
                    same,
                    threshold=threshold,
                    far_targets=(),
                    resamples=context.resamples,
                    seed=context.seed,
                ).to_dict()
        return measured


@dataclasses.dataclass(frozen=True)
class WritersResult:
    """{K: {"writers": n, "rules": {rule: {"genuine": n, "skilled": metrics, "random": metrics}}}},
    each metrics a `VerificationMetrics.to_dict()` over the genuine and that kind's scores."""

    by_references: dict

    def to_dict(self) -> dict:
        return {str(k): value for k, value in self.by_references.items()}
