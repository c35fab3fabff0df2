"""Two face towers, alone and joined: `faces` (dlib's ResNet) beside `faces-mobilefacenet`, for
pairs and for identification among many people, with the time each takes per photo.

**What.** Each photo is searched for faces once (dlib's detector and 5 landmarks, as the
package does; a photo without a face found is taken whole, as batch work does), and the
largest face is cut twice from the same landmarks: dlib's 150x150 chip and the 112x112
"arcface" chip. Each tower embeds its chip once (`detect=False`, ONNX Runtime):

- `faces`: the shipped model (chip and mirror image averaged, not normalised, Euclidean);
- `faces-l2`: the same descriptor scaled to unit length;
- `mobilefacenet`: the shipped `faces-mobilefacenet` (unit length, cosine);
- `mobilefacenet-mirror`: its tower on the chip and on its mirror image, summed, unit length
  (Keras, from the shipped file: measured, not shipped);
- `fusion`: the unit `faces-l2` and `mobilefacenet` embeddings side by side, over sqrt(2)
  (cosine: the mean of the two towers' cosine distances, what `siamese ensemble` joins).

`face_recognition` (the peer of `benchmarks/faces.py`) runs dlib's ResNet on one chip: it is
`faces` without the mirror image, measured there; it is used here only if importable.

**Protocol.** CelebA (`celeba-faces-dev`) split as `benchmarks/faces.py` splits it: people
ordered by SHA-256 of "<seed>:<id>", the first half for calibration, the second for test.
Pairs: 6,000 pairs of test people (half same), AUC and EER; accuracy at the threshold
fitted (best accuracy) on 3,000 pairs of calibration people. Identification, open set,
one photo (the first by name) enrolled per person, every other photo of an enrolled person
a query that should be named: the test people in hash order, the last 20% never enrolled.
N = 100 and N = every other test person (382): strangers are the never-enrolled test people
and all calibration people. N = 1,000: the 382 test people and, as distractors (enrolled,
never asked for), the calibration people and the Yale / Extended Yale B people (first
photo each), then second photos of calibration people as further distractor entries until
1,000; strangers are the never-enrolled test people only. Rank-1 among the queries; FNIR
(queries not named right: nearest wrong, or farther than the threshold) at the threshold
that names at most 1% / 0.1% of the strangers' photos (FPIR). Yale and Extended Yale B
(test people of `face_split(0)`): pairs, and rank-1 with one photo enrolled per person.
Time: one photo at a time through `load_model(...).embed` (detection, chip, embedding),
the models in turn over 40 CelebA test photos, the median; and each tower alone on one chip
(ONNX Runtime, one thread).

    nice -n 10 python benchmarks/face_towers.py            # writes results/benchmarks/face_towers.json

Embeddings are cached in `results/cache/face_towers/` (not committed): reruns only score.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import describe_host, host  # noqa: E402
from application_data import DATA, REPO, _class_pairs, _face_images, _rng, face_split  # noqa: E402
from faces import CALIBRATION_PAIRS, CELEBA, PAIRS, STUDIO_PAIRS, celeba_people, photos_of  # noqa: E402

CACHE = REPO / "results" / "cache" / "face_towers"
OUT = REPO / "results" / "benchmarks" / "face_towers.json"
STRANGER_SHARE, FPIRS, LARGEST, TIMED = 0.2, (0.01, 0.001), 1000, 40

"""
## Embedding each photo once per tower
"""


def embed_photos(paths: list, name: str) -> dict:
    """{"faces", "mobilefacenet", "mobilefacenet-mirror": embeddings, "faceless": count}, cached by `name`."""
    cached = CACHE / f"{name}.npz"
    if cached.is_file():
        return dict(np.load(cached))
    from siamese import load_model
    from siamese.data import read_image
    from siamese.data.faces import cut_chip, find_faces, whole_image_face

    dlib_chips, arcface_chips, faceless = [], [], 0
    for path in paths:
        image = read_image(path, channels=3)
        faces = find_faces(image)
        faceless += not faces
        landmarks = faces[0].landmarks if faces else whole_image_face(image).landmarks
        dlib_chips.append(cut_chip(image, landmarks, 150, "dlib"))
        arcface_chips.append(cut_chip(image, landmarks, 112, "arcface"))
    found = {
        "faces": load_model("faces").embed(dlib_chips, detect=False),
        "mobilefacenet": load_model("faces-mobilefacenet").embed(arcface_chips, detect=False),
        "mobilefacenet-mirror": mirrored_mobilefacenet(np.stack(arcface_chips)),
        "faceless": np.array(faceless),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cached, **found)
    return found


def mirrored_mobilefacenet(chips: np.ndarray) -> np.ndarray:
    """The shipped MobileFaceNet's embeddings (before unit length) of each chip and of its mirror
    image, summed, unit length: what `tools/convert_mobilefacenet.py --mirror` builds."""
    import keras

    from siamese.model import load_network
    from siamese.shipped import pretrained_path

    tower = load_network(pretrained_path("faces-mobilefacenet")).tower
    inner = next(layer for layer in tower.layers if isinstance(layer, keras.Model))
    images = chips.astype(np.float32) / 255.0
    raw = [np.asarray(inner.predict(x, batch_size=64, verbose=0)) for x in (images, images[:, :, ::-1])]
    return unit(raw[0] + raw[1])


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def methods(found: dict) -> dict:
    """{method: (embeddings, distance name)}."""
    faces_l2 = unit(found["faces"])
    return {
        "faces": (found["faces"], "euclidean"),
        "faces-l2": (faces_l2, "euclidean"),
        "mobilefacenet": (found["mobilefacenet"], "cosine"),
        "mobilefacenet-mirror": (found["mobilefacenet-mirror"], "cosine"),
        "fusion": (np.hstack([faces_l2, found["mobilefacenet"]]) / np.sqrt(2.0), "cosine"),
    }


"""
## Scoring
"""


def distances(a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
    """The distance of each row of `a` to the same row of `b`."""
    if name == "cosine":
        return 1.0 - np.sum(a * b, axis=-1)
    return np.linalg.norm(a - b, axis=-1)


def nearest(queries: np.ndarray, gallery: np.ndarray, name: str) -> tuple:
    """(index, distance) of each query's nearest gallery row."""
    if name == "cosine":
        table = 1.0 - queries @ gallery.T
    else:
        table = np.sqrt(
            np.maximum((queries**2).sum(1)[:, None] + (gallery**2).sum(1)[None] - 2 * queries @ gallery.T, 0)
        )
    index = table.argmin(axis=1)
    return index, table[np.arange(len(queries)), index]


def open_set(embeddings: np.ndarray, name: str, trial: dict) -> dict:
    """Rank-1 and FNIR at each FPIR of one trial: rows of `embeddings` enrolled (with their
    labels), mated queries (with the label they should get) and strangers."""
    gallery, labels = embeddings[trial["enrolled"]], trial["enrolled_labels"]
    index, distance = nearest(embeddings[trial["queries"]], gallery, name)
    right = labels[index] == trial["query_labels"]
    _, stranger = nearest(embeddings[trial["strangers"]], gallery, name)
    stranger = np.sort(stranger)
    result = {"enrolled": len(gallery), "queries": len(right), "strangers": len(stranger), "rank1": float(right.mean())}
    for fpir in FPIRS:
        allowed = int(np.floor(fpir * len(stranger)))  # strangers who may be named
        threshold = stranger[allowed] - 1e-12 if allowed < len(stranger) else np.inf
        result[f"fnir_at_fpir_{fpir:g}"] = float(np.mean(~(right & (distance <= threshold))))
        result[f"strangers_named_at_fpir_{fpir:g}"] = allowed
    return result


def first_photos(labels: np.ndarray, people) -> list:
    """The row of the first photo of each person."""
    return [int(np.flatnonzero(labels == person)[0]) for person in people]


def rows_of(labels: np.ndarray, people) -> list:
    return [int(i) for i in np.flatnonzero(np.isin(labels, list(people)))]


def celeba_trials(labels: np.ndarray, test: list, calibration: list, distractor_rows: list) -> dict:
    """The open-set trials (see the protocol) over the rows of one table: `labels` the person
    of each row, `distractor_rows` rows of other people (Yale, Extended Yale B) to enrol as distractors."""
    cut = len(test) - int(round(len(test) * STRANGER_SHARE))
    enrolled, strangers = test[:cut], test[cut:]
    trials = {}
    for count in (100, len(enrolled)):
        trials[str(count)] = _trial(labels, enrolled[:count], rows_of(labels, strangers) + rows_of(labels, calibration))
    trial = _trial(labels, enrolled, rows_of(labels, strangers))
    distractors = first_photos(labels, calibration) + list(distractor_rows)
    seconds = [int(np.flatnonzero(labels == person)[1]) for person in calibration]
    distractors += seconds[: max(0, LARGEST - len(enrolled) - len(distractors))]
    trial["enrolled"] = np.concatenate([trial["enrolled"], distractors]).astype(int)
    trial["enrolled_labels"] = np.concatenate([trial["enrolled_labels"], -1 - np.arange(len(distractors))])
    trials[str(len(trial["enrolled"]))] = trial
    return trials


def _trial(labels: np.ndarray, people: list, strangers: list) -> dict:
    """One photo of each of `people` enrolled, their other photos as queries, `strangers` (rows) never enrolled."""
    first = first_photos(labels, people)
    rest = sorted(set(rows_of(labels, people)) - set(first))
    return {
        "enrolled": np.array(first),
        "enrolled_labels": labels[first],
        "queries": np.array(rest),
        "query_labels": labels[rest],
        "strangers": np.array(strangers),
    }


def pairs_figures(embeddings: np.ndarray, name: str, pairs: tuple, threshold=None) -> dict:
    from siamese.evaluation import verification_metrics

    first, second, same = pairs
    metrics = verification_metrics(distances(embeddings[first], embeddings[second], name), same, threshold=threshold)
    return {
        "auc": metrics.auc.value,
        "eer": metrics.eer.value,
        "eer_interval": [metrics.eer.low, metrics.eer.high],
        "accuracy": None if metrics.accuracy is None else metrics.accuracy.value,
        "tar_at_far": metrics.to_dict()["tar_at_far"],
    }


def time_per_photo(paths: list) -> dict:
    """Median seconds per photo through `load_model(...).embed` (detect, chip, embed), the models in turn."""
    from siamese import load_model

    models = {name: load_model(name) for name in ("faces", "faces-mobilefacenet")}
    samples = {name: [] for name in models}
    for model in models.values():
        model.embed(paths[:1])  # warm-up: sessions, detector, predictor
    for path in paths:
        for name, model in models.items():
            start = time.perf_counter()
            model.embed([path])
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def tower_seconds(repeats: int = 30) -> dict:
    """Median seconds of each shipped tower on one chip, ONNX Runtime on one thread (no detection)."""
    import onnxruntime

    from siamese.shipped import pretrained_path

    found = {}
    for name, size in (("faces", 150), ("faces-mobilefacenet", 112)):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        path = str(pretrained_path(name).with_suffix(".onnx"))
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: np.random.default_rng(0).random((1, size, size, 3), np.float32)}
        session.run(None, feed)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            session.run(None, feed)
            times.append(time.perf_counter() - start)
        found[name] = statistics.median(times)
    return found


"""
## The run
"""


def studio(seed: int) -> dict:
    """{set: (paths, labels)} of the test people of `face_split(0)`, and ("first", ...) the first
    photo of every Yale and Extended Yale B person (the distractors)."""
    train, test = face_split(0, DATA)
    sets = {}
    for name in ("yalefaces", "extended-yale-b"):
        people = [p for p in test if p.startswith(name + "/")]
        if people:
            sets[name] = photos_of([_face_images(DATA, p) for p in people])
    everyone = sorted(train + test)
    sets["first"] = ([_face_images(DATA, p)[0] for p in everyone], np.arange(len(everyone)))
    return sets


def score_celeba(seed: int, studio_first: dict) -> dict:
    from siamese.training import ThresholdCalibrator

    calibration, test = celeba_people(DATA, seed)
    paths, labels = photos_of([sorted((DATA / CELEBA / p).glob("*.jpg")) for p in calibration + test])
    found = embed_photos(paths, f"celeba-{seed}")
    tail = len(found["faces"])
    first_rows = list(range(tail, tail + len(studio_first["faces"])))
    table = {
        key: np.vstack([found[key], studio_first[key]]) for key in ("faces", "mobilefacenet", "mobilefacenet-mirror")
    }
    labels = np.concatenate([labels, -1000 - np.arange(len(first_rows))])
    halves = {}
    for name, people, count in (
        ("calibration", range(len(calibration)), CALIBRATION_PAIRS),
        ("test", range(len(calibration), len(labels)), PAIRS),
    ):
        rows = rows_of(labels, people)
        first, second, same = _class_pairs(labels[rows], count, _rng(seed, f"faces:{CELEBA}:{name}"))[
            "same vs different"
        ]
        halves[name] = (np.array(rows)[first], np.array(rows)[second], same)
    trials = celeba_trials(
        labels, list(range(len(calibration), len(calibration) + len(test))), list(range(len(calibration))), first_rows
    )
    results = {"photos": len(paths), "faceless": int(found["faceless"])}
    for method, (embeddings, distance) in methods(table).items():
        calibration_pairs = halves["calibration"]
        d = distances(embeddings[calibration_pairs[0]], embeddings[calibration_pairs[1]], distance)
        threshold = ThresholdCalibrator("accuracy").fit(d, calibration_pairs[2]).threshold_
        results[method] = {
            "pairs": pairs_figures(embeddings, distance, halves["test"], threshold),
            "identification": {n: open_set(embeddings, distance, trial) for n, trial in trials.items()},
        }
    return results


def score_studio(name: str, paths: list, labels: np.ndarray, seed: int) -> dict:
    found = embed_photos(paths, f"{name}-{seed}")
    pairs = _class_pairs(labels, STUDIO_PAIRS, _rng(seed, f"faces:{name}:0"))["same vs different"]
    results = {"photos": len(paths), "faceless": int(found["faceless"])}
    trial = _trial(labels, sorted(set(labels)), [])
    for method, (embeddings, distance) in methods(found).items():
        index, _ = nearest(embeddings[trial["queries"]], embeddings[trial["enrolled"]], distance)
        rank1 = float(np.mean(trial["enrolled_labels"][index] == trial["query_labels"]))
        results[method] = {"pairs": pairs_figures(embeddings, distance, pairs), "rank1": rank1}
    return results


def tables(report: dict) -> str:
    """The figures as markdown tables: CelebA (pairs, identification), then each studio set."""
    celeba = report["celeba"]
    sizes = list(celeba["faces"]["identification"])
    head = "| method | AUC | EER | accuracy | " + " | ".join(f"N={n}: rank-1, FNIR@1% / @0.1%" for n in sizes)
    lines = [head + " |", "|---" * (4 + len(sizes)) + "|"]
    for method, row in celeba.items():
        if not isinstance(row, dict):
            continue
        pairs, cells = row["pairs"], []
        for n in sizes:
            trial = row["identification"][n]
            cells.append(f"{trial['rank1']:.1%}, {trial['fnir_at_fpir_0.01']:.1%} / {trial['fnir_at_fpir_0.001']:.1%}")
        lines.append(
            f"| {method} | {pairs['auc']:.4f} | {pairs['eer']:.4f} | {pairs['accuracy']:.4f} | "
            + " | ".join(cells)
            + " |"
        )
    for name in ("yalefaces", "extended-yale-b"):
        if name in report:
            lines += ["", f"| {name} | AUC | EER | rank-1 |", "|---|---|---|---|"]
            for method, row in report[name].items():
                if isinstance(row, dict):
                    lines.append(
                        f"| {method} | {row['pairs']['auc']:.4f} | {row['pairs']['eer']:.4f} | {row['rank1']:.1%} |"
                    )
    for key, unit in (("seconds_per_photo", "photo"), ("seconds_per_chip", "chip, the tower alone, one thread")):
        if key in report:
            lines += ["", " ".join(f"{k}: {1000 * v:.1f} ms/{unit}" for k, v in report[key].items())]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timed", type=int, default=TIMED, help="photos timed one at a time (0: no timing)")
    args = parser.parse_args(argv)
    if not (DATA / CELEBA).is_dir():
        print(f"{DATA / CELEBA}: not found; nothing measured")
        return 0
    print(describe_host())
    sets = studio(args.seed)
    first_paths, _ = sets.pop("first")
    report = {"host": host(), "seed": args.seed}
    report["celeba"] = score_celeba(args.seed, embed_photos(first_paths, "studio-first"))
    for name, (paths, labels) in sets.items():
        report[name] = score_studio(name, paths, labels, args.seed)
    if args.timed:
        _, test = celeba_people(DATA, args.seed)
        paths = [sorted((DATA / CELEBA / p).glob("*.jpg"))[0] for p in test[: args.timed]]
        report["seconds_per_photo"] = time_per_photo(paths)
        report["seconds_per_chip"] = tower_seconds()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(tables(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
