"""Omniglot 20-way one-shot classification: the package's recipe on the official 20 runs.

**What.** Train a Siamese network with `siamese.training.train` on Omniglot's background
alphabets, then score the 20 official one-shot runs of Lake et al. (2015): each of 400 test
characters must be matched to the one image of its character among 20 candidates from
the same (never seen) alphabet. The accuracy is printed beside the published figures.

**Why.** It is the benchmark the Siamese approach is known by (Koch et al. 2015), and it
measures what a one-shot model is for: telling apart classes it has never seen, from a
single example each.

**Protocol** (as in the literature, see Lake et al. 2015): train only on the background set
(`--setting minimal`: `images_background_small1.zip` + `small2.zip`, 10 alphabets;
`--setting full`: `images_background.zip`, 30 alphabets). `train` holds out whole
background alphabets as validation and keeps the epoch with the best validation AUC;
hyperparameters are chosen on those validation alphabets only. Each seed's model answers
100 runs drawn as the official ones are (20 characters of one alphabet) from the alphabets
its training held out: the official runs are a small, easy sample, and a gain should show
on both. Pass several candidate configs (`--config '[{...}, {...}]'`) and the one that does
best on those drawn runs (then by validation AUC) is kept; `--choose-only` stops there,
leaving the official runs unlooked at. The runs are scored once, at the end, for the chosen
config; they play no part in any choice. Models are named by their config's digest and seed,
so a later run of the same config (scoring a chosen one, or after a crash) reuses them.
A candidate `{"ensemble": [config, ...]}` joins its members' models into one network whose
distance is the mean of theirs (`siamese.model.ensemble`); its time and size are the sums.

    python benchmarks/omniglot_oneshot.py --setting minimal
    python benchmarks/omniglot_oneshot.py --setting full --seeds 0 1 2 --epochs 40
    python benchmarks/omniglot_oneshot.py --config '{"image_size": [48, 48], "margin": 0.5}'
    python benchmarks/omniglot_oneshot.py --setting full --choose-only --config '[{...}, {...}]'
    python benchmarks/omniglot_oneshot.py --setting full --config '{"ensemble": [{}, {"loss": "multi_similarity"}]}'
    python benchmarks/omniglot_oneshot.py --epochs 1 --steps 5      # a smoke test

The data is read from `../shared/data/omniglot/` beside the repository; without it the
script says so and exits 0.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

"""
## Parameters

The data's place, the two training settings, the figures published on the same 20 runs,
and the recipe's defaults for this benchmark (anything in `TrainConfig` may be overridden
with `--config`).
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "omniglot"
SETTINGS = {
    "minimal": ["images_background_small1.zip", "images_background_small2.zip"],
    "full": ["images_background.zip"],
}
RUNS = "all_runs.zip"
VALIDATION_EPISODES = 100  # 20-way runs drawn from the held-out alphabets: 2,000 trials
PUBLISHED = [  # 20-way one-shot accuracy on the same 20 runs, in percent
    ("people (Lake et al. 2015)", 95.5),
    ("Bayesian program learning (Lake et al. 2015)", 96.7),
    ("Siamese convnet (Koch et al. 2015, full background set)", 92.0),
    ("plain convnet (Lake et al. 2015)", 86.5),
]
RECIPE = {  # the package's defaults, with Omniglot's own choices spelled out
    "rotated_classes": True,  # a character turned by 90 degrees is another character
    "epochs": 30,
    "steps_per_epoch": 100,
    "split_by_group": True,  # validation = whole held-out background alphabets
    "validation_fraction": 0.2,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="minimal", help="training set (default minimal)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one training per seed (default 0)")
    parser.add_argument("--epochs", type=int, help=f"epochs (default {RECIPE['epochs']})")
    parser.add_argument("--steps", type=int, help=f"batches per epoch (default {RECIPE['steps_per_epoch']})")
    parser.add_argument("--image-size", type=int, help="square input size (default: TrainConfig's)")
    parser.add_argument(
        "--config",
        default=None,
        help="TrainConfig overrides as JSON: an object, or a list of objects to choose from on validation",
    )
    parser.add_argument(
        "--choose-only",
        action="store_true",
        help="train and judge the candidates on validation alphabets only; leave the official runs unscored",
    )
    parser.add_argument(
        "--data", type=Path, default=DATA, help="folder holding the Omniglot zips (default ../shared/data/omniglot)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for models and summary.json (default: results/omniglot-oneshot-SETTING)",
    )
    return parser.parse_args()


def candidate_configs(args) -> list[dict]:
    """The recipe with the command line's overrides, once per candidate in --config."""
    base = dict(RECIPE)
    for key, value in (("epochs", args.epochs), ("steps_per_epoch", args.steps)):
        if value is not None:
            base[key] = value
    if args.image_size is not None:
        base["image_size"] = [args.image_size, args.image_size]
    try:
        extra = json.loads(args.config) if args.config else [{}]
    except json.JSONDecodeError as error:
        raise SystemExit(f"omniglot_oneshot.py: error: --config is not JSON ({error})") from None
    extra = extra if isinstance(extra, list) else [extra]
    if not extra or not all(isinstance(candidate, dict) for candidate in extra):
        raise SystemExit("omniglot_oneshot.py: error: --config must be a JSON object or a non-empty list of objects")
    candidates = [_candidate(base, candidate) for candidate in extra]
    from siamese.training import TrainConfig

    for candidate in candidates:  # a typo or a bad value fails now, not after an hour of training
        configs = []
        for member in candidate.get("ensemble", [candidate]):
            try:
                configs.append(TrainConfig.from_settings(**member))
            except (TypeError, ValueError) as error:
                raise SystemExit(f"omniglot_oneshot.py: error: --config {json.dumps(member)}: {error}") from None
        if len({c.preprocessing for c in configs}) > 1:
            raise SystemExit(
                "omniglot_oneshot.py: error: an ensemble's members must read images alike (the same preprocessing): "
                f"{json.dumps(candidate['ensemble'])}"
            )
    return candidates


def _candidate(base: dict, candidate: dict) -> dict:
    """One config over the base, or an ensemble: `{"ensemble": [{...}, {...}]}`, each member a
    config over the base (`siamese.model.ensemble`: the mean of the members' cosine distances)."""
    if "ensemble" not in candidate:
        return {**base, **candidate}
    members = candidate["ensemble"]
    if (
        set(candidate) != {"ensemble"}
        or not isinstance(members, list)
        or len(members) < 2
        or not all(isinstance(m, dict) for m in members)
    ):
        raise SystemExit(
            'omniglot_oneshot.py: error: an ensemble is {"ensemble": [config, config, ...]}, 2 or more configs and nothing else'
        )
    return {"ensemble": [{**base, **member} for member in members]}


def split_config(candidate: dict) -> dict:
    """The config that says which alphabets were held out (an ensemble's members share it)."""
    return candidate["ensemble"][0] if "ensemble" in candidate else candidate


def _digest(overrides: dict, seed: int) -> str:
    import hashlib

    return hashlib.sha256(json.dumps({**overrides, "seed": seed}, sort_keys=True).encode()).hexdigest()[:10]


def fit_candidate(data: list, candidate: dict, seed: int, out: Path):
    """`train_once` for a config, `ensemble_once` for an ensemble."""
    return (
        ensemble_once(data, candidate, seed, out) if "ensemble" in candidate else train_once(data, candidate, seed, out)
    )


def train_once(data: list, overrides: dict, seed: int, out: Path):
    """Train one model, or reuse the one an earlier run of the same config and seed left in `out`
    (its name is the config's digest, so choosing, then scoring, trains each model once).
    Returns (model path, validation metrics, seconds, parameters)."""
    import dataclasses

    from siamese.training import TrainConfig, train
    from siamese.training.run_folder import RunFolder

    config = TrainConfig.from_settings(**{**overrides, "seed": seed})
    digest = _digest(overrides, seed)
    model_path, folder = out / f"{digest}.keras", RunFolder(out / digest)
    if model_path.is_file() and folder.metrics.is_file() and folder.config.is_file():
        saved = folder.read().config
        reading = dataclasses.replace(saved.preprocessing, invert=config.preprocessing.invert)  # as decided
        if dataclasses.replace(saved, preprocessing=reading) == config:
            metrics = json.loads(folder.metrics.read_text())
            print(f"  reusing {model_path} (trained earlier with the same config and seed)")
            return model_path, metrics, metrics["train_seconds"], metrics["parameters"]
    result = train(data, model_path=model_path, config=config, results_dir=folder.path, verbose=2)
    return result.model_path, result.metrics, result.seconds, result.metrics["parameters"]


def ensemble_once(data: list, candidate: dict, seed: int, out: Path):
    """Train (or reuse) each member, then join them into one network; its threshold is fitted
    to the validation pairs training uses, and its time and parameters are the members' sums."""
    from siamese.data import PairSampler, Preprocessing, load_dataset, split_by_class
    from siamese.model import load_network, save_network
    from siamese.model.ensemble import ensemble_network
    from siamese.training import TrainConfig
    from siamese.training.callbacks import PairValidation

    trained = [train_once(data, member, seed, out) for member in candidate["ensemble"]]
    network = ensemble_network([load_network(path) for path, *_ in trained])
    split = TrainConfig.from_settings(**{**split_config(candidate), "seed": seed}).validation
    _, held_out = split_by_class(
        load_dataset(data), split.validation_fraction, by_group=split.split_by_group, seed=seed
    )
    pairs = PairSampler(split.validation_pairs, same_group_negatives=True, seed=seed).sample(held_out)
    metrics = PairValidation(network, held_out.load(Preprocessing.from_dict(network.preprocessing)), pairs).evaluate()
    network.threshold = metrics["val_threshold"]
    path = save_network(network, out / f"{_digest(candidate, seed)}.keras")
    seconds, parameters = sum(t[2] for t in trained), sum(t[3] for t in trained)
    members = ", ".join(f"{t[1]['val_auc']:.4f}" for t in trained)
    print(f"  ensemble of {len(trained)}: validation AUC {metrics['val_auc']:.4f} (members {members}); {path}")
    return path, {**metrics, "train_seconds": seconds, "parameters": parameters}, seconds, parameters


def validation_runs(data: list, overrides: dict, seed: int, model, episodes: int = VALIDATION_EPISODES):
    """20-way one-shot runs drawn as the official ones are (20 characters of one alphabet, one
    drawing each as the support, another as the test) from the background alphabets this
    seed's training held out: the figure to choose on, and a check that a gain on the 20
    official runs (a small, easy sample) is not luck."""
    from siamese.data import load_dataset, split_by_class
    from siamese.evaluation.fewshot import EpisodeSampler, default_way, score_episodes
    from siamese.training import TrainConfig

    split = TrainConfig.from_settings(**{**overrides, "seed": seed}).validation
    _, held_out = split_by_class(
        load_dataset(data), split.validation_fraction, by_group=split.split_by_group, seed=seed
    )
    way = default_way(held_out, within_group=True)
    sampler = EpisodeSampler(way, 1, episodes=episodes, within_group=True, seed=seed)
    drawn = sampler.sample(held_out)
    used = np.unique(np.concatenate([index for e in drawn for index in (e.support.ravel(), e.queries)]))
    embeddings = np.zeros((len(held_out), model.embedding_dim), np.float32)
    embeddings[used] = model.embed([held_out.image(int(i), model.preprocessing.channels) for i in used])
    return score_episodes(drawn, embeddings, model.distances, within_group=True)


def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    candidates = candidate_configs(args)
    data = [args.data / name for name in SETTINGS[args.setting]]
    runs_path = args.data / RUNS if (args.data / RUNS).is_file() else REPO / "dataset" / RUNS
    missing = [str(p) for p in data if not p.is_file()]
    if missing:
        print(f"skipped: the Omniglot data is not here ({', '.join(missing)})")
        return 0
    from siamese.evaluation import read_oneshot_runs

    runs = read_oneshot_runs(runs_path)  # a bad runs file fails now, not after the training
    out = args.out or REPO / "results" / f"omniglot-oneshot-{args.setting}"
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"setting {args.setting}: training on {', '.join(p.name for p in data)}; "
        f"{len(candidates)} candidate config(s), seeds {args.seeds}; models in {out}"
    )
    chosen, tried = choose(candidates, data, args, out)
    print(f"chosen config: {json.dumps(chosen, sort_keys=True)}")
    if args.choose_only:
        from siamese.files import write_json

        write_json(out / "candidates.json", tried)
        print(f"  --choose-only: the official runs are left unscored; candidates in {out / 'candidates.json'}")
        return 0
    rows = score_seeds(chosen, data, runs, args.seeds, out)
    summarise(rows, chosen, tried, args.setting, runs_path, out)
    return 0


"""
## Choosing the config on validation alphabets

Training uses the background alphabets only; the runs come from the evaluation alphabets,
which nothing in training touches (missing data is not an error here: the benchmark is
skipped with a message). With several candidates, each is trained with the first seed and
judged on the held-out background alphabets: by its accuracy on the runs drawn from them
(the figure the goal is stated in), then by its ROC AUC there; the official runs are not
looked at.
"""


def choose(candidates: list, data: list, args, out: Path) -> tuple:
    """(the chosen candidate, what each candidate scored); the first one when there is only one
    and nothing asks for a choice."""
    from siamese.inference import load_model

    if len(candidates) == 1 and not args.choose_only:
        return candidates[0], []
    scored, tried = [], []
    for candidate in candidates:
        trained = fit_candidate(data, candidate, args.seeds[0], out)
        drawn = validation_runs(data, split_config(candidate), args.seeds[0], load_model(trained[0])).accuracy.value
        scored.append(((drawn, trained[1]["val_auc"]), candidate, trained))
        tried.append(
            {
                "config": candidate,
                "validation_runs": drawn,
                "val_auc": trained[1]["val_auc"],
                "train_seconds": trained[2],
                "parameters": trained[3],
            }
        )
        print(
            f"  runs drawn from the validation alphabets {100 * drawn:.1f}%, validation AUC {trained[1]['val_auc']:.4f}, "
            f"{trained[2]:.0f} s training, {trained[3]:,} parameters  {json.dumps(candidate, sort_keys=True)}"
        )
    _, chosen, _ = max(scored, key=lambda item: item[0])
    return chosen, tried


"""
## Training per seed, and the one look at the runs

Every seed trains the chosen config from scratch; each model then answers the 400 trials
once. A trial's pick is the training image at the smallest distance.
"""


def score_seeds(chosen: dict, data: list, runs, seeds: list, out: Path) -> list:
    """One row per seed: its accuracy on the official runs and on runs drawn from its
    validation alphabets, its validation AUC, time and size."""
    from siamese.evaluation import score_oneshot_runs
    from siamese.inference import load_model

    rows = []
    for seed in seeds:
        start = time.perf_counter()
        model_path, validation, seconds, parameters = fit_candidate(data, chosen, seed, out)
        model = load_model(model_path)
        result = score_oneshot_runs(runs, model.embed, model.distances, channels=model.preprocessing.channels)
        drawn = validation_runs(data, split_config(chosen), seed, model)
        rows.append(
            {
                "seed": seed,
                "accuracy": result.accuracy.value,
                "low": result.accuracy.low,
                "high": result.accuracy.high,
                "val_auc": validation["val_auc"],
                "train_seconds": seconds,
                "parameters": parameters,
                "per_run": [e.value for e in result.per_run],
                "validation_runs": drawn.accuracy.value,
                "validation_runs_low": drawn.accuracy.low,
                "validation_runs_high": drawn.accuracy.high,
            }
        )
        print(
            f"seed {seed}: one-shot accuracy {100 * result.accuracy.value:.1f}% "
            f"[{100 * result.accuracy.low:.1f}, {100 * result.accuracy.high:.1f}] over {result.accuracy.n} trials "
            f"(validation AUC {validation['val_auc']:.4f}, {seconds:.0f} s training, {time.perf_counter() - start:.0f} s in all); "
            f"runs drawn from the validation alphabets {100 * drawn.accuracy.value:.1f}% "
            f"[{100 * drawn.accuracy.low:.1f}, {100 * drawn.accuracy.high:.1f}] over {drawn.accuracy.n} trials"
        )
    return rows


"""
## Summary

Ours beside the published figures on the same 20 runs. With several seeds, the mean and the
standard deviation over seeds; the bracket is the 95% Wilson interval of one seed's 400
trials, which is how far a single result can move by the luck of the trials alone.
"""


def summarise(rows: list, chosen: dict, tried: list, setting: str, runs_path: Path, out: Path) -> None:
    from siamese.files import write_json

    accuracies = [100 * r["accuracy"] for r in rows]
    mean = statistics.mean(accuracies)
    spread = f" +/- {statistics.stdev(accuracies):.1f} (sd over {len(rows)} seeds)" if len(rows) > 1 else ""
    single = f" [{100 * rows[0]['low']:.1f}, {100 * rows[0]['high']:.1f}]" if len(rows) == 1 else ""
    ours = f"this package, {setting} setting"
    width = max(len(name) for name, _ in PUBLISHED + [(ours, 0)])
    print("\n20-way one-shot classification, Omniglot, 20 official runs (400 trials)")
    for name, value in PUBLISHED:
        print(f"  {name:<{width}}  {value:5.1f}%")
    print(f"  {ours:<{width}}  {mean:5.1f}%{single}{spread}")
    drawn = [100 * r["validation_runs"] for r in rows]
    drawn_spread = f" +/- {statistics.stdev(drawn):.1f}" if len(rows) > 1 else ""
    print(
        f"  runs drawn the same way from each seed's validation alphabets: {statistics.mean(drawn):.1f}%{drawn_spread}"
    )
    print(
        f"  training time {statistics.mean(r['train_seconds'] for r in rows):.0f} s per seed, "
        f"{rows[0]['parameters']:,} parameters, config {json.dumps(chosen, sort_keys=True)}"
    )
    summary = write_json(
        out / "summary.json",
        {
            "setting": setting,
            "config": chosen,
            "candidates": tried,
            "runs": str(runs_path),
            "mean_accuracy": mean / 100,
            "seeds": rows,
            "published": {name: value / 100 for name, value in PUBLISHED},
        },
    )
    print(f"  summary: {summary}")


if __name__ == "__main__":
    sys.exit(main())
