"""How an image becomes the tower's input: the settings saved in every model.

The same `Preprocessing` is stored with the model, so inference, galleries and the service
prepare images exactly as training did (`siamese.data.images.preprocess` applies it).
"""

from __future__ import annotations

import dataclasses

from siamese.errors import ConfigError
from siamese.registry import CONTRASTS, CROPS, FACE_TEMPLATES, STROKES


@dataclasses.dataclass(frozen=True, kw_only=True)
class Preprocessing:
    """How an image becomes the tower's input; saved with the model.

    Args:
        image_size: (height, width) the image is resized to.
        channels: 1 (grey) or 3 (RGB).
        invert: map dark ink on light paper to bright ink on a dark (zero) background, which
            suits convolutions with zero padding (None, in a training config: decided from the data).
        crop: "ink" (the box around the strokes), "face" (the largest face, aligned by its 5
            landmarks to dlib's face chip of the larger side of `image_size`; see
            `siamese.data.faces`) or "none"; see `siamese.data.framing`.
        face_template: where a face crop puts the 5 landmarks: "dlib" (dlib's chip, for dlib's
            ResNet) or "arcface" (the 112x112 five-point frame MobileFaceNet was trained on,
            scaled to the chip's size); see `siamese.data.faces.FACE_TEMPLATES`.
        contrast: "stretch" (darkest ink to black, paper to white), "binarize" (ink black,
            paper white, split at Otsu's threshold: the pen's grey says nothing), "equalize"
            (local histogram equalisation, for lighting) or "none".
        strokes: "even" redraws the ink at one width (a pen's, a stylus's and a phone's
            strokes differ 3x), "keep" leaves them.
        keep_aspect: pad to the aspect of `image_size` before resizing, never stretch.
    """

    image_size: tuple = (32, 32)
    channels: int = 1
    invert: bool | None = False
    crop: str = "none"
    face_template: str = "dlib"
    contrast: str = "none"
    strokes: str = "keep"
    keep_aspect: bool = False

    def __post_init__(self):
        size = tuple(int(s) for s in self.image_size)
        if len(size) != 2 or min(size) < 8:
            raise ConfigError(f"image_size must be (height, width) of at least 8, got {self.image_size!r}")
        object.__setattr__(self, "image_size", size)
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels!r}")
        CROPS.check(self.crop)
        FACE_TEMPLATES.check(self.face_template)
        CONTRASTS.check(self.contrast)
        STROKES.check(self.strokes)

    @property
    def input_shape(self) -> tuple:
        return (*self.image_size, self.channels)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "image_size": list(self.image_size)}

    def without_face_detection(self) -> Preprocessing:
        """The same steps without the face crop, for images that are already face chips
        (`--no-detect`): the image is taken whole and resized to `image_size`."""
        return dataclasses.replace(self, crop="none") if self.crop == "face" else self

    @classmethod
    def from_dict(cls, config: dict) -> Preprocessing:
        """Models saved before framing existed hold only size, channels and invert: the rest defaults."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in config.items() if key in names})
