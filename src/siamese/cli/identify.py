"""`siamese identify --gallery G IMAGE`: the best identity first (or "unknown"), then the nearest ones."""

from __future__ import annotations

import dataclasses
import json

from siamese.cli.liveness import refuse_attacks


def run(args) -> int:
    from siamese.data.faces import FaceLog
    from siamese.gallery import Gallery

    checked = refuse_attacks(args, [args.image])  # with --liveness: an attack is refused, exit 2
    gallery = Gallery.open(args.gallery)
    faces = FaceLog(keep_faceless=False)
    try:
        result = gallery.identify(args.image, top=args.top, threshold=args.threshold, detect=args.detect, faces=faces)
    finally:
        gallery.close()
    if args.json:
        answer = dataclasses.asdict(result)
        if faces.found:  # a face model: how many faces the image holds, and where (the largest is used)
            answer["faces"] = faces.describe(args.image)
        if checked:
            answer["liveness"] = checked[args.image]
        print(json.dumps(answer))
        return 0
    nearest = "no one enrolled" if result.distance is None else f"distance {result.distance:.4f}"
    print(f"{result.name} ({nearest}, threshold {result.threshold:.4f}: {result.reason})")
    for rank, candidate in enumerate(result.candidates, start=1):
        print(f"  {rank}. {candidate.name}  {candidate.distance:.4f}")
    return 0
