"""Choosing a signatures model by cross-validation over writers: 12 validation writers could
not rank the candidates (docs/benchmarks.md), 52 writers in 4 folds can do better.

**What.** The 52 SigComp 2011 Dutch writers before the 12 test ones are dealt into 4 folds
of 13 (`dutch_signature_split(fold=K)`); with `--signature-data all`, each of the three
forged sets is (`forged_signature_split(fold=K)`: 13 Dutch, 11 CEDAR and 20 Bengali writers
a fold), and a fold is measured on each set. For each fold, a candidate is trained on the other
folds' writers (and the cross-media training writers, with `--signature-data both` or `all`) by
`train_applications.py --fold K`, its threshold set for `--target-far` skilled
forgeries accepted on the fold's writers; it is then measured on the fold's writers: the EER
of K = 1, 3, 5 references against skilled and random forgeries, by the mean and svm claim
rules, and FAR / FRR at the model's threshold (mean) and at 0 (svm). The model shipped
before (`--old`, a git revision) is measured on the same folds. The test writers are never
read. Reported: each fold, and the mean over folds with the spread of the four (per set, and
the mean of the sets).

    python benchmarks/signature_folds.py --name dutch --signature-data dutch --epochs 6 --steps 60
    python benchmarks/signature_folds.py --name both --signature-data both --epochs 6 --steps 60
    git show 9432cbf:models/signatures.keras > cross-media.keras      # the model shipped before
    python benchmarks/signature_folds.py --name fine --signature-data dutch --epochs 5 --steps 60 --target-far 0.10 \\
        --config '{"image_size": [128, 256], "filters": [32, 64, 96, 128, 128]}' --join-with cross-media.keras
    python benchmarks/signature_folds.py --name tuned --signature-data both --epochs 4 --steps 60 \\
        --config '{"start_from": "signatures", "learning_rate": 0.0003}'
    python benchmarks/signature_folds.py --name bin144-even --signature-data all --folds 0 1 2 --epochs 6 --steps 60 \
        --target-far 0.10 --old 21e7c0b --config '{"contrast": "binarize", "strokes": "even", "image_size": [144, 224]}'

A fold's model already in `--out-dir` is measured, not trained again. The data is read from
`../shared/data/` beside the repository; without it the script says so and exits 0.
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save_report  # noqa: E402
from application_data import DATA, DUTCH_FOLDS, FORGED_SIGNATURE_SETS, REPO  # noqa: E402

REFERENCES = ("1", "3", "5")
RULES = ("mean", "svm")  # the claim rules reported: the pair distance's, and the writer-dependent classifier's
KINDS = ("skilled", "random")
SHOWN = ("K=1 mean skilled", "K=5 mean skilled", "K=5 svm skilled", "K=1 mean far_skilled", "K=1 mean frr")


def set_figures(model_path, dataset, cache: dict, resamples: int) -> dict:
    """EER against skilled and random forgeries (mean and svm rules) for K = 1, 3, 5, and FAR / FRR at
    the model's threshold, on the writers of `dataset` (`signature_sets.set_writers`)."""
    from applications import learned_method
    from signatures import writers_figures

    embed, distance, threshold = learned_method(model_path, cache)
    options = argparse.Namespace(seed=0, resamples=resamples)
    writers_result = writers_figures(dataset, embed, distance, threshold, options)
    figures = {}
    for k in REFERENCES:
        rules = writers_result[k]["rules"]
        figures[k] = {f"{rule} {kind}": rules[rule][kind]["eer"]["value"] for rule in RULES for kind in KINDS}
        for rule in RULES:  # at the model's threshold (mean) and at the classifier's boundary, 0 (svm)
            if rules[rule]["skilled"].get("false_accept_rate"):
                figures[k][f"{rule} far_skilled"] = rules[rule]["skilled"]["false_accept_rate"]["value"]
                figures[k][f"{rule} frr"] = 1 - rules[rule]["skilled"]["true_accept_rate"]["value"]
    return figures


def fold_figures(model_path, sets: list, fold: int, cache: dict, resamples: int) -> dict:
    """`set_figures` on the fold's validation writers of each forged set in `sets`, with the model's threshold."""
    from applications import learned_method
    from signature_sets import set_writers

    return {
        "threshold": learned_method(model_path, cache)[2],
        "sets": {name: set_figures(model_path, set_writers(DATA, name, 1, fold), cache, resamples) for name in sets},
    }


def train_fold(args, fold: int) -> Path:
    """The fold's candidate, trained and calibrated unless it is already in `--out-dir`."""
    from train_applications import main as train_main

    name = f"{args.name}-fold{fold}"
    path = args.out_dir / f"{name}.keras"
    if not path.exists():
        argv = ["--only", "signatures", "--out-dir", str(args.out_dir), "--results", str(args.out_dir / "results")]
        argv += ["--signature-data", args.signature_data, "--dutch-groups", str(args.dutch_groups)]
        argv += ["--fold", str(fold), "--target-far", str(args.target_far), "--signature-name", name]
        argv += ["--epochs", str(args.epochs), "--steps", str(args.steps), "--config", json.dumps(args.config)]
        argv += ["--join-with", *map(str, args.join_with)] if args.join_with else []
        train_main(argv)
    return path


def summary(per_fold: list) -> dict:
    """Mean and spread over folds of each figure, per set and (with several sets) their mean."""
    out = {}
    sets = list(per_fold[0]["sets"])
    for k in REFERENCES:
        for figure in per_fold[0]["sets"][sets[0]][k]:
            by_set = {name: np.array([fold["sets"][name][k][figure] for fold in per_fold]) for name in sets}
            if len(sets) > 1:
                by_set["mean of sets"] = np.mean(list(by_set.values()), axis=0)
            for name, values in by_set.items():
                out[f"{name} K={k} {figure}"] = {
                    "mean": float(values.mean()),
                    "min": float(values.min()),
                    "max": float(values.max()),
                }
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the candidate's name: its models are NAME-foldK.keras")
    parser.add_argument(
        "--signature-data",
        choices=("dutch", "both", "all"),
        default="both",
        help="train on these sets (train_applications.py); all: folds over the three forged sets, measured on each",
    )
    parser.add_argument("--dutch-groups", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--config", type=json.loads, default={}, help="TrainConfig values over the recipe's, as JSON")
    parser.add_argument("--target-far", type=float, default=0.05)
    parser.add_argument(
        "--join-with",
        type=Path,
        nargs="+",
        help="join each fold's model with these (siamese ensemble) before its threshold",
    )
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(DUTCH_FOLDS)))
    parser.add_argument("--old", default="9432cbf", help="git revision of the model to compare with (none: skip)")
    parser.add_argument(
        "--resamples", type=int, default=100, help="bootstrap resamples (the intervals are not reported)"
    )
    parser.add_argument("--out-dir", type=Path, default=REPO / "results" / "signature-folds")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not (DATA / "signatures-sigcomp2011-dutch").is_dir():
        print(f"{DATA}: the Dutch signatures are not there; nothing to measure")
        return 0
    from signatures import old_model

    args.out_dir.mkdir(parents=True, exist_ok=True)
    sets = list(FORGED_SIGNATURE_SETS) if args.signature_data == "all" else ["dutch"]
    results, cache = {args.name: [], "old": []}, {}
    with tempfile.TemporaryDirectory() as folder:
        old = old_model(args.old, Path(folder)) if args.old != "none" else None
        for fold in args.folds:
            results[args.name].append(fold_figures(train_fold(args, fold), sets, fold, cache, args.resamples))
            if old is not None:
                results["old"].append(fold_figures(old, sets, fold, cache, args.resamples))
            print(f"fold {fold}: " + json.dumps({n: r[-1]["sets"] for n, r in results.items() if r}), flush=True)
    report = save_report(
        args.out_dir / f"{args.name}.json",
        args,
        folds=results,
        summary={name: summary(per_fold) for name, per_fold in results.items() if per_fold},
    )
    for name, figures in report["summary"].items():
        print(f"{name} (mean over folds [min, max]; every figure in {args.out_dir / args.name}.json)")
        for key in SHOWN:
            shown = {k: v for k, v in figures.items() if k.endswith(key)}
            print(
                f"  {key}: "
                + "; ".join(
                    f"{k.removesuffix(key)}{v['mean']:.3f} [{v['min']:.3f}, {v['max']:.3f}]" for k, v in shown.items()
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
