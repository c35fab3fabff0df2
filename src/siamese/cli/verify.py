"""`siamese verify A B`: same or different, with the distance and the threshold."""

from __future__ import annotations

import json


def run(args) -> int:
    import siamese
    from siamese.data.faces import FaceLog

    model = siamese.load_model(args.model, engine=args.engine)
    faces = FaceLog(keep_faceless=False)
    result = model.verify(args.image1, args.image2, threshold=args.threshold, detect=args.detect, faces=faces)
    if args.json:
        answer = {"same": result.same, "distance": result.distance, "threshold": result.threshold}
        if faces.found:  # a face model: how many faces each image holds, and where (the largest is used)
            answer["faces"] = {image: faces.describe(image) for image in (args.image1, args.image2)}
        print(json.dumps(answer))
    else:
        verdict = "same" if result.same else "different"
        print(f"{verdict} (distance {result.distance:.4f}, threshold {result.threshold:.4f})")
    return 0
