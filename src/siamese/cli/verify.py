"""`siamese verify A B`: same or different, with the distance and the threshold."""

from __future__ import annotations

import json


def run(args) -> int:
    import siamese

    model = siamese.load_model(args.model, engine=args.engine)
    result = model.verify(args.image1, args.image2, threshold=args.threshold)
    if args.json:
        print(json.dumps({"same": result.same, "distance": result.distance, "threshold": result.threshold}))
    else:
        verdict = "same" if result.same else "different"
        print(f"{verdict} (distance {result.distance:.4f}, threshold {result.threshold:.4f})")
    return 0
