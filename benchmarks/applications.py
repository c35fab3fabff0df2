"""Applications on people never seen in training: signatures, faces and handwriting, each
beside non-learned baselines and the shipped Omniglot model, on the same pairs.

**What.** For each application, on writers / people / characters held out from training,
in one run: ROC AUC and equal error rate (95% bootstrap intervals), false-accept and
false-reject rates at a learned model's own shipped threshold (95% Wilson intervals), and
N-way one-shot accuracy (Wilson). Every method sees the same pairs and episodes, drawn
once per run with the seed before any image is embedded:

- `pixels`, `hog`, `lbp`: the non-learned baselines of `benchmarks/baselines.py`
  (cosine distance; no threshold of their own, so no FAR / FRR).
- `omniglot`: the shipped model as it is (`siamese.load_model("omniglot")`), what a user
  would try first, at its shipped threshold.
- `model`: the application's own model, `--models-dir`/signatures.keras, faces.keras or
  omniglot.keras (the handwriting recipe's model), when the file exists (skipped with a note otherwise).

**Why.** A recipe earns its place only by beating features nobody trained and the model
a user already has. The verdict under each table says which learned model beats the best
baseline, and by how much; where one does not, the report has to say why.

**Protocols**: who is held out, and how pairs and episodes are drawn, are defined (and
described) in `benchmarks/application_data.py`, which the training recipes
(`benchmarks/train_applications.py`) share.

    python benchmarks/applications.py                    # all three, the baselines and every model found
    python benchmarks/applications.py --applications signatures --pairs 4000 --episodes 500
    python benchmarks/applications.py --quick            # a smoke run: small counts, one face split

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0. Results go to `results/benchmarks/applications.json` (written atomically).
"""

import argparse
import functools
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # its neighbours, when imported by path

from _common import describe_host, host  # noqa: E402
from application_data import APPLICATIONS, BUILDERS, DATA, REPO, Part, split_report  # noqa: E402

"""
## Parameters

The methods, and the counts of pairs, episodes, face splits and bootstrap resamples (a
`--quick` run takes the small ones).
"""

BASELINE_METHODS = ("pixels", "hog", "lbp")
METHODS = (*BASELINE_METHODS, "omniglot", "model")
PAIRS, EPISODES, FACE_SPLITS, RESAMPLES = 2000, 200, 3, 1000
QUICK = {"pairs": 200, "episodes": 20, "face_splits": 1, "resamples": 100}

"""
## Measuring a method on a part

Each image is embedded once; every pair set and episode reads the same table.
"""


def baseline_method(name: str):
    """(embed, distance, threshold) of a non-learned baseline: cosine, no threshold of its own."""
    from baselines import BASELINES, cosine_distance

    return BASELINES[name](), cosine_distance, None


def learned_method(path_or_name, cache: dict):
    """(embed, distance, threshold) of a saved model, loaded once per run."""
    if str(path_or_name) not in cache:
        import siamese

        cache[str(path_or_name)] = siamese.load_model(path_or_name)
    model = cache[str(path_or_name)]
    from siamese.data.faces import FaceLog

    # Batch work: a photo in which a face model finds no face is embedded whole (with a warning), not an error.
    return functools.partial(model.embed, faces=FaceLog()), model.distances, model.threshold


def measure(part: Part, embed, distance) -> dict:
    """Distances per pair set and one-shot (correct, queries) of one method on one part."""
    from siamese.evaluation import embed_images, score_episodes

    table = embed_images(part.images, embed)
    distances = {name: np.asarray(distance(table[f], table[s]), np.float64) for name, (f, s, _) in part.pairs.items()}
    accuracy = score_episodes(part.episodes, table, distance).accuracy
    return {"distances": distances, "correct": int(round(accuracy.value * accuracy.n)), "queries": accuracy.n}


"""
## Pooling and the figures

Parts of one table (the face splits) are pooled: their pairs are concatenated and their
one-shot answers added up. The intervals then treat the pooled pairs as independent, which
they are not quite (a person appears in several splits), so they are a little narrow. A
model trained per split (`faces-splitK.keras`) is pooled at each model's own threshold: its
distances minus its threshold, so the false accepts and rejects are those each model made.
"""


def figures(parts: list, measured: list, threshold, args) -> dict:
    from sklearn.metrics import roc_auc_score

    from siamese.evaluation import Estimate, proportion, verification_metrics

    out = {"pairs": {}, "splits": sorted({p.split for p in parts if p.split is not None})}
    for name in parts[0].pairs:
        d = np.concatenate([m["distances"][name] for m in measured])
        same = np.concatenate([p.pairs[name][2] for p in parts])
        metrics = verification_metrics(d, same, threshold=threshold, resamples=args.resamples, seed=args.seed)
        entry = metrics.to_dict()
        if metrics.true_accept_rate is not None:
            tar = metrics.true_accept_rate
            entry["false_reject_rate"] = Estimate(1 - tar.value, 1 - tar.high, 1 - tar.low, tar.n).to_dict()
        if len(parts) > 1:
            entry["auc_by_split"] = {
                str(p.split): float(roc_auc_score(p.pairs[name][2], -m["distances"][name]))
                for p, m in zip(parts, measured)
            }
        out["pairs"][name] = entry
    out["oneshot"] = proportion(sum(m["correct"] for m in measured), sum(m["queries"] for m in measured)).to_dict()
    out["oneshot"]["way"] = parts[0].about["way"]
    out["threshold"] = threshold
    return out


def run_table(table: str, parts: list, methods: list, args, cache: dict, notes: list) -> dict:
    """Every method on every part of one table; the application model only on the parts it
    was trained without (its file per part, see `Part.model`)."""
    results, done = {}, {}
    for method in methods:
        start = time.perf_counter()
        chosen = _parts_for(method, table, parts, notes)
        if not chosen:
            continue
        label = f"model {chosen[0].model.name}" if method == "model" else method
        measured, thresholds = [], []
        for part in chosen:
            if method in BASELINE_METHODS:
                embed, distance, threshold = baseline_method(method)
            else:
                embed, distance, threshold = learned_method("omniglot" if method == "omniglot" else part.model, cache)
            measured.append(measure(part, embed, distance))
            thresholds.append(threshold)
        threshold = _pool_own_thresholds(measured, thresholds)
        done[label] = dict(zip(map(id, chosen), measured))
        results[label] = {
            **figures(chosen, measured, threshold, args),
            "seconds": round(time.perf_counter() - start, 1),
            "thresholds": thresholds,
        }
    _add_baselines_on_the_same_splits(results, done, parts, args)
    return results


def _parts_for(method: str, table: str, parts: list, notes: list) -> list:
    """The parts a method is measured on: all of them, but for "model" those whose model
    file exists (none: a note says so)."""
    if method != "model":
        return parts
    chosen = [p for p in parts if p.model is not None and p.model.is_file()]
    if not chosen:
        notes.append(
            f"{table}: no application model ({', '.join(sorted({str(p.model) for p in parts}))} not found); skipped"
        )
    return chosen


def _pool_own_thresholds(measured: list, thresholds: list):
    """The threshold the pooled figures use: the one threshold, or, for a model per split each
    at its own, 0 after each part's distances are shifted by its own threshold (in place)."""
    if len(set(thresholds)) <= 1:
        return thresholds[0]
    for result, own in zip(measured, thresholds):
        result["distances"] = {name: d - own for name, d in result["distances"].items()}
    return 0.0


def _add_baselines_on_the_same_splits(results: dict, done: dict, parts: list, args) -> None:
    """A model measured on some splits only is set beside the baselines on those splits."""
    for label, by_part in done.items():
        if label not in BASELINE_METHODS and len(by_part) < len(parts):
            own = [p for p in parts if id(p) in by_part]
            results[label]["baselines_on_the_same_splits"] = {
                b: figures(own, [done[b][id(p)] for p in own], None, args) for b in BASELINE_METHODS if b in done
            }


"""
## The report: a table per pair set, and a verdict per learned model
"""


def _cell(entry, digits=3) -> str:
    if not entry:
        return "-"
    return f"{entry['value']:.{digits}f} [{entry['low']:.{digits}f}, {entry['high']:.{digits}f}]"


def markdown(table: str, about: dict, results: dict) -> str:
    """One table per pair set: a row per method, then the AUC by split and the verdicts."""
    lines = []
    first = next(iter(results.values()))
    for pair_set in first["pairs"]:
        counts, way = first["pairs"][pair_set], first["oneshot"]["way"]
        lines += [
            f"### {table}: {pair_set}",
            "",
            f"{counts['same_pairs']} same + {counts['different_pairs']} different pairs; "
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in about.items()),
            "",
            f"| method | AUC [95%] | EER [95%] | FAR @thr | FRR @thr | {way}-way accuracy [95%] |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for method, result in results.items():
            entry = result["pairs"][pair_set]
            lines.append(
                f"| {_method_label(method, result, first)} | {_cell(entry['auc'])} | {_cell(entry['eer'])} | "
                f"{_cell(entry['false_accept_rate'])} | {_cell(entry.get('false_reject_rate'))} | {_cell(result['oneshot'])} |"
            )
        lines += [*_auc_by_split(results, pair_set), "", *verdicts(results, pair_set), ""]
    return "\n".join(lines)


def _method_label(method: str, result: dict, first: dict) -> str:
    """The method with its threshold(s), and the splits it saw when not all of them."""
    own = sorted(set(result.get("thresholds", [])))
    if result["threshold"] is None:
        label = method
    elif len(own) > 1:
        label = f"{method} (thr {' / '.join(f'{t:.3f}' for t in result['thresholds'])}, each split at its own)"
    else:
        label = f"{method} (thr {result['threshold']:.3f})"
    if result["splits"] and len(result["splits"]) < len(first["splits"] or []):
        label += f" (split {', '.join(map(str, result['splits']))} only)"
    return label


def _auc_by_split(results: dict, pair_set: str) -> list:
    by_split = {
        m: r["pairs"][pair_set].get("auc_by_split")
        for m, r in results.items()
        if r["pairs"][pair_set].get("auc_by_split")
    }
    if not by_split:
        return []
    return [
        "",
        "AUC by split: " + "; ".join(f"{m} " + " / ".join(f"{v:.3f}" for v in s.values()) for m, s in by_split.items()),
    ]


def _compare(what: str, mine: dict, theirs: dict, name: str) -> str:
    if mine["low"] > theirs["high"]:
        word = "above"
    elif mine["value"] > theirs["value"]:
        word = "above, intervals overlapping,"
    elif mine["high"] < theirs["low"]:
        word = "BELOW"
    else:
        word = "below, intervals overlapping,"
    return f"{what} {mine['value']:.3f}, {word} {name} {theirs['value']:.3f}"


def verdicts(results: dict, pair_set: str) -> list:
    """One line per learned model: does it beat the best baseline on AUC and on one-shot
    accuracy? A model measured on some splits only is set beside the baselines on those."""
    lines = []
    for method, result in results.items():
        if method in BASELINE_METHODS:
            continue
        baselines = result.get("baselines_on_the_same_splits") or {
            m: r for m, r in results.items() if m in BASELINE_METHODS
        }
        if not baselines:
            continue
        best_auc = max(baselines, key=lambda m: baselines[m]["pairs"][pair_set]["auc"]["value"])
        best_way = max(baselines, key=lambda m: baselines[m]["oneshot"]["value"])
        auc, way = result["pairs"][pair_set]["auc"], result["oneshot"]
        theirs_auc, theirs_way = baselines[best_auc]["pairs"][pair_set]["auc"], baselines[best_way]["oneshot"]
        beats = auc["value"] > theirs_auc["value"] and way["value"] > theirs_way["value"]
        where = f" on split {', '.join(map(str, result['splits']))}" if "baselines_on_the_same_splits" in result else ""
        lines.append(
            f"- {method} {'beats' if beats else 'does NOT beat'} the baselines{where}: "
            f"{_compare('AUC', auc, theirs_auc, best_auc)}; {_compare('one-shot', way, theirs_way, best_way)}"
        )
    return lines


"""
## The run
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", nargs="+", choices=APPLICATIONS, default=list(APPLICATIONS))
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        help="model = the application's own model file, when present",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    parser.add_argument(
        "--models-dir", type=Path, default=REPO / "models", help="where signatures.keras, faces.keras, ... are"
    )
    parser.add_argument("--pairs", type=int, help=f"pairs per pair set, half same (default {PAIRS})")
    parser.add_argument(
        "--episodes",
        type=int,
        help=f"one-shot episodes per part (default {EPISODES}; the Omniglot runs are always the 20 official ones)",
    )
    parser.add_argument(
        "--face-splits", type=int, help=f"person-disjoint face splits, seeds 0.. (default {FACE_SPLITS})"
    )
    parser.add_argument(
        "--resamples", type=int, help=f"bootstrap resamples for the AUC and EER intervals (default {RESAMPLES})"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the pairs, episodes and bootstraps (not the splits)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: " + ", ".join(f"{k} {v}" for k, v in QUICK.items())
    )
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "applications.json")
    args = parser.parse_args(argv)
    args.command = " ".join(["python benchmarks/applications.py", *(sys.argv[1:] if argv is None else argv)])
    for key, default in (
        ("pairs", PAIRS),
        ("episodes", EPISODES),
        ("face_splits", FACE_SPLITS),
        ("resamples", RESAMPLES),
    ):
        if getattr(args, key) is None:
            setattr(args, key, QUICK[key] if args.quick else default)
        if getattr(args, key) < (10 if key == "resamples" else 1):
            parser.error(
                f"--{key.replace('_', '-')} must be at least {10 if key == 'resamples' else 1}, got {getattr(args, key)}"
            )
    return args


def run(args, info: dict | None = None) -> dict:
    """Every chosen application: draw its parts, measure every method, return the report's data."""
    cache = {}
    report = {
        "host": info or host(),
        "command": args.command,
        "seed": args.seed,
        "pairs": args.pairs,
        "episodes": args.episodes,
        "face_splits": args.face_splits,
        "resamples": args.resamples,
        "applications": {},
        "splits": {},
    }
    for application in args.applications:
        parts = BUILDERS[application](args.data, args)
        if not parts:
            print(f"\n## {application}: skipped, its data is not under {args.data}")
            continue
        report["splits"].update(split_report(application, args))
        report["applications"][application] = run_application(parts, args, cache)
    for (
        name,
        model,
    ) in cache.items():  # what the learned models were, threshold and preprocessing (its `invert`) included
        report.setdefault("models", {})[name] = {
            "threshold": model.threshold,
            "distance": model.distance_name,
            "preprocessing": model.preprocessing.to_dict(),
            "model_id": model.model_id,
        }
    return report


def run_application(parts: list, args, cache: dict) -> dict:
    """One application's tables (a table per data set, its face splits pooled), printed as
    they are done, and the notes on what was skipped."""
    notes, tables = [], {}
    for table in dict.fromkeys(p.table for p in parts):
        chosen = [p for p in parts if p.table == table]
        about = {**chosen[0].about, "parts": len(chosen)} if len(chosen) > 1 else chosen[0].about
        results = run_table(table, chosen, args.methods, args, cache, notes)
        tables[table] = {"about": about, "methods": results}
        if results:
            print("\n" + markdown(table, about, results))
    for note in notes:
        print(f"note: {note}")
    return {"tables": tables, "notes": notes}


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: the shared data is not here ({args.data})")
        return 0
    info = host()
    print(f"# Applications on unseen people\n\nhost: {describe_host(info)}")
    print(
        f"pairs {args.pairs} per set, episodes {args.episodes}, face splits {args.face_splits}, seed {args.seed}, "
        f"methods {' '.join(args.methods)}"
    )
    start = time.perf_counter()
    report = run(args, info)
    report["seconds"] = round(time.perf_counter() - start, 1)
    from siamese.files import write_json

    print(f"\nresults: {write_json(args.out, report)} ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
