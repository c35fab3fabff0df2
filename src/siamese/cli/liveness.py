"""`siamese liveness IMAGE...`: live face or presentation attack, with the score; and the
`--liveness` check of verify, identify and enroll.

    $ siamese liveness door.jpg photo.jpg --json
    {"image": "door.jpg", "live": true, "score": 0.9948, "box": [134, 154, 180, 180], "threshold": 0.5}
    {"image": "photo.jpg", "live": false, "score": 0.196, "box": [154, 154, 180, 180], "threshold": 0.5}

A file that cannot be judged (missing, not an image, no face) is one line on stderr; the
others are still judged, and the exit status is then 2.

`siamese evaluate liveness LIVE --attacks ATTACKS` gives the ISO/IEC 30107-3 figures, and
`siamese calibrate liveness LIVE --attacks ATTACKS --target-apcer 0.01 --out mine.onnx` writes
a copy of the detector deciding at the threshold that accepts at most 1% of those attacks
(`--liveness-model mine.onnx`, `siamese serve --liveness-model mine.onnx` then use it).
"""

from __future__ import annotations

import json
import sys

from siamese.errors import ConfigError, ImageError


def run(args) -> int:
    from siamese.inference.liveness import check_threshold, load_liveness

    threshold = None if args.threshold is None else check_threshold(args.threshold)
    model = load_liveness(args.model)
    failed = False
    for image in args.images:
        try:
            result = model.check(image, threshold=threshold, name=image)
        except ImageError as error:
            print(f"siamese: error: {error}", file=sys.stderr, flush=True)
            failed = True
            continue
        if args.json:
            print(json.dumps({"image": image, **result.to_dict()}), flush=True)
        else:
            verdict = "live" if result.live else "attack"
            print(f"{image}: {verdict} (liveness score {result.score:.4f}, threshold {result.threshold:.4f})")
    return 2 if failed else 0


def liveness_model(args):
    """The liveness model `--liveness` asks for (with its `--liveness-threshold`), or None without it."""
    if not getattr(args, "liveness", False):
        return None
    from siamese.inference.liveness import load_liveness

    model = load_liveness(args.liveness_model)
    return model if args.liveness_threshold is None else model.with_threshold(args.liveness_threshold)


def refuse_attacks(args, images) -> dict | None:
    """With --liveness: each image's verdict ({image: {live, score, box, threshold}}), or the one-line
    `PresentationAttackError` of the first attack; None without --liveness."""
    model = liveness_model(args)
    if model is None:
        return None
    return {str(image): model.require_live(image, name=str(image)).to_dict() for image in images}


def _scores(args):
    """(the liveness model of MODEL, live scores, attack scores, frames without a face) for --attacks."""
    from siamese.data.image_list import ImageList
    from siamese.evaluation.liveness import score_images
    from siamese.inference.liveness import load_liveness

    if args.data is None:
        raise ConfigError("--attacks DIR needs DATA too: a folder (or .zip) of live frames")
    live, attacks = ImageList.open([args.data]), ImageList.open([args.attacks])  # read before the model loads
    model = load_liveness(str(args.model))
    live_scores, live_faceless = score_images(lambda frame: model.check(frame).score, live)
    attack_scores, attack_faceless = score_images(lambda frame: model.check(frame).score, attacks)
    for name in live_faceless + attack_faceless:
        print(f"siamese: warning: {name}: no face found; refused", file=sys.stderr)
    return model, live_scores, attack_scores


def evaluate_attacks(args) -> int:
    """`siamese evaluate MODEL LIVE --attacks ATTACKS`: ISO/IEC 30107-3 figures (`siamese.evaluation.liveness`)."""
    from siamese.evaluation.liveness import attack_metrics, format_attack_metrics

    model, live, attacks = _scores(args)
    metrics = attack_metrics(live, attacks, model.threshold)
    print(format_attack_metrics(metrics))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        print(f"metrics: {args.out / 'metrics.json'}")
    return 0


def calibrate_attacks(args) -> int:
    """`siamese calibrate MODEL LIVE --attacks ATTACKS --target-apcer A [--out FILE.onnx]`: the threshold
    that accepts at most A of the attacks, written into a copy of the model (never the shipped file)."""
    from siamese.evaluation.liveness import attack_metrics, threshold_for_apcer
    from siamese.registry import LIVENESS_MODELS

    out = args.out if args.out is not None else args.model
    if str(out) in LIVENESS_MODELS:
        raise ConfigError(f"the shipped {out!s} model is never changed: give --out FILE.onnx for the calibrated copy")
    model, live, attacks = _scores(args)
    threshold = threshold_for_apcer(attacks, args.target_apcer)
    metrics = attack_metrics(live, attacks, threshold, targets=())
    model.save(out, threshold=threshold)
    print(
        f"liveness threshold {model.threshold:.4f} -> {threshold:.4f} (APCER {metrics['apcer']['value']:.4f} on "
        f"{len(attacks)} attacks, BPCER {metrics['bpcer']['value']:.4f} on {len(live)} live frames), saved in {out}; "
        f"use it with --liveness-model {out}"
    )
    return 0
