"""`siamese identify --gallery G IMAGE`: the best identity first (or "unknown"), then the nearest ones."""

from __future__ import annotations

import dataclasses
import json


def run(args) -> int:
    from siamese.gallery import Gallery

    gallery = Gallery.open(args.gallery)
    try:
        result = gallery.identify(args.image, top=args.top, threshold=args.threshold)
    finally:
        gallery.close()
    if args.json:
        print(json.dumps(dataclasses.asdict(result)))
        return 0
    nearest = "no one enrolled" if result.distance is None else f"distance {result.distance:.4f}"
    print(f"{result.name} ({nearest}, threshold {result.threshold:.4f})")
    for rank, candidate in enumerate(result.candidates, start=1):
        print(f"  {rank}. {candidate.name}  {candidate.distance:.4f}")
    return 0
