"""Typed errors: every problem with the user's input is one of these.

Each message is one line that starts with the file (or argument) at fault and says what is
wrong with it, so the CLI can print it as it is and exit with status 2.
"""


class SiameseError(Exception):
    """Base class: a problem with the user's input, not a bug in siamese."""


class ConfigError(SiameseError, ValueError):
    """A setting is out of range or not one of its names (a ValueError too, for callers that catch those)."""


class ImageError(SiameseError):
    """An image file is missing, is not an image, or cannot be used by the model."""


class ImageTooLargeError(ImageError):
    """An image declares more `pixels` than `siamese.data.images.MAX_PIXELS` (the service answers 413)."""

    def __init__(self, message: str, pixels: int):
        super().__init__(message)
        self.pixels = pixels


class NoFaceError(ImageError):
    """A face model was given an image in which no face is found (pass detect=False for face chips)."""


class PresentationAttackError(ImageError):
    """A liveness check judged the image a presentation attack (a printed photo, a screen), not a live face."""


class ReferenceQualityError(ImageError):
    """An image refused as an enrolment reference: several faces of similar size, or a face too small to trust."""


class DatasetError(SiameseError):
    """A dataset folder, archive or pairs file cannot be used for training or evaluation."""


class ModelFileError(SiameseError):
    """A model file is missing or is not a siamese model."""


class OutputError(SiameseError):
    """A model or result file cannot be written (read-only folder, disk full), or another run holds it."""


class TrainingError(SiameseError):
    """Training cannot go on (the loss became NaN or exploded); the last good model is kept."""


class GalleryError(SiameseError):
    """A gallery cannot be used as asked: not a gallery, another schema, another model, an unknown name."""


class UnknownIdentityError(GalleryError):
    """No identity of that name is enrolled in the gallery (the service answers 404)."""


class GalleryUnavailableError(GalleryError):
    """The gallery's database cannot be reached (PostgreSQL down or refusing); the service answers 503."""


class GalleryDatabaseError(GalleryError):
    """The gallery's database answered but did not complete a statement (a timeout, a deadlock, no right to a
    table): not the request's fault; the service answers 500 without the details, which go to its log."""


class DistributionError(SiameseError):
    """Data-parallel training cannot be set up as asked: a backend without it, or a cluster it cannot join."""


class BackendError(SiameseError):
    """The Keras backend in use cannot do what was asked (a TensorFlow-only export, say); the message names it."""


class ShardError(SiameseError):
    """A folder of embedding shards cannot be used as asked: not shards, or another model's embeddings."""
