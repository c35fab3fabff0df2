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
of each enrolled, seeded; every photo a stranger to the others); every query and every
enrolled person measured is one of the 478 test people. The test people are cut into five
folds; in turn each fold's people are the strangers (every photo of theirs a query) and the
other four folds' people are enrolled (one photo each, seeded; their other photos are the
known queries); counts are pooled over the five turns, so every test photo is a stranger
query once. Sizes: 100 (100 of the enrolled test people drawn), all of them (about 382), and
1,000 and 100,000, where distractors fill the gallery beside the 382: first one photo of
each calibration person (real people, never measured), then morphs a x + (1 - a) y of two
photos of two different calibration people (a uniform in [0.3, 0.7]). Rank-1: a known
query's nearest is its own person; FNIR: known queries not named right; FPIR: strangers
named. The synthetic check scores every test photo as a stranger against one photo of each
calibration person and against as many morphs: how near a morph comes to a stranger
compared with a real person.

    python benchmarks/open_set.py                 # the whole protocol
    python benchmarks/open_set.py --largest 10000 # a quicker run
    python benchmarks/open_set.py --halves        # also: fitted on half the calibration people, measured on the other
    python benchmarks/open_set.py --ship models/faces.keras   # store the fitted point in the model
    python benchmarks/open_set.py --model faces-mobilefacenet --largest 1000 --out results/benchmarks/open_set-mobilefacenet.json
    python benchmarks/open_set.py --model faces-mobilefacenet --ship models/faces-mobilefacenet.keras

`--ship` writes the runner-up point fitted on the calibration people into the model (both
files), as `siamese calibrate MODEL CALIBRATION_PEOPLE/ --objective fpir` does on a folder
of those people (here from the cached embeddings, and with the people in the split's order).

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

FOLDS, WEIGHTS = 5, np.round(np.arange(0.0, 1.01, 0.1), 2)
BLOCK = 4_000  # distractors scored at a time


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


METRIC = {"distance": "euclidean"}  # the measured model's distance (--model), set in main


def distance_table(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) distances, as the model measures them: Euclidean (`faces`) or cosine
    (`faces-mobilefacenet`, unit-length embeddings)."""
    if METRIC["distance"] == "cosine":
        return 1.0 - a @ b.T
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def nearest_two(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """(len(queries), 2): the two smallest distances to `gallery`, in blocks."""
    best = np.full((len(queries), 2), np.inf)
    for start in range(0, len(gallery), BLOCK):
        d = np.concatenate([best, distance_table(queries, gallery[start : start + BLOCK])], axis=1)
        best = np.sort(np.partition(d, 1, axis=1)[:, :2], axis=1)
    return best


def calibrate(found: dict, people: list, seed: int, confidence: float, target: float) -> dict:
    from siamese.training import OpenSetCalibrator, enrol_one_each

    embeddings, labels = stack(found, people)
    enrolled = enrol_one_each(labels, seed=seed)
    distances = distance_table(embeddings, embeddings[enrolled])
    return {
        rule: OpenSetCalibrator(target, rule=rule, confidence=confidence, seed=seed)
        .fit(distances, labels, labels[enrolled])
        .point_
        for rule in ("nearest", "best")
    }


"""
## One turn: a fold of strangers, the rest enrolled

For each query: whether its nearest identity is its own (known queries), and its nearest two
distances to other people (d1, d2 of a stranger; for a known query, its own distance and the
nearest other person's, which decide whether it is named right).
"""


def distractors(found: dict, people: list, count: int, rng) -> np.ndarray:
    """`count` distractor embeddings from the calibration people (none of them a test person): one
    photo of each (as many as wanted), then morphs a x + (1 - a) y of two photos of two different
    ones, a uniform in [0.3, 0.7]."""
    embeddings, labels = stack(found, people)
    real = embeddings[[rng.choice(np.flatnonzero(labels == p)) for p in rng.permutation(len(people))]][:count]
    first, second = rng.integers(0, len(embeddings), (2, 2 * count))
    keep = labels[first] != labels[second]  # two people: drawn twice as many pairs as needed
    first, second = first[keep][: count - len(real)], second[keep][: count - len(real)]
    a = rng.uniform(0.3, 0.7, len(first))[:, None]
    morphs = a * embeddings[first] + (1 - a) * embeddings[second]
    if METRIC["distance"] == "cosine":  # a gallery of unit-length embeddings holds unit-length morphs
        morphs /= np.linalg.norm(morphs, axis=1, keepdims=True)
    return np.concatenate([real, morphs])


def turn(embeddings, labels, fold_of, fold: int, size, rng, nearest_extra=None) -> dict:
    """The d1, d2 of strangers and known queries for a gallery of `size` test people (None: every
    test person not in the fold), and of `nearest_extra` (each test photo's nearest two distractors)."""
    people = np.unique(labels[fold_of[labels] != fold])
    chosen = people if size is None else rng.choice(people, size, replace=False)
    enrolled = np.array([rng.choice(np.flatnonzero(labels == p)) for p in chosen])
    gallery, gallery_labels = embeddings[enrolled], labels[enrolled]
    strangers = np.flatnonzero(fold_of[labels] == fold)
    known = np.setdiff1d(np.flatnonzero(np.isin(labels, chosen)), enrolled)
    stranger_d = np.sort(distance_table(embeddings[strangers], gallery), axis=1)[:, :2]
    to_gallery = distance_table(embeddings[known], gallery)
    own = gallery_labels[None, :] == labels[known][:, None]
    genuine = np.min(np.where(own, to_gallery, np.inf), axis=1)
    others = np.sort(np.where(own, np.inf, to_gallery), axis=1)[:, :2]
    extra = 0
    if nearest_extra is not None:
        extra = int(nearest_extra[1])
        stranger_d = np.sort(np.concatenate([stranger_d, nearest_extra[0][strangers]], 1), 1)[:, :2]
        others = np.sort(np.concatenate([others, nearest_extra[0][known]], 1), 1)[:, :2]
    return {"stranger": stranger_d, "genuine": genuine, "others": others, "size": len(chosen) + extra}


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


def score(turns: list, methods: dict, target: float) -> dict:
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
            threshold = np.quantile(stranger[:, 0] - w * stranger[:, 1], target)
            fnirs.append((float(1 - np.mean(right & (genuine - w * others[:, 0] <= threshold))), float(w)))
        result[rule] = {"fnir": min(fnirs)[0], "weight": min(fnirs)[1]}
    return result


def synthetic_check(embeddings, found: dict, calibration: list, methods: dict, rng) -> dict:
    """Every test photo as a stranger against one photo of each calibration person, and against
    as many morphs of them: is a morph as near to a stranger as a real person is?"""
    from siamese.evaluation import proportion

    real = distractors(found, calibration, len(calibration), rng)
    morphs = distractors(found, calibration, 2 * len(calibration), rng)[len(calibration) :]
    result = {}
    for kind, gallery in (("real", real), ("morphs", morphs)):
        d = nearest_two(embeddings, gallery)
        result[kind] = {"stranger_d1_quantiles_1_5_50": np.quantile(d[:, 0], [0.01, 0.05, 0.5]).tolist()}
        for name, point in methods.items():
            named = decide(point, d[:, 0], d[:, 1], len(gallery))
            result[kind][name] = proportion(int(named.sum()), len(named)).to_dict()
    return result


def halves(found: dict, calibration: list, seed: int, target: float, draws: int = 2) -> list:
    """The point fitted on a random half of the calibration people, measured on the other half
    (100 enrolled, and all of that half's turn): how far the FPIR of new people strays from the target."""
    rows = []
    for draw in range(draws):
        order = np.random.default_rng([seed, draw]).permutation(len(calibration))
        fit, measure = ([calibration[i] for i in part] for part in np.array_split(order, 2))
        point = calibrate(found, fit, seed, 0.9, target)["best"]
        embeddings, labels = stack(found, measure)
        fold_of = np.random.default_rng(seed).permutation(len(measure)) % FOLDS
        for size in (100, None):
            rng = np.random.default_rng([seed, draw, size or 0])
            turns = [turn(embeddings, labels, fold_of, fold, size, rng) for fold in range(FOLDS)]
            rows.append({"draw": draw, **score(turns, {"open-set runner-up": point}, target)})
    return rows


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
    parser.add_argument("--confidence", type=float, default=0.9, help="the calibrator's confidence over the people")
    parser.add_argument("--target-fpir", type=float, default=0.01, help="the share of strangers named to aim at")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "open_set.json")
    parser.add_argument(
        "--halves", action="store_true", help="also fit on half the calibration people, measure on the other"
    )
    parser.add_argument("--ship", type=Path, help="store the fitted point in this model (the measured model's files)")
    parser.add_argument("--model", default="faces", help="the shipped face model measured (faces, faces-mobilefacenet)")
    args = parser.parse_args(argv)
    if not (args.data / CELEBA).is_dir():
        print(f"{args.data / CELEBA}: not found; this benchmark reads ../shared/data beside the repository")
        return 0
    from siamese import load_model
    from siamese.files import write_json

    logging.getLogger("siamese").setLevel(logging.ERROR)
    print(describe_host())
    model = load_model(args.model)
    METRIC["distance"] = model.distance_name
    found = celeba_embeddings(args.data, model, args.cache)
    calibration, test = celeba_people(args.data, args.seed)
    fitted = calibrate(found, calibration, args.seed, args.confidence, args.target_fpir)
    if args.ship is not None:
        shipped = load_model(args.ship)
        if shipped.model_id != model.model_id:
            raise SystemExit(f"{args.ship}: not the {args.model} model the embeddings were made with")
        shipped.open_set = fitted["best"].to_dict()
        shipped.save()
        print(f"{args.ship}: open-set point stored ({fitted['best'].rule} rule), model id {shipped.model_id[:12]}")
        return 0
    methods = {
        "pair threshold": Fixed(model.threshold),
        "open-set nearest": fitted["nearest"],
        "open-set runner-up": fitted["best"],
    }
    embeddings, labels = stack(found, test)
    fold_of = np.random.default_rng(args.seed).permutation(len(test)) % FOLDS
    results = []
    for size, extra in ((100, 0), (None, 0), (None, 1_000), (None, args.largest)):
        rng = np.random.default_rng([args.seed, size or 0, extra])
        nearest_extra = None
        if extra:  # the distractors added to the test people enrolled (about 382) to make `extra` in all
            added = extra - int(np.sum(fold_of != 0))
            nearest_extra = (nearest_two(embeddings, distractors(found, calibration, added, rng)), added)
        turns = [turn(embeddings, labels, fold_of, fold, size, rng, nearest_extra) for fold in range(FOLDS)]
        results.append(score(turns, methods, args.target_fpir))
        print(f"{results[-1]['sizes']}: done", flush=True)
    check = synthetic_check(embeddings, found, calibration, methods, np.random.default_rng([args.seed, 1]))
    print(table(results, list(methods)))
    crossed = halves(found, calibration, args.seed, args.target_fpir) if args.halves else []
    for row in crossed:
        fpir = row["open-set runner-up"]["fpir"]["value"]
        print(f"halves, draw {row['draw']}, {row['sizes'][0]} enrolled: strangers named {fpir:.2%}")
    print("synthetic check:", check)
    report = {
        "host": host(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "points": {name: point.to_dict() for name, point in methods.items()},
        "results": results,
        "synthetic_check": check,
        "halves": crossed,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, report)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
