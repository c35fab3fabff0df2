"""Presentation-attack detection figures, as ISO/IEC 30107-3 names them.

    APCER  attack presentation classification error rate: the share of attacks (printed
           photos, screens) accepted as live
    BPCER  bona fide presentation classification error rate: the share of live faces refused

each with its Wilson interval (`siamese.evaluation.intervals`), at the detector's threshold,
and BPCER at the threshold that holds APCER to 1% and to 5% (the standard's BPCER20 and
BPCER100 read the other way round: BPCER100 = BPCER at APCER 1%). A frame is accepted when its
score (higher = more likely live) is at least the threshold. A frame in which no face is found
(score NaN) is refused: a live one counts against BPCER, an attack is not accepted; both are
counted apart, as the standard asks for failures to acquire.

The scores come from a function handed in (`score_images`), so nothing here imports the
inference engine: `siamese evaluate liveness LIVE --attacks ATTACKS` hands it the shipped
detector's.
"""

from __future__ import annotations

import math

import numpy as np

from siamese.data.images import decode_image
from siamese.errors import ConfigError, ImageError, NoFaceError
from siamese.evaluation.intervals import proportion

TARGETS = (0.01, 0.05)


def score_images(score, images) -> tuple[np.ndarray, list]:
    """(scores, names of frames without a face) of every image of an `ImageList`, in its order;
    `score` takes a decoded RGB frame (named after its file) and returns a float, or raises `NoFaceError`."""
    scores, faceless = np.full(len(images), np.nan), []
    for index in range(len(images)):
        name = images.name(index)
        try:
            data = images.read(index)
        except OSError as error:
            raise ImageError(f"{name}: cannot be read ({error.strerror or error})") from None
        try:
            scores[index] = score(decode_image(data, name=name, channels=3))
        except NoFaceError:
            faceless.append(name)
    return scores, faceless


def threshold_for_apcer(attack_scores, target: float) -> float:
    """The lowest threshold that accepts at most `target` of the attacks (scores at or above it accepted)."""
    if not 0.0 <= target < 1.0:
        raise ConfigError(f"target APCER must be at least 0 and below 1, got {target}")
    scores = np.sort(np.nan_to_num(np.asarray(attack_scores, np.float64), nan=-np.inf))[::-1]
    if len(scores) == 0:
        raise ConfigError("no attack scores to set a threshold on")
    allowed = math.floor(target * len(scores) + 1e-9)  # attacks that may pass
    if allowed >= len(scores):
        return float(scores[-1])
    return float(np.nextafter(max(scores[allowed], 0.0), np.inf))


def error_rates(live_accepted, attack_accepted) -> dict:
    """APCER and BPCER (`Estimate`s) of accept decisions on live frames and on attacks."""
    live_accepted, attack_accepted = np.asarray(live_accepted, bool), np.asarray(attack_accepted, bool)
    if not len(live_accepted) or not len(attack_accepted):
        raise ConfigError("live frames and attacks are both needed to measure APCER and BPCER")
    return {
        "apcer": proportion(int(attack_accepted.sum()), len(attack_accepted)),
        "bpcer": proportion(int((~live_accepted).sum()), len(live_accepted)),
    }


def attack_metrics(live_scores, attack_scores, threshold: float, *, targets=TARGETS) -> dict:
    """APCER and BPCER at `threshold`, and BPCER (with its threshold) at each target APCER; as plain numbers."""
    live = np.nan_to_num(np.asarray(live_scores, np.float64), nan=-np.inf)
    attacks = np.nan_to_num(np.asarray(attack_scores, np.float64), nan=-np.inf)
    rates = error_rates(live >= threshold, attacks >= threshold)
    out = {"threshold": float(threshold), **{name: value.to_dict() for name, value in rates.items()}}
    for target in targets:
        at = threshold_for_apcer(attacks, target)
        held = error_rates(live >= at, attacks >= at)
        out[f"bpcer_at_apcer_{target:g}"] = {"threshold": at, **held["bpcer"].to_dict(), "apcer": held["apcer"].value}
    out["live_without_face"] = int(np.isneginf(live).sum())
    out["attacks_without_face"] = int(np.isneginf(attacks).sum())
    return out


def format_attack_metrics(metrics: dict) -> str:
    """The figures as a few aligned lines, intervals in brackets."""

    def rate(figure: dict) -> str:
        return f"{figure['value']:.4f} [{figure['low']:.4f}, {figure['high']:.4f}] n={figure['n']}"

    lines = [
        f"threshold              {metrics['threshold']:.4f}",
        f"APCER                  {rate(metrics['apcer'])}",
        f"BPCER                  {rate(metrics['bpcer'])}",
    ]
    for key, figure in metrics.items():
        if key.startswith("bpcer_at_apcer_"):
            label = f"BPCER at APCER {float(key.rsplit('_', 1)[1]):.0%}"
            lines.append(f"{label:<23}{rate(figure)} (threshold {figure['threshold']:.4f})")
    lines.append(
        f"no face found          {metrics['live_without_face']} live, {metrics['attacks_without_face']} attacks"
    )
    return "\n".join(lines)
