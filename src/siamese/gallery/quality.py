"""What a gallery takes as an enrolment reference: one face, large enough, live when asked.

A reference is what every later claim is measured against, so a poor one costs every log-in
after it. `embed_references` refuses, one line naming the image, a reference in which no face
is found, several faces of similar size, or a face too small to trust (`check_reference_faces`
says the sizes), and, given a liveness model, a presentation attack
(`siamese.inference.liveness`). Nothing is stored when one image of several is refused.
"""

from __future__ import annotations

import numpy as np

from siamese.data.faces import FaceLog
from siamese.data.images import as_image_list
from siamese.data.named import image_name
from siamese.errors import NoFaceError, ReferenceQualityError
from siamese.inference import SiameseModel
from siamese.registry import ON_NO_FACE

# An enrolment reference is refused when its face's box is narrower or shorter than this many
# pixels (the 150-pixel chip would be blown up more than 2.3 times: CelebA's 160-pixel photos
# have faces of 75 and more), or when a second face is at least this share of the largest's
# area (which of them is meant is a guess; faces in the background are a tenth of it or less).
MIN_REFERENCE_SIDE = 64
SIMILAR_AREA = 0.5


def embed_references(
    model: SiameseModel,
    images,
    *,
    detect: bool = True,
    on_no_face: str | None = None,
    faces: FaceLog | None = None,
    liveness=None,
) -> np.ndarray:
    """The embeddings of `images`, every one of them checked as a reference first; `faces` (if
    given) is told what was found; `liveness`: a `LivenessModel` every image must pass, or None.
    `on_no_face="whole"` takes an image without a face whole (named in a warning) instead of refusing it."""
    images = as_image_list(images)
    if liveness is not None:
        for index, image in enumerate(images):
            liveness.require_live(image, name=image_name(index, image))
    whole = ON_NO_FACE.check(on_no_face) == "whole" if on_no_face is not None else False
    found = FaceLog(keep_faceless=whole)
    try:
        embeddings = model.embed(images, detect=detect, faces=found)
    finally:  # the caller's log hears what was found, even in an image refused for having no face
        for name, seen in found.found.items() if faces is not None else ():
            faces.record(name, seen)
    check_reference_faces(found, faceless=whole)
    return embeddings


def check_reference_faces(log: FaceLog, *, faceless: bool = False) -> None:
    """Refuse, one line naming the image, a reference in which the face step found no face
    (unless `faceless`: taken whole, as asked), several faces of similar size (`SIMILAR_AREA`)
    or a face smaller than `MIN_REFERENCE_SIDE`."""
    for name, faces in log.found.items():
        if not faces:
            if faceless:
                continue
            raise NoFaceError(f"{name}: no face found; a reference needs one face")
        if len(faces) > 1 and faces[1].area >= SIMILAR_AREA * faces[0].area:
            raise ReferenceQualityError(
                f"{name}: {len(faces)} faces of similar size (the second at least {SIMILAR_AREA:.0%} of the "
                "largest's area); a reference needs one person"
            )
        width, height = faces[0].box[2:]
        if min(width, height) < MIN_REFERENCE_SIDE:
            raise ReferenceQualityError(
                f"{name}: a face of {width}x{height} pixels, too small to trust as a reference "
                f"(at least {MIN_REFERENCE_SIDE}x{MIN_REFERENCE_SIDE})"
            )
