"""Open-set identification of faces: are strangers answered "unknown" as the gallery grows?

**What.** The shipped `faces` model in a gallery of people enrolled from one photo each,
decided three ways at each gallery size:

- `pair threshold`: the model's threshold for two photos (what every gallery used before).
- `open-set nearest`: `siamese.training.OpenSetCalibrator(0.01, rule="nearest")`: the
  nearest distance against a threshold fitted for 1% of strangers named at that size.
- `open-set runner-up`: the calibrator's default (`rule="best"`), what
  `siamese calibrate --objective fpir` stores: d1 - w * d2 against a threshold, w and the
  threshold fitted for 1% of strangers named at that size.

and, for what the embedding itself allows, `best on the test people`: the nearest rule and
the runner-up rule (best w of 0, 0.1, ... 1) with the threshold that names exactly 1% of
these test strangers (chosen on the test people: not a usable rule, a ceiling).

**Protocol.** `celeba-faces-dev` split by person as `benchmarks/faces.py` splits it (SHA-256
of "<seed>:<id>", halves): the calibrator is fitted on the 477 calibration people (one photo
of each enrolled, seeded; every photo a stranger to the others); every figure is on the 478
test people. The test people are cut into five folds; in turn each fold's people are the
strangers (every photo of theirs a query) and the other four folds' people are enrolled
(one photo each, seeded; their other photos are the known queries); counts are pooled over
the five turns, so every test photo is a stranger query once. Sizes: 100 (100 of the
enrolled people drawn), all of them (about 382), and 1,000 and 100,000 where the gallery
holds the real enrolled people plus synthetic ones: embeddings drawn from a normal
distribution with the mean and covariance of the enrolled photos' embeddings (the real
people of that turn; never a stranger's), one per synthetic person. Rank-1: a known query's
nearest is its own person; FNIR: known queries not named right; FPIR: strangers named.
`--synthetic-check` also scores the real-size gallery made of synthetic people only, to see
how a synthetic person compares with a real one as a distractor.

    python benchmarks/open_set.py                 # the whole protocol
    python benchmarks/open_set.py --largest 10000 # a quicker run

Embeddings are cached in `results/cache/` (a rerun reads them); results go to
`results/benchmarks/open_set.json`. Without `../shared/data/celeba-faces-dev` it says so and exits 0.
"""

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import describe_host, host  # noqa: E402
from application_data import DATA, REPO  # noqa: E402
from faces import CELEBA, celeba_people  # noqa: E402

FOLDS, TARGET, WEIGHTS = 5, 0.01, np.round(np.arange(0.0, 1.01, 0.1), 2)
BLOCK = 20_000  # synthetic people scored at a time


def celeba_embeddings(data: Path, model, cache: Path) -> dict:
    """{person: embeddings (photos, d)} of every celeba-faces-dev person, cached in `cache`
    (an .npz named by the model's id: a rerun reads it)."""
    from siamese.data.faces import FaceLog

    people = sorted(p.name for p in (data / CELEBA).iterdir() if p.is_dir())
    path = cache / f"celeba-{model.model_id[:12]}.npz"
    if path.is_file():
        stored = np.load(path)
        return {person: stored[person] for person in people}
    photos = [sorted((data / CELEBA / p).glob("*.jpg")) for p in people]
    embeddings = model.embed([photo for folder in photos for photo in folder], faces=FaceLog(keep_faceless=True))
    found = dict(zip(people, np.split(embeddings, np.cumsum([len(folder) for folder in photos])[:-1])))
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **found)
    return found


def stack(found: dict, people: list) -> tuple:
    """(embeddings, labels: the person's position in `people`)."""
    embeddings = np.concatenate([found[p] for p in people]).astype(np.float64)
    return embeddings, np.concatenate([[i] * len(found[p]) for i, p in enumerate(people)])


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) distances, as the faces model measures them."""
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def nearest_two(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """(len(queries), 2): the two smallest distances to `gallery`, in blocks."""
    best = np.full((len(queries), 2), np.inf)
    for start in range(0, len(gallery), BLOCK):
        d = np.concatenate([best, euclidean(queries, gallery[start : start + BLOCK])], axis=1)
        best = np.sort(np.partition(d, 1, axis=1)[:, :2], axis=1)
    return best


def calibrate(found: dict, people: list, seed: int) -> dict:
    from siamese.training import OpenSetCalibrator, enrol_one_each

    embeddings, labels = stack(found, people)
    enrolled = enrol_one_each(labels, seed=seed)
    distances = euclidean(embeddings, embeddings[enrolled])
    return {
        rule: OpenSetCalibrator(TARGET, rule=rule, seed=seed).fit(distances, labels, labels[enrolled]).point_
        for rule in ("nearest", "best")
    }


"""
## One turn: a fold of strangers, the rest enrolled

For each query: whether its nearest identity is its own (known queries), and its nearest two
distances to other people (d1, d2 of a stranger; for a known query, its own distance and the
nearest other person's, which decide whether it is named right).
"""


def turn(embeddings, labels, fold_of, fold: int, size, rng) -> dict:
    """The d1, d2 of strangers and known queries for a gallery of `size` people (real first, then
    synthetic; None: the real ones alone)."""
    people = np.unique(labels[fold_of[labels] != fold])
    size = len(people) if size is None else size
    chosen = people if size >= len(people) else rng.choice(people, size, replace=False)
    enrolled = np.array([rng.choice(np.flatnonzero(labels == p)) for p in chosen])
    gallery, gallery_labels = embeddings[enrolled], labels[enrolled]
    strangers = np.flatnonzero(fold_of[labels] == fold)
    known = np.setdiff1d(np.flatnonzero(np.isin(labels, chosen)), enrolled)
    stranger_d = np.sort(euclidean(embeddings[strangers], gallery), axis=1)[:, :2]
    to_gallery = euclidean(embeddings[known], gallery)
    own = gallery_labels[None, :] == labels[known][:, None]
    genuine = np.min(np.where(own, to_gallery, np.inf), axis=1)
    others = np.sort(np.where(own, np.inf, to_gallery), axis=1)[:, :2]
    extra = size - len(chosen)
    if extra > 0:  # synthetic people: the normal of the enrolled photos' embeddings
        real = embeddings[np.isin(labels, chosen)]
        synthetic = rng.multivariate_normal(real.mean(0), np.cov(real, rowvar=False), size=extra)
        stranger_d = np.sort(np.concatenate([stranger_d, nearest_two(embeddings[strangers], synthetic)], 1), 1)[:, :2]
        others = np.sort(np.concatenate([others, nearest_two(embeddings[known], synthetic)], 1), 1)[:, :2]
    return {"stranger": stranger_d, "genuine": genuine, "others": others, "size": len(chosen) + max(extra, 0)}


class Fixed:
    """A threshold that is the same at every size: the pair threshold."""

    def __init__(self, threshold: float):
        self.value = threshold

    def threshold(self, size: int, runner_up=None) -> float:
        return self.value

    def to_dict(self) -> dict:
        return {"threshold": self.value}


def decide(point, d1: np.ndarray, d2: np.ndarray, size: int) -> np.ndarray:
    return d1 <= np.array([point.threshold(size, runner_up) for runner_up in d2])


def score(turns: list, methods: dict) -> dict:
    """Rank-1, FNIR and FPIR of each method pooled over the turns, and the ceilings."""
    from siamese.evaluation import proportion

    stranger = np.concatenate([t["stranger"] for t in turns])
    genuine = np.concatenate([t["genuine"] for t in turns])
    others = np.concatenate([t["others"] for t in turns])
    right = genuine < others[:, 0]
    result = {
        "sizes": sorted({t["size"] for t in turns}),
        "rank1": proportion(int(right.sum()), len(right)).to_dict(),
        "stranger_d1_median": float(np.median(stranger[:, 0])),
    }
    for name, point in methods.items():
        named = np.concatenate([decide(point, t["stranger"][:, 0], t["stranger"][:, 1], t["size"]) for t in turns])
        hits = right & np.concatenate([decide(point, t["genuine"], t["others"][:, 0], t["size"]) for t in turns])
        result[name] = {
            "fpir": proportion(int(named.sum()), len(named)).to_dict(),
            "fnir": proportion(int((~hits).sum()), len(hits)).to_dict(),
        }
    for rule, weights in (("best nearest on the test people", [0.0]), ("best runner-up on the test people", WEIGHTS)):
        fnirs = []
        for w in weights:
            threshold = np.quantile(stranger[:, 0] - w * stranger[:, 1], TARGET)
            fnirs.append((float(1 - np.mean(right & (genuine - w * others[:, 0] <= threshold))), float(w)))
        result[rule] = {"fnir": min(fnirs)[0], "weight": min(fnirs)[1]}
    return result


def synthetic_check(embeddings, labels, fold_of, methods: dict, rng) -> dict:
    """Strangers against the real enrolled people of each turn, and against as many synthetic ones."""
    from siamese.evaluation import proportion

    rows = {"real": [], "synthetic": []}
    for fold in range(FOLDS):
        people = np.unique(labels[fold_of[labels] != fold])
        enrolled = np.array([rng.choice(np.flatnonzero(labels == p)) for p in people])
        real = embeddings[np.isin(labels, people)]
        synthetic = rng.multivariate_normal(real.mean(0), np.cov(real, rowvar=False), size=len(people))
        strangers = embeddings[fold_of[labels] == fold]
        rows["real"].append((nearest_two(strangers, embeddings[enrolled]), len(people)))
        rows["synthetic"].append((nearest_two(strangers, synthetic), len(people)))
    result = {}
    for kind, found in rows.items():
        d = np.concatenate([f for f, _ in found])
        result[kind] = {"stranger_d1_median": float(np.median(d[:, 0]))}
        for name, point in methods.items():
            named = np.concatenate([decide(point, f[:, 0], f[:, 1], size) for f, size in found])
            result[kind][name] = proportion(int(named.sum()), len(named)).to_dict()
    return result


def table(results: list, names: list) -> str:
    lines = [
        "| enrolled | rank-1 | "
        + " | ".join(f"{n}: FNIR / FPIR" for n in names)
        + " | ceiling: nearest / runner-up FNIR |",
        "|---|---:|" + "---:|" * len(names) + "---:|",
    ]
    for row in results:
        cells = [f"{row[n]['fnir']['value']:.1%} / {row[n]['fpir']['value']:.2%}" for n in names]
        ceiling = (
            f"{row['best nearest on the test people']['fnir']:.1%} / {row['best runner-up on the test people']['fnir']:.1%}"
            f" (w {row['best runner-up on the test people']['weight']})"
        )
        size = (
            "-".join(f"{s:,}" for s in (row["sizes"][0], row["sizes"][-1]))
            if len(row["sizes"]) > 1
            else f"{row['sizes'][0]:,}"
        )
        lines.append(f"| {size} | {row['rank1']['value']:.1%} | " + " | ".join(cells) + f" | {ceiling} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=REPO / "results" / "cache")
    parser.add_argument("--largest", type=int, default=100_000, help="the largest gallery (synthetic people added)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "open_set.json")
    args = parser.parse_args(argv)
    if not (args.data / CELEBA).is_dir():
        print(f"{args.data / CELEBA}: not found; this benchmark reads ../shared/data beside the repository")
        return 0
    from siamese import load_model
    from siamese.files import write_json

    logging.getLogger("siamese").setLevel(logging.ERROR)
    print(describe_host())
    model = load_model("faces")
    found = celeba_embeddings(args.data, model, args.cache)
    calibration, test = celeba_people(args.data, args.seed)
    fitted = calibrate(found, calibration, args.seed)
    methods = {
        "pair threshold": Fixed(model.threshold),
        "open-set nearest": fitted["nearest"],
        "open-set runner-up": fitted["best"],
    }
    embeddings, labels = stack(found, test)
    fold_of = np.random.default_rng(args.seed).permutation(len(test)) % FOLDS
    results = []
    for size in (100, None, 1_000, args.largest):
        rng = np.random.default_rng([args.seed, size or 0])
        turns = [turn(embeddings, labels, fold_of, fold, size, rng) for fold in range(FOLDS)]
        results.append(score(turns, methods))
        print(f"{results[-1]['sizes']}: done", flush=True)
    results.sort(key=lambda row: row["sizes"][0])
    check = synthetic_check(embeddings, labels, fold_of, methods, np.random.default_rng([args.seed, 1]))
    print(table(results, list(methods)))
    print("synthetic check:", check)
    report = {
        "host": host(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "points": {name: point.to_dict() for name, point in methods.items()},
        "results": results,
        "synthetic_check": check,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, report)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
