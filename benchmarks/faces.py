"""Faces of people no model here was trained on: the shipped `faces` model beside the model
it replaced, a fine-tuned one, non-learned baselines and the `face_recognition` package, on
the same pairs, with the time each takes per photo.

**What.** In one run, on the same pairs and photos:

- `faces`: the shipped model (dlib's face recognition ResNet as a Keras tower, run on ONNX
  Runtime behind the package's own face detection and alignment, the embeddings of each
  chip and of its mirror image averaged inside the tower), as a user gets it from
  `siamese.load_model("faces")`; `--photo-flip` adds `faces+flip`, the mean with the
  embedding of the mirrored photo (its own detection and chip), which is how test-time flip
  was measured before it went into the tower.
- fine-tuned models (`--finetuned PATH ...`, each named by its file), e.g. the faces recipe's runs.
- `faces-old`: the model shipped before (a 64x64 grey tower trained on 25 Yale people),
  read from the repository's history (`OLD_MODEL`) when git has it; its crop is now the
  new detector's.
- `pixels`, `hog`, `lbp`: the non-learned baselines (`benchmarks/baselines.py`) on the photos.
- `face_recognition`: the peer, dlib's own pipeline (HOG detector upsampled once, 5
  landmarks, `get_face_chip`, the same ResNet). Installed for the benchmark only:
  `pip install dlib-bin face_recognition_models && pip install --no-deps face_recognition`.

**Protocol.** In the wild: `celeba-faces-dev` (955 celebrities, 3-6 news photos each),
people ordered by SHA-256 of "<seed>:<id>", the first half for calibration, the second for
test. Each method's threshold is fitted for best accuracy on pairs of calibration people
and measured on pairs of test people (half same, half different person; a photo in which
no face is found is used whole, by every method, and counted). Also reported on the test
pairs: ROC AUC and EER with bootstrap intervals, the accuracy of ten folds as LFW reports
it (threshold chosen on nine folds, scored on the tenth), the shipped threshold's figures,
and open-set identification (one enrolled photo per person for four people in five, the
fifth never enrolled: rank-1, FNIR and FPIR at the fitted threshold). In the studio: the
test people of `face_split(0)` of Yale and Extended Yale B (the old model trained on the
others). Time per photo: detection, alignment and embedding of one photo at a time, the
methods in turn over the same photos, the median.

    python benchmarks/faces.py                           # every method found, the whole protocol
    python benchmarks/faces.py --people 300 --pairs 2000  # fewer people and pairs
    python benchmarks/faces.py --quick                   # a smoke run

Data from `../shared/data/` (without it the script says so and exits 0); results go to
`results/benchmarks/faces.json`, written atomically.
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import describe_host, host  # noqa: E402
from application_data import DATA, REPO, _class_pairs, _face_images, _hash_order, _rng, face_split  # noqa: E402

"""
## Parameters
"""

CELEBA = "celeba-faces-dev"
OLD_MODEL = "be029f4:models/faces.keras"  # the faces model shipped before dlib's network replaced it
PAIRS, CALIBRATION_PAIRS, STUDIO_PAIRS, RESAMPLES, TIMED_PHOTOS, FOLDS = 6000, 3000, 2000, 1000, 40, 10
QUICK = {"people": 60, "pairs": 300, "calibration_pairs": 200, "studio_pairs": 200, "resamples": 100, "timed": 5}
UNKNOWN_SHARE = 0.2

"""
## The photos and the pairs

A `Photos` is a list of photo paths with the person of each; pairs are indices into it,
drawn once with the seed before any method runs.
"""


def celeba_people(data: Path, seed: int) -> tuple:
    """(calibration, test) people of celeba-faces-dev: ordered by SHA-256 of "<seed>:<id>", halves."""
    people = _hash_order([p.name for p in (data / CELEBA).iterdir() if p.is_dir()], seed)
    return people[: len(people) // 2], people[len(people) // 2 :]


def photos_of(folders: list) -> tuple:
    """(paths, labels): every photo of each folder, labelled by the folder's position."""
    paths, labels = [], []
    for label, photos in enumerate(folders):
        paths += photos
        labels += [label] * len(photos)
    return paths, np.array(labels)


def celeba_sets(data: Path, args) -> dict:
    calibration, test = celeba_people(data, args.seed)
    if args.people:
        calibration, test = calibration[: args.people // 2], test[: args.people]
    sets = {}
    for name, people, count in (("calibration", calibration, args.calibration_pairs), ("test", test, args.pairs)):
        paths, labels = photos_of([sorted((data / CELEBA / p).glob("*.jpg")) for p in people])
        pairs = _class_pairs(labels, count, _rng(args.seed, f"faces:{CELEBA}:{name}"))["same vs different"]
        sets[name] = {"paths": paths, "labels": labels, "pairs": pairs}
    return sets


def studio_sets(data: Path, args) -> dict:
    _, test = face_split(0, data)
    sets = {}
    for name in ("yalefaces", "extended-yale-b"):
        people = [p for p in test if p.startswith(name + "/")]
        if people:
            paths, labels = photos_of([_face_images(data, p) for p in people])
            pairs = _class_pairs(labels, args.studio_pairs, _rng(args.seed, f"faces:{name}:0"))["same vs different"]
            sets[name] = {"paths": paths, "labels": labels, "pairs": pairs}
    return sets


"""
## The methods

Each method turns a list of photo paths into embeddings and says how it compares them. The
package's models count the photos in which no face was found (`FaceLog`); so does the peer.
"""


def siamese_method(model, *, flip: bool = False):
    from siamese.data.faces import FaceLog
    from siamese.data.images import read_image

    def embed(paths: list) -> tuple:
        log = FaceLog(keep_faceless=True)
        embeddings = model.embed(paths, faces=log)
        if flip:
            mirrored = [np.ascontiguousarray(read_image(p, channels=3)[:, ::-1]) for p in paths]
            embeddings = (embeddings + model.embed(mirrored, faces=FaceLog(keep_faceless=True))) / 2.0
        return embeddings, len(log.faceless)

    return embed, model.distance_name, model.threshold


def old_model(workdir: Path):
    """The faces model shipped before, from git, or None where the history is not there."""
    path = workdir / "faces-old.keras"
    done = subprocess.run(["git", "-C", str(REPO), "show", OLD_MODEL], capture_output=True)
    if done.returncode != 0:
        return None
    path.write_bytes(done.stdout)
    return path


def peer_method():
    """dlib's own pipeline as `face_recognition` runs it; None where it is not installed."""
    try:
        import face_recognition
    except ImportError:
        return None

    def embed(paths: list) -> tuple:
        rows, faceless = [], 0
        for path in paths:
            image = face_recognition.load_image_file(str(path))
            boxes = face_recognition.face_locations(image, number_of_times_to_upsample=1)
            if not boxes:  # used whole, as the package does
                faceless += 1
                boxes = [(0, image.shape[1], image.shape[0], 0)]
            largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            rows.append(face_recognition.face_encodings(image, [largest], num_jitters=1, model="small")[0])
        return np.asarray(rows, np.float32), faceless

    return embed, "euclidean", 0.6


def baseline_method(name: str):
    from baselines import BASELINES

    function = BASELINES[name]()
    return (lambda paths: (function(paths), 0)), "cosine", None


def methods(args, workdir: Path) -> dict:
    from siamese import load_model

    found = {"faces": siamese_method(load_model("faces"))}
    if args.photo_flip:
        found["faces+flip"] = siamese_method(load_model("faces"), flip=True)
    for path in args.finetuned:
        found[Path(path).stem] = siamese_method(load_model(path))
    old = old_model(workdir)
    if old is not None:
        found["faces-old"] = siamese_method(load_model(old, engine="keras"))
    found.update({name: baseline_method(name) for name in ("pixels", "hog", "lbp")})
    peer = peer_method()
    if peer is not None:
        found["face_recognition"] = peer
    return {name: method for name, method in found.items() if not args.methods or name in args.methods}


"""
## Scoring

The threshold of each method comes from the calibration people; every figure is on the test
people. Ten-fold accuracy chooses a threshold on nine folds of the test pairs and scores the tenth.
"""


def distances_of(embeddings: np.ndarray, pairs: tuple, distance_name: str) -> np.ndarray:
    from siamese.numpy_distances import NumpyDistance

    first, second, _ = pairs
    return NumpyDistance(distance_name)(embeddings[first], embeddings[second]).astype(np.float64)


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, seed: int) -> dict:
    from siamese.training import ThresholdCalibrator

    folds = np.random.default_rng(seed).permutation(len(same)) % FOLDS
    scores = []
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        threshold = ThresholdCalibrator("accuracy").fit(distances[train], same[train]).threshold_
        scores.append(float(np.mean((distances[test] <= threshold) == same[test])))
    return {"mean": float(np.mean(scores)), "std": float(np.std(scores))}


def identification(embeddings: np.ndarray, labels: np.ndarray, distance_name: str, threshold, seed: int) -> dict:
    from siamese.data.datasets import ImageDataset
    from siamese.evaluation import sample_trial, score_identification
    from siamese.numpy_distances import NumpyDistance

    stand_in = ImageDataset(
        sources=("photos",),
        members=tuple((0, str(i)) for i in range(len(labels))),  # never read: the embeddings are given
        labels=labels,
        classes=tuple(str(c) for c in np.unique(labels)),
        groups=tuple("" for _ in np.unique(labels)),
    )
    trial = sample_trial(stand_in, unknown_share=UNKNOWN_SHARE, seed=seed)
    return score_identification(trial, embeddings, labels, NumpyDistance(distance_name), threshold=threshold).to_dict()


def score(method, sets: dict, args, *, in_the_wild: bool) -> dict:
    from siamese.evaluation import verification_metrics
    from siamese.training import ThresholdCalibrator

    embed, distance_name, shipped = method
    result, threshold = {}, None
    if in_the_wild:
        embeddings, faceless = embed(sets["calibration"]["paths"])
        calibration = distances_of(embeddings, sets["calibration"]["pairs"], distance_name)
        threshold = ThresholdCalibrator("accuracy").fit(calibration, sets["calibration"]["pairs"][2]).threshold_
        result["fitted_threshold"] = float(threshold)
    for name, data in sets.items():
        if name == "calibration":
            continue
        embeddings, faceless = embed(data["paths"])
        distances = distances_of(embeddings, data["pairs"], distance_name)
        same = data["pairs"][2]
        row = {"photos": len(data["paths"]), "faceless_photos": faceless}
        row["fitted"] = verification_metrics(distances, same, threshold=threshold, resamples=args.resamples).to_dict()
        if shipped is not None:
            row["shipped"] = verification_metrics(distances, same, threshold=shipped, resamples=10).to_dict()
        row["ten_fold_accuracy"] = ten_fold_accuracy(distances, same, args.seed)
        if in_the_wild:
            row["identification"] = identification(embeddings, data["labels"], distance_name, threshold, args.seed)
        result[name] = row
    return result


def time_per_photo(found: dict, paths: list) -> dict:
    """Median seconds per photo of each method, one photo at a time, the methods in turn."""
    samples = {name: [] for name in found}
    for embed, _, _ in found.values():
        embed(paths[:1])  # warm-up: sessions, detector, predictor
    for path in paths:
        for name, (embed, _, _) in found.items():
            start = time.perf_counter()
            embed([path])
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


"""
## The run
"""


def table(results: dict, set_name: str) -> str:
    lines = [
        f"| {set_name} | AUC | EER | accuracy at fitted threshold | 10-fold accuracy | at shipped threshold (FAR / FRR) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method, result in results.items():
        row = result.get(set_name)
        if row is None:
            continue
        fitted = row["fitted"]
        accuracy = "" if fitted["accuracy"] is None else f"{fitted['accuracy']['value']:.4f}"
        shipped = ""
        if "shipped" in row:
            far = row["shipped"]["false_accept_rate"]["value"]
            frr = 1.0 - row["shipped"]["true_accept_rate"]["value"]
            shipped = f"{far:.4f} / {frr:.4f}"
        lines.append(
            f"| {method} | {fitted['auc']['value']:.4f} | {fitted['eer']['value']:.4f} | {accuracy} | "
            f"{row['ten_fold_accuracy']['mean']:.4f} | {shipped} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--people", type=int, default=0, help="test people (calibration: half as many); 0: all")
    parser.add_argument("--pairs", type=int, default=PAIRS)
    parser.add_argument("--calibration-pairs", type=int, default=CALIBRATION_PAIRS)
    parser.add_argument("--studio-pairs", type=int, default=STUDIO_PAIRS)
    parser.add_argument("--resamples", type=int, default=RESAMPLES)
    parser.add_argument("--timed", type=int, default=TIMED_PHOTOS, help="photos timed one at a time")
    parser.add_argument("--methods", nargs="*", help="only these methods")
    parser.add_argument("--finetuned", nargs="*", default=[], help="models fine-tuned from faces (paths)")
    parser.add_argument("--photo-flip", action="store_true", help="also faces+flip (the mirrored photo's embedding)")
    parser.add_argument("--no-studio", dest="studio", action="store_false", help="skip the Yale sets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: " + json.dumps(QUICK))
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "faces.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.pairs, args.calibration_pairs = QUICK["people"], QUICK["pairs"], QUICK["calibration_pairs"]
        args.studio_pairs, args.resamples, args.timed = QUICK["studio_pairs"], QUICK["resamples"], QUICK["timed"]
    if not (args.data / CELEBA).is_dir():
        print(f"{args.data / CELEBA}: not found; this benchmark reads ../shared/data beside the repository")
        return 0
    logging.getLogger("siamese").setLevel(logging.ERROR)  # faceless photos are counted, not listed
    print(describe_host())
    wild = celeba_sets(args.data, args)
    studio = studio_sets(args.data, args) if args.studio else {}
    with tempfile.TemporaryDirectory() as workdir:
        found = methods(args, Path(workdir))
        results = {}
        for name, method in found.items():
            started = time.perf_counter()
            results[name] = {
                **score(method, wild, args, in_the_wild=True),
                **score(method, studio, args, in_the_wild=False),
            }
            print(f"{name}: scored in {time.perf_counter() - started:.0f} s", flush=True)
        timing = time_per_photo(found, wild["test"]["paths"][: args.timed])
    report = {
        "host": host(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "results": results,
        "seconds_per_photo": timing,
    }
    for set_name in ("test", *studio):
        print(f"\n{CELEBA} test people" if set_name == "test" else f"\n{set_name} (face_split(0) test people)")
        print(table(results, set_name))
    print(
        "\nseconds per photo (detect, align, embed; one at a time): "
        + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timing.items())
    )
    from siamese.files import write_json

    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, report)
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
