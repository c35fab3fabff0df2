"""Applications on people never seen in training: signatures, faces and handwriting, each
beside non-learned baselines and the shipped Omniglot model, on the same pairs.

**What.** For each application, on writers / people / characters held out from training,
in one run: ROC AUC and equal error rate (95% bootstrap intervals), false-accept and
false-reject rates at a learned model's own shipped threshold (95% Wilson intervals), and
N-way one-shot accuracy (Wilson). Every method sees the same pairs and episodes, drawn
once per run with the seed before any image is embedded:

- `pixels`, `hog`, `lbp`: the non-learned baselines of `siamese.evaluation.baselines`
  (cosine distance; no threshold of their own, so no FAR / FRR).
- `omniglot`: the shipped model as it is (`siamese.load_model("omniglot")`), what a user
  would try first, at its shipped threshold.
- `model`: the application's own model, `--models-dir`/signatures.keras, faces.keras or
  omniglot.keras (the handwriting recipe's model), when the file exists (skipped with a note otherwise).

**Why.** A recipe earns its place only by beating features nobody trained and the model
a user already has. The verdict under each table says which learned model beats the best
baseline, and by how much; where one does not, the report has to say why.

**Protocols** (the split functions below are the definition; training recipes import them
from here so that their training side never holds a test writer or person):

- *signatures* (`signatures-cross-media/bin/<writer>/<n>.png`, 93 writers x 10 names x 4
  media; image n is name (n - 1) % 10 on medium (n - 1) // 10): `signature_split` keeps 23
  writers for test. Genuine = same writer, same name, another medium; forgery-like = the
  same name by another test writer (the data's nearest thing to skilled forgeries: nobody
  imitated anybody); other writers = another name by another test writer. 20-way one-shot:
  one name, 20 test writers, support on one medium, the query on another.
- *faces* (`yalefaces/subjectNN.condition`, 15 people; `extended-yale-b/yaleBNN/*.pgm`, 38
  people): `face_split(seed)` keeps a third of each data set's people for test; repeated
  for `--face-splits` seeds (0, 1, ...) and pooled. Pairs and N-way episodes (N = test people,
  at most 20) within one data set's test people. `faces.keras` is taken to be trained on
  the training side of `face_split(0)` and is measured on split 0 only; `faces-splitK.keras`,
  where present, on split K.
- *handwriting*: the 20 official Omniglot one-shot runs (evaluation alphabets, which no
  background set holds: unseen by every Omniglot model, minimal or full), their 800 images
  giving pairs within one run (one alphabet) and the 400 official 20-way trials; and the
  Semeion digits (1,593 16x16 images, ink rendered black on white as Omniglot's files are),
  10-way. Semeion rows carry no writer id, so pairs cannot be made writer-disjoint: a same
  pair may be one person's two versions of a digit. No writer of it is in any training set.

    python benchmarks/applications.py                    # all three, the baselines and every model found
    python benchmarks/applications.py --applications signatures --pairs 4000 --episodes 500
    python benchmarks/applications.py --quick            # a smoke run: small counts, one face split

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0. Results go to `results/benchmarks/applications.json` (written atomically).
"""

import argparse
import dataclasses
import datetime
import functools
import hashlib
import os
import platform
import sys
import time
import zlib
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
APPLICATIONS = ("signatures", "faces", "handwriting")
BASELINE_METHODS = ("pixels", "hog", "lbp")
METHODS = (*BASELINE_METHODS, "omniglot", "model")
APPLICATION_MODELS = {
    "signatures": "signatures.keras",
    "faces": "faces.keras",
    "handwriting": "omniglot.keras",
}  # the handwriting recipe made omniglot.keras
SIGNATURE_TEST_WRITERS = 23  # of 93: a quarter, enough for 20-way episodes with a choice of writers
SIGNATURE_NAMES, SIGNATURE_MEDIA = 10, ("paper", "iPad", "phone in hand", "phone on table")
FACE_SETS = ("yalefaces", "extended-yale-b")
FACE_TEST_FRACTION = 1 / 3  # 5 of Yale's 15 people, 13 of Extended Yale B's 38
MOST_WAY = 20
PAIRS, EPISODES, FACE_SPLITS, RESAMPLES = 2000, 200, 3, 1000
QUICK = {"pairs": 200, "episodes": 20, "face_splits": 1, "resamples": 100}

"""
## The splits

A writer or person is in test by a rule anyone can recompute: sort the names by the SHA-256
of "<seed>:<name>" and take the last ones. It depends on the seed and the names alone (not
on numpy's generators or the order files are listed in).
"""


def _hash_order(names, seed: int) -> list:
    return sorted(names, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())


def _natural(name: str):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def signature_split(root=DATA / "signatures-cross-media", seed: int = 0) -> tuple:
    """(train_writers, test_writers) of the cross-media signatures: the writer folders of
    `root` (the data set's folder or its `bin/`), ordered by SHA-256 of "<seed>:<writer>",
    the last 23 for test. Both as sorted tuples of folder names ("1" .. "93")."""
    root = Path(root)
    root = root / "bin" if (root / "bin").is_dir() else root
    writers = [p.name for p in root.iterdir() if p.is_dir()]
    if len(writers) <= SIGNATURE_TEST_WRITERS:
        raise ValueError(f"{root}: {len(writers)} writer folders, need more than {SIGNATURE_TEST_WRITERS}")
    order = _hash_order(writers, seed)
    cut = len(order) - SIGNATURE_TEST_WRITERS
    return tuple(sorted(order[:cut], key=_natural)), tuple(sorted(order[cut:], key=_natural))


def _face_people(data: Path, name: str) -> list:
    if name == "yalefaces":
        return sorted({p.name.split(".")[0] for p in (data / name).iterdir() if p.name.startswith("subject")})
    return sorted(p.name for p in (data / name).iterdir() if p.is_dir() and p.name.startswith("yaleB"))


def face_split(seed: int = 0, data=DATA) -> tuple:
    """(train_people, test_people) as sorted tuples of "<set>/<person>" ("yalefaces/subject03",
    "extended-yale-b/yaleB05"): per data set found under `data`, its people ordered by
    SHA-256 of "<seed>:<person>", the last round(n / 3) for test."""
    train, test = [], []
    for name in FACE_SETS:
        if not (Path(data) / name).is_dir():
            continue
        order = _hash_order(_face_people(Path(data), name), seed)
        cut = len(order) - int(round(len(order) * FACE_TEST_FRACTION))
        train += [f"{name}/{p}" for p in order[:cut]]
        test += [f"{name}/{p}" for p in order[cut:]]
    return tuple(sorted(train)), tuple(sorted(test))


"""
## Pairs and episodes

A `Part` is one set of test images with its pair sets and one-shot episodes, all as
indices into `images`. Pairs are drawn without replacement from every pair of distinct
images that meets the set's condition; episodes take one support and one query image per
class.
"""


@dataclasses.dataclass
class Part:
    """One set of test images with its pair sets and episodes, drawn before any method runs."""

    table: str  # where its figures go, e.g. "faces: yalefaces"; parts of one table are pooled
    images: list  # uint8 arrays (h, w, 1)
    pairs: dict  # pair set name -> (first, second, same)
    episodes: list  # siamese.evaluation.Episode
    model: Path | None = None  # the application model trained without these people
    split: int | None = None
    about: dict = dataclasses.field(default_factory=dict)


def _pairs_where(n: int, keep, count: int, rng) -> tuple:
    """Up to `count` distinct pairs (i < j) of n images where keep(i, j) holds, drawn without replacement."""
    first, second = np.triu_indices(n, 1)
    allowed = np.flatnonzero(keep(first, second))
    chosen = np.sort(rng.choice(allowed, size=min(count, len(allowed)), replace=False))
    return first[chosen], second[chosen]


def _pair_set(same: tuple, different: tuple) -> tuple:
    first = np.concatenate([same[0], different[0]])
    second = np.concatenate([same[1], different[1]])
    return first, second, np.r_[np.ones(len(same[0]), bool), np.zeros(len(different[0]), bool)]


def _class_pairs(labels: np.ndarray, count: int, rng, *, within=None) -> dict:
    """{"same vs different": ...}: count / 2 same-class pairs, as many different-class ones
    (within one value of `within`, e.g. one Omniglot run, when given)."""
    within = np.zeros(len(labels)) if within is None else within
    same = _pairs_where(len(labels), lambda i, j: labels[i] == labels[j], count // 2, rng)
    different = _pairs_where(
        len(labels), lambda i, j: (labels[i] != labels[j]) & (within[i] == within[j]), count - count // 2, rng
    )
    return {"same vs different": _pair_set(same, different)}


def _episodes(labels: np.ndarray, way: int, count: int, rng) -> list:
    from siamese.evaluation import Episode

    classes = np.unique(labels)
    episodes = []
    for _ in range(count):
        chosen = rng.choice(classes, size=way, replace=False)
        drawn = np.stack([rng.choice(np.flatnonzero(labels == c), size=2, replace=False) for c in chosen])
        episodes.append(Episode(classes=chosen, support=drawn[:, :1], queries=drawn[:, 1], answers=np.arange(way)))
    return episodes


def _rng(seed: int, name: str):
    """A generator per part: its draws do not depend on which other applications run."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _read(paths) -> list:
    from siamese.data import read_image

    return [read_image(p, channels=1) for p in paths]


"""
### Signatures
"""


def signature_parts(data: Path, args) -> list:
    from siamese.evaluation import Episode

    root = data / "signatures-cross-media" / "bin"
    if not root.is_dir():
        return []
    _, test = signature_split(root)
    numbers = np.arange(1, 41)
    writer = np.repeat(np.arange(len(test)), 40)
    name, medium = (
        np.tile((numbers - 1) % SIGNATURE_NAMES, len(test)),
        np.tile((numbers - 1) // SIGNATURE_NAMES, len(test)),
    )
    paths = [root / w / f"{n}.png" for w in test for n in numbers]
    rng = _rng(args.seed, "signatures")
    half = args.pairs // 2
    genuine = _pairs_where(
        len(paths), lambda i, j: (writer[i] == writer[j]) & (name[i] == name[j]) & (medium[i] != medium[j]), half, rng
    )
    forged = _pairs_where(len(paths), lambda i, j: (writer[i] != writer[j]) & (name[i] == name[j]), half, rng)
    other = _pairs_where(len(paths), lambda i, j: (writer[i] != writer[j]) & (name[i] != name[j]), half, rng)
    episodes = []
    for _ in range(args.episodes):  # one name, 20 writers: support on one medium, each query on another
        k, support_medium = rng.integers(SIGNATURE_NAMES), rng.integers(len(SIGNATURE_MEDIA))
        writers = rng.choice(len(test), size=min(MOST_WAY, len(test)), replace=False)
        query_media = (support_medium + rng.integers(1, len(SIGNATURE_MEDIA), size=len(writers))) % len(SIGNATURE_MEDIA)
        support = writers * 40 + support_medium * SIGNATURE_NAMES + k
        queries = writers * 40 + query_media * SIGNATURE_NAMES + k
        episodes.append(
            Episode(classes=writers, support=support[:, None], queries=queries, answers=np.arange(len(writers)))
        )
    pairs = {
        "genuine vs forgery-like": _pair_set(genuine, forged),
        "genuine vs other writers": _pair_set(genuine, other),
    }
    model = args.models_dir / APPLICATION_MODELS["signatures"]
    return [
        Part(
            "signatures",
            _read(paths),
            pairs,
            episodes,
            model,
            None,
            {"test_writers": len(test), "images": len(paths), "way": len(episodes[0].answers)},
        )
    ]


"""
### Faces
"""


def _face_images(data: Path, person: str) -> list:
    name, who = person.split("/")
    if name == "yalefaces":
        return sorted(p for p in (data / name).iterdir() if p.name.split(".")[0] == who)
    return sorted((data / name / who).glob("*.pgm"))


def face_parts(data: Path, args) -> list:
    parts = []
    for split in range(args.face_splits):
        _, test = face_split(split, data)
        model = args.models_dir / (APPLICATION_MODELS["faces"] if split == 0 else f"faces-split{split}.keras")
        for name in FACE_SETS:
            people = [p for p in test if p.startswith(name + "/")]
            if not people:
                continue
            paths = [(k, path) for k, person in enumerate(people) for path in _face_images(data, person)]
            labels = np.array([k for k, _ in paths])
            rng = _rng(args.seed, f"faces:{name}:{split}")
            way = min(MOST_WAY, len(people))
            parts.append(
                Part(
                    f"faces: {name}",
                    _read(p for _, p in paths),
                    _class_pairs(labels, args.pairs, rng),
                    _episodes(labels, way, args.episodes, rng),
                    model,
                    split,
                    {"test_people": len(people), "images": len(paths), "way": way},
                )
            )
    return parts


"""
### Handwriting
"""


def omniglot_runs_part(data: Path, args) -> Part:
    from siamese.evaluation import Episode, read_oneshot_runs

    path = data / "omniglot" / "all_runs.zip"
    runs = read_oneshot_runs(path if path.is_file() else REPO / "dataset" / "all_runs.zip")
    images, labels, run_of, episodes = [], [], [], []
    for r, run in enumerate(runs.runs):
        start = len(images)
        images += [runs.image(m) for m in (*run.training, *run.test)]
        labels += [r * 100 + c for c in range(len(run.training))] + [r * 100 + int(a) for a in run.answers]
        run_of += [r] * (len(run.training) + len(run.test))
        support = start + np.arange(len(run.training))
        queries = start + len(run.training) + np.arange(len(run.test))
        episodes.append(
            Episode(
                classes=np.arange(len(run.training)), support=support[:, None], queries=queries, answers=run.answers
            )
        )
    pairs = _class_pairs(np.array(labels), args.pairs, _rng(args.seed, "omniglot-runs"), within=np.array(run_of))
    return Part(
        "handwriting: omniglot runs",
        images,
        pairs,
        episodes,
        args.models_dir / APPLICATION_MODELS["handwriting"],
        None,
        {"runs": len(runs.runs), "images": len(images), "way": len(runs.runs[0].training), "trials": runs.trials},
    )


def semeion_images(path: Path) -> tuple:
    """(images, digits): the 16x16 rows as uint8 (16, 16, 1), ink (1) black on white (255),
    as Omniglot's own files are; a model's saved preprocessing does any inverting itself."""
    table = np.loadtxt(path, dtype=np.float32)
    ink = table[:, :256].reshape(-1, 16, 16, 1) > 0.5
    return list(np.where(ink, 0, 255).astype(np.uint8)), table[:, 256:266].argmax(axis=1)


def semeion_part(data: Path, args) -> Part:
    images, digits = semeion_images(data / "semeion" / "semeion.data")
    rng = _rng(args.seed, "semeion")
    return Part(
        "handwriting: semeion digits",
        images,
        _class_pairs(digits, args.pairs, rng),
        _episodes(digits, 10, args.episodes, rng),
        args.models_dir / APPLICATION_MODELS["handwriting"],
        None,
        {"images": len(images), "way": 10},
    )


def handwriting_parts(data: Path, args) -> list:
    parts = []
    if (data / "omniglot" / "all_runs.zip").is_file() or (REPO / "dataset" / "all_runs.zip").is_file():
        parts.append(omniglot_runs_part(data, args))
    if (data / "semeion" / "semeion.data").is_file():
        parts.append(semeion_part(data, args))
    return parts


BUILDERS = {"signatures": signature_parts, "faces": face_parts, "handwriting": handwriting_parts}

"""
## Measuring a method on a part

Each image is embedded once; every pair set and episode reads the same table.
"""


def baseline_method(name: str):
    from siamese.evaluation.baselines import BASELINES, cosine_distance

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
        chosen, label = parts, method
        if method == "model":
            chosen = [p for p in parts if p.model is not None and p.model.is_file()]
            if not chosen:
                notes.append(
                    f"{table}: no application model ({', '.join(sorted({str(p.model) for p in parts}))} not found); skipped"
                )
                continue
            label = f"model {chosen[0].model.name}"
        measured, thresholds = [], []
        for part in chosen:
            if method in BASELINE_METHODS:
                embed, distance, threshold = baseline_method(method)
            else:
                embed, distance, threshold = learned_method("omniglot" if method == "omniglot" else part.model, cache)
            measured.append(measure(part, embed, distance))
            thresholds.append(threshold)
        threshold = thresholds[0]
        if len(set(thresholds)) > 1:  # a model per split, each at its own threshold: pool distance minus threshold
            for result, own in zip(measured, thresholds):
                result["distances"] = {name: d - own for name, d in result["distances"].items()}
            threshold = 0.0
        done[label] = dict(zip(map(id, chosen), measured))
        results[label] = {
            **figures(chosen, measured, threshold, args),
            "seconds": round(time.perf_counter() - start, 1),
            "thresholds": thresholds,
        }
    for label, by_part in done.items():  # a model measured on some splits only: the baselines on the same splits
        if label not in BASELINE_METHODS and len(by_part) < len(parts):
            own = [p for p in parts if id(p) in by_part]
            results[label]["baselines_on_the_same_splits"] = {
                b: figures(own, [done[b][id(p)] for p in own], None, args) for b in BASELINE_METHODS if b in done
            }
    return results


"""
## The report: a table per pair set, and a verdict per learned model
"""


def _cell(entry, digits=3) -> str:
    if not entry:
        return "-"
    return f"{entry['value']:.{digits}f} [{entry['low']:.{digits}f}, {entry['high']:.{digits}f}]"


def markdown(table: str, about: dict, results: dict) -> str:
    lines = []
    pair_sets = next(iter(results.values()))["pairs"]
    for pair_set in pair_sets:
        first = next(iter(results.values()))
        counts = first["pairs"][pair_set]
        way = first["oneshot"]["way"]
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
            own = sorted(set(result.get("thresholds", [])))
            label = (
                method
                if result["threshold"] is None
                else f"{method} (thr {' / '.join(f'{t:.3f}' for t in result['thresholds'])}, each split at its own)"
                if len(own) > 1
                else f"{method} (thr {result['threshold']:.3f})"
            )
            if result["splits"] and len(result["splits"]) < len(first["splits"] or []):
                label += f" (split {', '.join(map(str, result['splits']))} only)"
            lines.append(
                f"| {label} | {_cell(entry['auc'])} | {_cell(entry['eer'])} | {_cell(entry['false_accept_rate'])} | "
                f"{_cell(entry.get('false_reject_rate'))} | {_cell(result['oneshot'])} |"
            )
        by_split = {
            m: r["pairs"][pair_set].get("auc_by_split")
            for m, r in results.items()
            if r["pairs"][pair_set].get("auc_by_split")
        }
        if by_split:
            lines += [
                "",
                "AUC by split: "
                + "; ".join(f"{m} " + " / ".join(f"{v:.3f}" for v in s.values()) for m, s in by_split.items()),
            ]
        lines += ["", *verdicts(results, pair_set), ""]
    return "\n".join(lines)


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


def host() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


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


def run(args) -> dict:
    """Every chosen application: draw its parts, measure every method, return the report's data."""
    cache, report = (
        {},
        {
            "host": host(),
            "command": args.command,
            "seed": args.seed,
            "pairs": args.pairs,
            "episodes": args.episodes,
            "face_splits": args.face_splits,
            "resamples": args.resamples,
            "applications": {},
            "splits": {},
        },
    )
    for application in args.applications:
        notes = []
        parts = BUILDERS[application](args.data, args)
        if not parts:
            print(f"\n## {application}: skipped, its data is not under {args.data}")
            continue
        report["splits"].update(split_report(application, args))
        tables = {}
        for table in dict.fromkeys(p.table for p in parts):
            chosen = [p for p in parts if p.table == table]
            about = {**chosen[0].about, "parts": len(chosen)} if len(chosen) > 1 else chosen[0].about
            results = run_table(table, chosen, args.methods, args, cache, notes)
            tables[table] = {"about": about, "methods": results}
            if results:
                print("\n" + markdown(table, about, results))
        for note in notes:
            print(f"note: {note}")
        report["applications"][application] = {"tables": tables, "notes": notes}
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


def split_report(application: str, args) -> dict:
    if application == "signatures":
        train, test = signature_split(args.data / "signatures-cross-media")
        return {"signatures": {"rule": "sha256('0:<writer>') order, last 23", "train": list(train), "test": list(test)}}
    if application == "faces":
        return {
            "faces": {
                str(s): dict(zip(("train", "test"), map(list, face_split(s, args.data))))
                for s in range(args.face_splits)
            }
        }
    return {}


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: the shared data is not here ({args.data})")
        return 0
    info = host()
    print(
        f"# Applications on unseen people\n\nhost: {info['cpu']}, {info['cores']} cores; python {info['python']}; {info['date']}"
    )
    print(
        f"pairs {args.pairs} per set, episodes {args.episodes}, face splits {args.face_splits}, seed {args.seed}, "
        f"methods {' '.join(args.methods)}"
    )
    start = time.perf_counter()
    report = run(args)
    report["seconds"] = round(time.perf_counter() - start, 1)
    from siamese.files import write_json

    print(f"\nresults: {write_json(args.out, report)} ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
