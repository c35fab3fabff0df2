"""What a gallery takes as an enrolment reference: one face, large enough, live when asked.

A reference is what every later claim is measured against, so a poor one costs every log-in
after it. `embed_references` refuses, one line naming the image, a reference in which no face
is found, several faces of similar size, or a face too small to trust (`siamese.data.faces.
check_reference_faces` says the sizes), and, given a liveness model, a presentation attack
(`siamese.inference.liveness`). Nothing is stored when one image of several is refused.
"""

from __future__ import annotations

import numpy as np

from siamese.data.faces import FaceLog, check_reference_faces
from siamese.data.images import as_image_list
from siamese.data.named import image_name
from siamese.inference import SiameseModel
from siamese.registry import ON_NO_FACE


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
