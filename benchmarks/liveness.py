"""Liveness on NUAA's printed-photo attacks: the shipped detector's figures, split by subject.

**What.** The shipped `liveness` model (Minivision's MiniFASNetV2 + V1SE on ONNX Runtime,
the face found by the package's dlib detector) scores every frame of
`../shared/data/liveness-nuaa-dev` (live faces and printed photos of the same 5 subjects,
640x480 webcam frames). It reports, as ISO/IEC 30107-3 names them (`siamese.evaluation.liveness`):

1. APCER and BPCER, with Wilson intervals, of the reference decision rule (Minivision's: the
   arg-max of the two networks' summed softmax is "real") and of the shipped threshold on the
   score (the mean probability of "real");
2. BPCER at APCER 1% and 5% on all frames (the threshold fit on the very frames it is measured on);
3. the same split by subject: each subject in turn is held out, the APCER 1% threshold is fit
   on the other four subjects' attacks, and APCER / BPCER are counted on the held-out
   subject's frames (pooled over the five folds);
4. the time per frame: decoding, face detection, the two networks.

**Why.** A face log-in must refuse a printed photo of an enrolled person (issue 27: at most
1% of attacks accepted, at most 2% of live frames refused), and the threshold shipped with
the model must be chosen on figures, not copied.

    OMP_NUM_THREADS=1 python benchmarks/liveness.py            # every frame (724)
    python benchmarks/liveness.py --every 4                    # a quarter of them

Without the data it says so and exits 0. Results go to `results/benchmarks/liveness.json`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe_host, host, p50_p99  # noqa: E402

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "liveness-nuaa-dev"
OUT = REPO / "results" / "benchmarks" / "liveness.json"
TARGETS = (0.01, 0.05)

"""
## Scoring every frame

Each frame is decoded as the package decodes it (RGB), its largest face found, the two crops
cut and scored; the two networks' probabilities are kept, so that both decision rules read
the same numbers.
"""


def score_frames(model, frames):
    from siamese.data.faces import find_faces
    from siamese.data.images import read_image

    rows, times = [], {"decode": [], "detect": [], "networks": []}
    for path in frames:
        start = time.perf_counter()
        image = read_image(path, channels=3)
        decoded = time.perf_counter()
        faces = find_faces(image)
        detected = time.perf_counter()
        if not faces:
            rows.append(None)
            continue
        probabilities = model.probabilities(model.crops(image, faces[0].box))[0]
        done = time.perf_counter()
        rows.append(probabilities)
        for key, seconds in zip(times, (decoded - start, detected - decoded, done - detected)):
            times[key].append(seconds)
    return rows, times


"""
## The two decision rules

The score is the mean probability of "real" (class 1) over the two networks. Minivision's
rule takes the arg-max of the summed softmax; a frame without a face is refused by both.
"""


def decisions(rows, threshold):
    score = np.array([np.nan if r is None else r[:, 1].mean() for r in rows])
    argmax = np.array([r is not None and int(np.argmax(r.sum(axis=0))) == 1 for r in rows])
    return score, argmax, np.nan_to_num(score, nan=-np.inf) >= threshold


def by_subject(score, live, subjects, target):
    """Leave one subject out: the target-APCER threshold fit on the other subjects' attacks."""
    from siamese.evaluation.liveness import error_rates, threshold_for_apcer

    accepted = np.zeros(len(score), bool)
    thresholds = {}
    for subject in sorted(set(subjects)):
        held = subjects == subject
        fit = threshold_for_apcer(score[~held & ~live], target)
        thresholds[subject] = fit
        accepted[held] = np.nan_to_num(score[held], nan=-np.inf) >= fit
    rates = error_rates(accepted[live], accepted[~live])
    return {**{k: v.to_dict() for k, v in rates.items()}, "thresholds": thresholds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=1, help="score every Nth frame (default every frame)")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"{DATA} is not present; nothing to measure")
        return 0
    from siamese.evaluation.liveness import attack_metrics, error_rates
    from siamese.inference.liveness import load_liveness

    frames = sorted(DATA.glob("*/*/*.jpg"))[:: args.every]
    live = np.array([f.parts[-3] == "live" for f in frames])
    subjects = np.array([f.parts[-2] for f in frames])
    model = load_liveness()
    print(f"machine: {describe_host()}")
    print(
        f"{len(frames)} frames: {live.sum()} live, {(~live).sum()} printed-photo attacks, {len(set(subjects))} subjects"
    )
    rows, times = score_frames(model, frames)
    score, argmax, thresholded = decisions(rows, model.threshold)

    """
    ## Results
    """
    report = {"host": host(), "frames": len(frames), "live": int(live.sum()), "attacks": int((~live).sum())}
    report["no_face"] = {"live": int(np.isnan(score[live]).sum()), "attacks": int(np.isnan(score[~live]).sum())}
    report["reference_rule"] = {k: v.to_dict() for k, v in error_rates(argmax[live], argmax[~live]).items()}
    report["shipped_threshold"] = attack_metrics(score[live], score[~live], model.threshold, targets=TARGETS)
    report["threshold_0.5"] = attack_metrics(score[live], score[~live], 0.5, targets=())
    report["by_subject"] = {f"apcer_{t:g}": by_subject(score, live, subjects, t) for t in TARGETS}
    report["milliseconds"] = {key: [1000 * v for v in p50_p99(values)] for key, values in times.items()}
    disagree = int((argmax != thresholded).sum())
    report["rules_disagree"] = disagree
    for name, figures in (
        ("reference rule (arg-max)", report["reference_rule"]),
        (f"shipped threshold {model.threshold:g}", report["shipped_threshold"]),
        ("threshold 0.5", report["threshold_0.5"]),
    ):
        apcer, bpcer = figures["apcer"], figures["bpcer"]
        print(
            f"{name:<26} APCER {apcer['value']:.4f} [{apcer['low']:.4f}, {apcer['high']:.4f}]  "
            f"BPCER {bpcer['value']:.4f} [{bpcer['low']:.4f}, {bpcer['high']:.4f}]"
        )
    for target in TARGETS:
        pooled = report["shipped_threshold"][f"bpcer_at_apcer_{target:g}"]
        held = report["by_subject"][f"apcer_{target:g}"]
        print(
            f"at APCER {target:.0%}: all frames BPCER {pooled['value']:.4f} (threshold {pooled['threshold']:.4f}); "
            f"by subject APCER {held['apcer']['value']:.4f} BPCER {held['bpcer']['value']:.4f}"
        )
    print(f"frames the two rules decide differently: {disagree}; no face: {report['no_face']}")
    print(
        "ms per frame (p50, p99): "
        + ", ".join(f"{k} {v[0]:.1f} / {v[1]:.1f}" for k, v in report["milliseconds"].items())
    )
    live_scores, attack_scores = score[live & ~np.isnan(score)], score[~live & ~np.isnan(score)]
    report["live_scores_below_0.5"] = sorted(float(v) for v in live_scores[live_scores < 0.5])
    report["scores"] = {
        "live_min": float(live_scores.min()),
        "attack_max": float(attack_scores.max()),
        "live_p1": float(np.percentile(live_scores, 1)),
        "attack_p99": float(np.percentile(attack_scores, 99)),
    }
    print(
        f"scores: lowest live {report['scores']['live_min']:.4f}, highest attack {report['scores']['attack_max']:.4f}"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
