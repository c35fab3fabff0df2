"""Signatures against skilled forgeries: the previous shipped model, the new one and the
non-learned baselines, on the test writers of both signature sets, with 95% intervals.

**What.** On the 12 test writers of the SigComp 2011 Dutch set (`dutch_signature_split`:
never trained on, never used to choose): writer-dependent verification with K = 1, 3, 5
genuine references (`siamese.evaluation.WritersStep`; K = 1 is the genuine-vs-skilled pair),
the EER against skilled forgeries and against random ones (other writers' genuine
signatures), FAR / FRR at each model's own threshold (mean rule), and the EER of the svm
rule (a classifier of the references against the other test writers' references). On the
23 test writers of the cross-media set (`signature_split`): its pairs (genuine vs
forgery-like, genuine vs other writers) and 20-way one-shot, as `benchmarks/applications.py`
draws them. The cross-media
set has no skilled forgeries and only four signatures of a name per writer, so it gives
pairs, not K references.

**Methods.** `old`: the model shipped before skilled forgeries were trained on (`--old`, a
git revision: its `models/signatures.keras`, trained on cross-media writers only); `new`:
`models/signatures.keras`; `pixels`, `hog`, `lbp` (`baselines.py`, cosine distance, no
threshold of their own: FAR / FRR are left out for them).

    python benchmarks/signatures.py                      # table on stdout, JSON to results/signatures-benchmark/
    python benchmarks/signatures.py --resamples 200      # quicker intervals

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save_report  # noqa: E402
from application_data import DATA, REPO, dutch_signature_split, signature_parts  # noqa: E402

BASELINE_NAMES = ("pixels", "hog", "lbp")
OLD_REVISION = "9432cbf"  # the last commit whose models/signatures.keras saw no skilled forgery


def dutch_test_set(data: Path):
    """The Dutch test writers, one class per writer, their skilled forgeries as negatives."""
    from train_applications import dutch_dataset

    root = data / "signatures-sigcomp2011-dutch"
    return dutch_dataset(root, dutch_signature_split(root)[2])


def old_model(revision: str, folder: Path) -> Path:
    """`models/signatures.keras` as it was at `revision`, written into `folder`."""
    path = folder / f"signatures-{revision}.keras"
    blob = subprocess.run(
        ["git", "show", f"{revision}:models/signatures.keras"], cwd=REPO, capture_output=True, check=True
    ).stdout
    path.write_bytes(blob)
    return path


def methods(args, folder: Path) -> dict:
    """name -> (embed, distance, threshold)."""
    from applications import baseline_method, learned_method

    cache = {}
    found = {
        "old": learned_method(old_model(args.old, folder), cache),
        "new": learned_method(args.model, cache),
    }
    return found | {name: baseline_method(name) for name in BASELINE_NAMES}


def writers_figures(dataset, embed, distance, threshold, args) -> dict:
    """K = 1, 3, 5 references (mean rule, and the others `siamese evaluate` reports) on the Dutch test writers."""
    from siamese.evaluation import WritersStep, evaluate

    step = WritersStep(threshold=threshold)
    result = evaluate(embed, distance, [step], dataset=dataset, seed=args.seed, resamples=args.resamples)
    return result.metrics["writers"]


def pairs_figures(part, embed, distance, threshold, args) -> dict:
    from applications import figures, measure

    return figures([part], [measure(part, embed, distance)], threshold, args)


def _cell(entry) -> str:
    return f"{entry['value']:.3f} [{entry['low']:.3f}, {entry['high']:.3f}]"


def markdown(results: dict) -> str:
    """Two tables: Dutch test writers (K references), cross-media test writers (pairs)."""
    lines = [
        "| Dutch test writers | K | EER vs skilled | EER vs random | FAR skilled at threshold | FAR random | FRR | svm rule: EER vs skilled |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        for k, entry in result["dutch"].items():
            mean = entry["rules"]["mean"]
            skilled, random = mean["skilled"], mean["random"]
            at = (
                [_cell(skilled["false_accept_rate"]), _cell(random["false_accept_rate"])]
                + [f"{1 - skilled['true_accept_rate']['value']:.3f}"]
                if skilled.get("false_accept_rate")
                else ["-", "-", "-"]
            )
            svm = entry["rules"]["svm"]["skilled"]["eer"]
            lines.append(
                f"| {name} | {k} | {_cell(skilled['eer'])} | {_cell(random['eer'])} | "
                + " | ".join(at)
                + f" | {_cell(svm)} |"
            )
    lines += [
        "",
        "| cross-media test writers | AUC forgery-like | EER forgery-like | AUC other writers | EER other writers | 20-way one-shot |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        pairs = result["cross_media"]["pairs"]
        forged, other = pairs["genuine vs forgery-like"], pairs["genuine vs other writers"]
        lines.append(
            f"| {name} | {_cell(forged['auc'])} | {_cell(forged['eer'])} | {_cell(other['auc'])} | "
            f"{_cell(other['eer'])} | {_cell(result['cross_media']['oneshot'])} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "signatures.keras")
    parser.add_argument("--old", default=OLD_REVISION, help="git revision of the previous signatures model")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--pairs", type=int, default=2000, help="cross-media pairs per set (half same)")
    parser.add_argument("--episodes", type=int, default=200, help="cross-media 20-way episodes")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the intervals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "signatures-benchmark")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not (args.data / "signatures-sigcomp2011-dutch").is_dir() or not (args.data / "signatures-cross-media").is_dir():
        print(f"{args.data}: the two signature sets are not there; nothing to measure")
        return 0
    dutch = dutch_test_set(args.data)
    part = signature_parts(args.data, types.SimpleNamespace(**vars(args), models_dir=REPO / "models"))[0]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (embed, distance, threshold) in methods(args, Path(folder)).items():
            results[name] = {
                "threshold": threshold,
                "dutch": writers_figures(dutch, embed, distance, threshold, args),
                "cross_media": pairs_figures(part, embed, distance, threshold, args),
            }
            print(f"{name}: done", flush=True)
    save_report(args.out / "signatures.json", args, results=results)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
