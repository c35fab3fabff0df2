"""What a gallery answers: an identification (1:N) with its candidates, a claim's verification (1:1)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    distance: float


@dataclasses.dataclass(frozen=True)
class Identification:
    """Who it is: `name` (or "unknown" when even the nearest is farther than the threshold),
    the nearest identity's distance, and the `top` nearest identities, nearest first;
    `reason` says where the threshold came from (`siamese.open_set.operating_point`)."""

    name: str
    distance: float | None
    known: bool
    threshold: float
    candidates: tuple
    model_id: str
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class ClaimVerification:
    """Is the image who it claims to be? `score` of the image against the `references`
    enrolled embeddings of `name` under `rule` (`siamese.claims`), accepted when at or below
    `threshold`; `distances` to each reference, in enrolment order; `reason` says where the
    threshold came from (`siamese.open_set.claim_point`). `distance` and `same` read it as
    the two-image `Verification` does."""

    name: str
    rule: str
    score: float
    threshold: float
    accepted: bool
    references: int
    distances: tuple
    model_id: str
    reason: str = ""

    @property
    def distance(self) -> float:
        return self.score

    @property
    def same(self) -> bool:
        return self.accepted
