"""`siamese embed IMAGE... --out FILE.npy`: one embedding per image, written atomically."""

from __future__ import annotations

from siamese.cli.faces import batch_embed, say_faceless
from siamese.cli.progress import Progress


def run(args) -> int:
    import numpy as np

    import siamese
    from siamese.files import atomic_path

    model = siamese.load_model(args.model, engine=args.engine)
    progress = Progress()
    embed, faces, _ = batch_embed(model, args.detect)
    try:
        embeddings = embed(args.images, batch_size=args.batch_size, workers=args.workers, progress=progress)
    finally:
        progress.close()
    with atomic_path(args.out) as temporary:
        with open(temporary, "wb") as handle:
            np.save(handle, embeddings)
    print(f"{embeddings.shape[0]} embeddings of size {embeddings.shape[1]} written to {args.out}")
    say_faceless(faces)
    return 0
