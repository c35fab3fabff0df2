"""`siamese verify A B`: same or different, with the distance and the threshold.

`siamese verify --gallery G --claim NAME IMAGE`: is IMAGE NAME? Scored against every
reference of NAME in the gallery (`Gallery.verify_claim`), accepted or rejected.

With `--liveness`, the query (IMAGE, or A of A B: B may be a document's photo) must be a live
face: a presentation attack (a printed photo) is refused first, one line naming it and its
liveness score, exit status 2.
"""

from __future__ import annotations

import dataclasses
import json

from siamese.cli.liveness import refuse_attacks
from siamese.errors import SiameseError


def _claim(args) -> int:
    from siamese.gallery import Gallery

    if args.gallery is None or args.image2 is not None:
        raise SiameseError(
            "--claim NAME takes --gallery G and one image: siamese verify --gallery G --claim NAME IMAGE"
        )
    checked = refuse_attacks(args, [args.image1])  # an attack is refused before the gallery is opened
    gallery = Gallery.open(args.gallery, args.model)
    try:
        result = gallery.verify_claim(args.claim, args.image1, rule=args.rule or "mean", threshold=args.threshold)
    finally:
        gallery.close()
    if args.json:
        answer = {**dataclasses.asdict(result), "distance": result.distance, "same": result.same}
        print(json.dumps({**answer, "liveness": checked[args.image1]} if checked else answer))
    else:
        verdict = "accepted" if result.accepted else "rejected"
        print(
            f"{verdict}: {result.name} ({result.rule} score {result.score:.4f}, threshold {result.threshold:.4f}, "
            f"{result.references} reference(s): {result.reason})"
        )
    return 0


def run(args) -> int:
    import siamese
    from siamese.data.faces import FaceLog

    if args.claim is not None:
        return _claim(args)
    if args.image2 is None or args.gallery is not None or args.rule is not None:
        raise SiameseError("verify takes two images (siamese verify A B), or --gallery G --claim NAME IMAGE [--rule R]")

    checked = refuse_attacks(args, [args.image1])  # the query only: image2 may be a document's photo
    model = siamese.load_model(args.model, engine=args.engine)
    faces = FaceLog(keep_faceless=False)
    result = model.verify(args.image1, args.image2, threshold=args.threshold, detect=args.detect, faces=faces)
    if args.json:
        answer = {"same": result.same, "distance": result.distance, "threshold": result.threshold}
        if faces.found:  # a face model: how many faces each image holds, and where (the largest is used)
            answer["faces"] = {image: faces.describe(image) for image in (args.image1, args.image2)}
        if checked:
            answer["liveness"] = checked[args.image1]
        print(json.dumps(answer))
    else:
        verdict = "same" if result.same else "different"
        print(f"{verdict} (distance {result.distance:.4f}, threshold {result.threshold:.4f})")
    return 0
