"""Signatures on the test writers of the three sets with skilled forgeries (SigComp 2011 Dutch,
CEDAR, BHSig260 Bengali), measured as the field reports them, beside the baselines.

**What.** For each set's test writers (`forged_signature_split`: 12 Dutch, 11 CEDAR, 20
Bengali; never trained on, never used to choose or to set a threshold): writer-dependent
verification with K = 1, 3, 5 genuine references (`siamese.evaluation.WritersStep`; K = 1 is
the genuine-vs-skilled pair), the EER against skilled forgeries and against random ones
(other test writers' genuine signatures) by every claim rule, and FAR / FRR at the model's
own threshold (one global threshold, set on the three sets' validation writers pooled) and
at a per-set threshold (set on that set's validation writers alone for the same rate of
skilled forgeries accepted, `--target-far`, over every genuine/skilled pair of a writer).

**Methods.** `--model` (the candidate), `--shipped` (the model shipped now), the
cross-media model (`models/signatures-cross-media.keras`), and `pixels`, `hog`
(`baselines.py`: cosine distance, no threshold of their own).

    python benchmarks/signature_sets.py --model results/sig29/all-binarized.keras
    python benchmarks/signature_sets.py --model results/signature-folds/bin144-fold0.keras --fold 0

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save_report  # noqa: E402
from application_data import DATA, FORGED_SIGNATURE_SETS, REPO, forged_signature_split  # noqa: E402

BASELINE_NAMES = ("pixels", "hog")


def set_writers(data: Path, name: str, part: int, fold: int | None = None):
    """The set's writers of `part` (0 train, 1 validation, 2 test; of cross-validation `fold`, if
    given), one class per writer, forgeries apart."""
    from train_applications import dutch_dataset

    folder = FORGED_SIGNATURE_SETS[name]
    writers = forged_signature_split(name, data, fold=fold)[part]
    return dutch_dataset(data / folder, writers, prefix=folder.removeprefix("signatures-"))


def pair_threshold(dataset, embed, distance, target_far: float) -> float:
    """The distance at which `target_far` of the writers' genuine/skilled pairs are accepted."""
    from siamese.evaluation import embed_images
    from siamese.evaluation.embedding import pairwise_distances

    genuine = embed_images([dataset.image(i) for i in range(len(dataset))], embed)
    forged = embed_images([dataset.forgery_image(i) for i in range(dataset.num_forgeries)], embed)
    skilled = pairwise_distances(forged, genuine, distance)[dataset.forgery_labels[:, None] == dataset.labels[None, :]]
    return float(np.quantile(skilled, target_far))


def writers_figures(dataset, embed, distance, threshold, args, references=(1, 3, 5)) -> dict:
    from siamese.evaluation import WritersStep, evaluate

    step = WritersStep(threshold=threshold, references=references)
    return evaluate(embed, distance, [step], dataset=dataset, seed=args.seed, resamples=args.resamples).metrics[
        "writers"
    ]


def methods(args) -> dict:
    """name -> (embed, distance, threshold)."""
    from applications import baseline_method, learned_method

    cache = {}
    found = {name: learned_method(path, cache) for name, path in args.models.items()}
    return found | {name: baseline_method(name) for name in BASELINE_NAMES}


def at_threshold(entry: dict) -> dict:
    """FAR against skilled and random forgeries and FRR at the threshold of one rule's figures."""
    if not entry["skilled"].get("false_accept_rate"):
        return {}
    return {
        "threshold": entry["skilled"]["threshold"],
        "far_skilled": entry["skilled"]["false_accept_rate"]["value"],
        "far_random": entry["random"]["false_accept_rate"]["value"],
        "frr": 1 - entry["skilled"]["true_accept_rate"]["value"],
    }


def measure_set(name: str, method, args) -> dict:
    embed, distance, threshold = method
    test = set_writers(args.data, name, 2)
    figures = writers_figures(test, embed, distance, threshold, args)
    found = {
        "eer": {
            k: {
                f"{rule} {kind}": rules[kind]["eer"]["value"]
                for rule, rules in entry["rules"].items()
                for kind in ("skilled", "random")
            }
            for k, entry in figures.items()
        },
        "global": {k: at_threshold(entry["rules"]["mean"]) for k, entry in figures.items()},
        "writers": figures,  # every rule's metrics, with their bootstrap intervals
    }
    if threshold is not None:  # the set's own threshold, set on its validation writers
        own = pair_threshold(set_writers(args.data, name, 1, args.fold), embed, distance, args.target_far)
        found["per_set"] = at_threshold(writers_figures(test, embed, distance, own, args, (1,))["1"]["rules"]["mean"])
    return found


def markdown(results: dict) -> str:
    lines = [
        "| set | method | EER skilled K=1 / 3 / 5 (mean) | svm K=5 | EER random K=1 | global thr: FAR skilled / FRR (K=1) | per-set thr: FAR skilled / FRR (K=1) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, by_method in results.items():
        for method, found in by_method.items():
            eer = found["eer"]
            skilled = " / ".join(f"{eer[k]['mean skilled']:.3f}" for k in ("1", "3", "5"))
            cells = [
                f"{entry['far_skilled']:.3f} / {entry['frr']:.3f}" if entry else "-"
                for entry in (found["global"]["1"], found.get("per_set"))
            ]
            lines.append(
                f"| {name} | {method} | {skilled} | {eer['5']['svm skilled']:.3f} | {eer['1']['mean random']:.3f} | {cells[0]} | {cells[1]} |"
            )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the candidate")
    parser.add_argument("--shipped", type=Path, default=REPO / "models" / "signatures.keras")
    parser.add_argument("--cross-media", type=Path, default=REPO / "models" / "signatures-cross-media.keras")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sets", nargs="+", choices=tuple(FORGED_SIGNATURE_SETS), default=tuple(FORGED_SIGNATURE_SETS))
    parser.add_argument(
        "--target-far", type=float, default=0.10, help="the per-set thresholds' skilled forgeries accepted"
    )
    parser.add_argument(
        "--resamples", type=int, default=200, help="bootstrap resamples (the intervals are in the JSON)"
    )
    parser.add_argument(
        "--fold",
        type=int,
        help="the per-set thresholds are set on this cross-validation fold's validation writers: those of "
        "the fold the candidate was trained on (train_applications.py --fold; default: the fixed split's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "signature-sets")
    args = parser.parse_args(argv)
    args.models = {"candidate": args.model, "shipped": args.shipped, "cross-media": args.cross_media}
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not all((args.data / FORGED_SIGNATURE_SETS[name]).is_dir() for name in args.sets):
        print(f"{args.data}: the signature sets with forgeries are not there; nothing to measure")
        return 0
    results = {name: {} for name in args.sets}
    for method, triple in methods(args).items():
        for name in args.sets:
            results[name][method] = measure_set(name, triple, args)
            print(f"{name} {method}: " + json.dumps(results[name][method]["eer"]["1"]), flush=True)
    save_report(args.out / "signature_sets.json", args, results=results)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
