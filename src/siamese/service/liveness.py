"""The service's liveness check: a printed photo or a screen held up to the camera is refused.

    siamese serve --gallery people.db --liveness required   # the default for a face model's gallery

`required`: every query image (/verify's image1, /identify's image) and every /enroll image
must be a live face; `optional`: only when the request asks (form field `liveness=true`);
`off`: never (a request that asks is refused, so it never believes it was checked). `siamese
serve` defaults to `required` for a gallery of a face model (its crop is "face"), because there a
log-in is what a printed photo of an enrolled person attacks (issue 27: 105 of 105 such photos
were accepted before this check), and `off` otherwise: handwriting and signatures have no live
face to check. `create_app` without a gate checks nothing, as before.

A checked answer gains `"liveness": {"live": true, "score": 0.98, "threshold": 0.5, "box": [...]}`
(a list of them, one per image, for /enroll); an attack is refused 422 with one line,
`{"error": "image.jpg: a presentation attack, not a live face (liveness score 0.1960, threshold 0.5000)"}`.
The check runs in the request's thread, outside the gallery's lock.
"""

from __future__ import annotations

from siamese.errors import ConfigError
from siamese.inference.liveness import LivenessModel, load_liveness

MODES = ("required", "optional", "off")


def default_mode(gallery) -> str:
    """`required` for a gallery of a face model, `off` otherwise (see the module docstring)."""
    return "required" if gallery.model.preprocessing.crop == "face" else "off"


class LivenessGate:
    """Which uploads a service checks for liveness (`mode`), with which model (loaded at once, so
    a missing model fails when the service starts, not on its first request)."""

    def __init__(self, mode: str = "required", model: LivenessModel | str | None = None):
        if mode not in MODES:
            raise ConfigError(f"liveness must be one of {list(MODES)}, got {mode!r}")
        self.mode = mode
        self.model = None if mode == "off" else (model if isinstance(model, LivenessModel) else load_liveness(model))

    @classmethod
    def for_gallery(cls, gallery, mode: str | None = None, model: str | None = None) -> LivenessGate:
        return cls(mode or default_mode(gallery), model)

    def query(self, image, asked: bool | None = None) -> tuple:
        """(the image, its verdict or None): see `check`."""
        checked = self.check([image], asked)
        return image, None if checked is None else checked[0]

    def references(self, images: list, asked: bool | None = None) -> tuple:
        """(the images, their verdicts or None): see `check`."""
        return images, self.check(images, asked)

    def check(self, images, asked: bool | None = None) -> list | None:
        """Each decoded image's verdict as a dict, or None where this request is not checked; the
        first attack raises its one-line `PresentationAttackError` (422)."""
        if self.mode == "off":
            if asked:
                raise ConfigError("this service does not check liveness (siamese serve --liveness optional)")
            return None
        if self.mode == "optional" and not asked:
            return None
        return [self.model.require_live(image, name=getattr(image, "name", None)).to_dict() for image in images]


def with_liveness(answer: dict, checked) -> dict:
    """`answer` with the verdict(s) of the image(s) checked, if any were."""
    return answer if checked is None else {**answer, "liveness": checked}
