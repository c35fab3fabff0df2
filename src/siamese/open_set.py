"""Open-set identification: when is the nearest enrolled identity near enough to name?

A pair threshold answers "are these two images of one person?". A gallery asks "is this one
of the N enrolled?", and a stranger has N chances to fall near someone: with a per-pair
false-match rate p, about 1 - (1 - p)^N of strangers are named. The pair threshold of the
`faces` model named 89% of strangers among 382 people (docs/benchmarks.md).

An `OpenSetPoint` holds, for a target false-positive identification rate (FPIR: strangers
answered with a name), the rule's parameters at each of a range of gallery sizes (enrolled
embeddings). Two rules, with d1 the nearest identity's distance and d2 the runner-up's:

    nearest     name the nearest when d1 <= t(N)
    runner-up   name the nearest when d1 - w(N) * d2 <= t(N): a stranger's nearest and
                runner-up lie about as far (nobody is theirs), an enrolled person's own
                identity stands out from the rest, so a near runner-up tightens the bound

`siamese.training.OpenSetCalibrator` fits them on the user's own people and keeps the rule
that misses fewer enrolled people at the target (on CelebA the runner-up rule halved the
misses: docs/benchmarks.md); the point is stored with the model (`SiameseModel.open_set`).
Between the sizes fitted, t and w are interpolated in log size; below the smallest, the
smallest's; above the largest, the largest's (and the answer says so).

`operating_point` chooses what a gallery decides with, and says why:

    a threshold given           that threshold, for every size
    a calibrated open-set point its threshold for the gallery's size
    neither                     the model's pair threshold (strangers may well be named)

Numpy only, beside the chain: the gallery decides with it, the calibrator fits it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from siamese.errors import ConfigError, ModelFileError

RULES = ("nearest", "runner-up")


@dataclasses.dataclass(frozen=True)
class OpenSetPoint:
    """The rule's parameters by gallery size, for `target_fpir`.

    Args:
        target_fpir: the share of strangers named that the thresholds aim at.
        sizes: gallery sizes (enrolled embeddings), increasing.
        thresholds: the score's threshold at each size (more enrolled, stricter).
        weights: the runner-up's weight w at each size (the "runner-up" rule), or None (the
            "nearest" rule: w = 0): the nearest is named when d1 - w * d2 <= threshold, d2 the
            runner-up identity's distance; with no runner-up, `nearest` decides alone.
        nearest: the threshold on the nearest distance alone at each size (w = 0).
        people: how many people it was fitted on; `fitted`: the largest size fitted from them
            (beyond it the thresholds are extrapolated in log size).
    """

    target_fpir: float
    sizes: tuple
    thresholds: tuple
    weights: tuple | None = None
    nearest: tuple | None = None
    people: int = 0
    fitted: int = 0

    def __post_init__(self):
        sizes = np.asarray(self.sizes, float)
        rows = [self.thresholds] + [row for row in (self.weights, self.nearest) if row is not None]
        if not 0.0 < self.target_fpir < 1.0:
            raise ConfigError(f"target FPIR must be between 0 and 1, got {self.target_fpir}")
        if len(sizes) < 1 or np.any(np.diff(sizes) <= 0) or sizes[0] < 1 or any(len(r) != len(sizes) for r in rows):
            raise ConfigError("open-set sizes must be increasing, at least 1, one threshold each")
        if not all(np.all(np.isfinite(np.asarray(r, float))) for r in rows):
            raise ConfigError("open-set thresholds must be finite numbers")

    @property
    def rule(self) -> str:
        return "nearest" if self.weights is None else "runner-up"

    def _at(self, row, size: int) -> float:
        return float(np.interp(np.log(max(size, 1)), np.log(self.sizes), row))

    def rule_at(self, size: int) -> tuple[float, float]:
        """(t, w) for a gallery of `size`: the nearest is named when d1 <= t + w * d2 (w = 0: the nearest rule)."""
        weight = 0.0 if self.weights is None else self._at(self.weights, size)
        return self._at(self.thresholds, size), weight

    def threshold(self, size: int, runner_up: float | None = None) -> float:
        """The threshold on the nearest distance for a gallery of `size` embeddings (log-size
        interpolation, clamped): with the runner-up rule, `threshold + w * runner_up`, and
        beyond the size fitted from people never more than the nearest rule's (extrapolated
        in log size as 1 - (1 - p)^N grows), since t and w were never fitted there: held as
        they are, t + w * d2 named 3% of strangers among 100,000 where the nearest rule named 1%."""
        if self.weights is None:
            return self._at(self.thresholds, size)
        nearest = self._at(self.nearest, size)
        if runner_up is None:
            return nearest
        bound = self._at(self.thresholds, size) + self._at(self.weights, size) * float(runner_up)
        return min(bound, nearest) if self._extrapolated(size) else bound

    def _extrapolated(self, size: int) -> bool:
        return bool(self.fitted) and size > self.fitted

    def reason(self, size: int, runner_up: float | None = None) -> str:
        beyond = f"; beyond the {self.sizes[-1]:,} fitted: their threshold" if size > self.sizes[-1] else ""
        if self._extrapolated(size) and not beyond:
            capped = ", at most the nearest rule's" if self.weights is not None else ""
            beyond = f"; extrapolated beyond the {self.fitted:,} fitted{capped}"
        fitted = f", fitted on {self.people:,} people" if self.people else ""
        how = ""
        if self.weights is not None and runner_up is not None:
            how = (
                f": nearest at or below {self._at(self.thresholds, size):.4f} + "
                f"{self._at(self.weights, size):.2f} x the runner-up's {runner_up:.4f}"
            )
        return f"open-set {self.rule} rule for {size:,} enrolled at FPIR {self.target_fpir:.2%}{fitted}{how}{beyond}"

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "target_fpir": self.target_fpir,
            "sizes": [int(s) for s in self.sizes],
            "thresholds": [float(t) for t in self.thresholds],
            "weights": None if self.weights is None else [float(w) for w in self.weights],
            "nearest": None if self.nearest is None else [float(t) for t in self.nearest],
            "people": int(self.people),
            "fitted": int(self.fitted),
        }

    @classmethod
    def from_dict(cls, data: dict, *, name: str = "model") -> OpenSetPoint:
        """Parse the stored form; `name` (the model) starts the one-line error of a bad one."""

        def floats(key):
            return None if data.get(key) is None else tuple(float(v) for v in data[key])

        try:
            if data.get("rule", "nearest") not in RULES:
                raise ConfigError(f"rule {data.get('rule')!r}, this version reads {' or '.join(RULES)}")
            if (data.get("rule", "nearest") == "runner-up") != (data.get("weights") is not None):
                raise ConfigError("the runner-up rule needs its weights, the nearest rule has none")
            return cls(
                target_fpir=float(data["target_fpir"]),
                sizes=tuple(int(s) for s in data["sizes"]),
                thresholds=floats("thresholds"),
                weights=floats("weights"),
                nearest=floats("nearest") if data.get("weights") is not None else None,
                people=int(data.get("people", 0)),
                fitted=int(data.get("fitted", 0)),
            )
        except (ConfigError, KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelFileError(f"{name}: unreadable open-set point ({error})") from None


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """What a gallery decides with: name the nearest when its distance is at or below
    `threshold`; `reason` says where the threshold came from."""

    threshold: float
    reason: str


def operating_point(
    size: int | None,
    *,
    open_set: dict | None,
    pair_threshold: float | None,
    given: float | None = None,
    runner_up: float | None = None,
    name: str = "model",
) -> OperatingPoint | None:
    """The threshold for a gallery of `size` embeddings (read only for the open-set point) whose
    runner-up identity lies at `runner_up` (None: there is none): `given`, else the model's
    `open_set` point, else its `pair_threshold`; None when there is none of them."""
    if given is not None:
        return OperatingPoint(float(given), "threshold given")
    if open_set is not None:
        point = OpenSetPoint.from_dict(open_set, name=name)
        return OperatingPoint(point.threshold(size, runner_up), point.reason(size, runner_up))
    if pair_threshold is None:
        return None
    return OperatingPoint(
        float(pair_threshold),
        "the model's pair threshold: no open-set point calibrated, so strangers may be named "
        "(siamese calibrate MODEL PEOPLE --objective fpir)",
    )


def claim_point(
    references: int,
    rule: str,
    *,
    open_set: dict | None,
    pair_threshold: float | None,
    given: float | None = None,
    name: str = "model",
) -> OperatingPoint | None:
    """The threshold for a 1:1 claim (a log-in by name) scored by `rule` against `references`
    enrolled embeddings: `given`; else 0 for the svm rule (its classifier's boundary); else,
    for the distance rules (mean, min), the open-set point's nearest-rule threshold for a
    gallery of `references` embeddings: an impostor's nearest reference falls under it no more
    often than a stranger's nearest in such a gallery, so at most the point's target share of
    impostors is accepted (the mean of the distances lies above their minimum: fewer still),
    where the pair threshold, fit for accuracy on pairs, lets more in; else the pair threshold.
    None when there is none (the normalized rule's ratio always needs `given`)."""
    if given is not None:
        return OperatingPoint(float(given), "threshold given")
    if rule == "svm":
        return OperatingPoint(0.0, "the svm classifier's boundary")
    if open_set is not None and rule in ("mean", "min"):
        point = OpenSetPoint.from_dict(open_set, name=name)
        return OperatingPoint(
            point.threshold(references),
            f"open-set point read for a claim against {references} reference(s): "
            f"at most {point.target_fpir:.2%} of impostors accepted",
        )
    if pair_threshold is None or rule == "normalized":
        return None
    return OperatingPoint(float(pair_threshold), "the model's pair threshold (no open-set point calibrated)")


def false_positive_identification_rate(per_pair: np.ndarray, size: int) -> float:
    """Strangers named at a gallery of `size`, from each stranger's own per-pair false-match
    rate `per_pair` (n,): the mean of 1 - (1 - p)^size (each enrolled embedding one more
    independent chance; the strangers' spread of p kept, not averaged away)."""
    per_pair = np.clip(np.asarray(per_pair, float), 0.0, 1.0)
    return float(np.mean(-np.expm1(size * np.log1p(-np.minimum(per_pair, 1.0 - 1e-16)))))
