"""Batch commands and face models: a photo with no face found is warned about, taken whole as the face and counted."""

from __future__ import annotations

import functools


def batch_embed(model, detect: bool, on_no_face: str = "whole"):
    """(embed, log, note): `model.embed` for batch work (by default a photo without a face is
    taken whole), the `FaceLog` it fills, and for a face model the note `evaluate` puts in its
    metrics and report (None otherwise)."""
    from siamese.data.faces import FaceLog

    log = FaceLog()
    embed = functools.partial(model.embed, detect=detect, on_no_face=on_no_face, faces=log)
    face_model = model.preprocessing.crop == "face" and detect
    return embed, log, (lambda: {"faces_not_found": len(log.faceless)}) if face_model else None


def say_faceless(log) -> None:
    """One line with the count, when there are any (each was named in a warning as it came)."""
    if log.faceless:
        print(
            f"faces not found: {len(log.faceless)} (the whole photo taken as the face, each named in a warning above)"
        )
