"""`siamese embed IMAGE... --out FILE.npy`: one embedding per image, written atomically.

`siamese embed DATA... --out DIR [--ray [ADDRESS]]`: every image of folders, zips and .txt
lists, into Parquet shards (`siamese.inference.shards`), in this process or on Ray; a bad
image is named and left out, a shard already written is skipped.
"""

from __future__ import annotations

from siamese.cli.faces import batch_embed, say_faceless
from siamese.cli.progress import Progress


def run(args) -> int:
    from siamese.data.image_list import is_collection

    if args.ray is not None or any(is_collection(path) for path in args.images):
        return _run_sharded(args)
    import numpy as np

    import siamese
    from siamese.files import atomic_path

    model = siamese.load_model(args.model, engine=args.engine)
    progress = Progress()
    embed, faces, _ = batch_embed(model, args.detect, args.on_no_face)
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


def _run_sharded(args) -> int:
    from siamese.errors import ConfigError

    if args.out.suffix == ".npy":
        raise ConfigError(
            f"--out {args.out}: shards go to a folder, not a .npy file (DATA holds a folder, zip or list)"
        )
    settings = dict(model=args.model, engine=args.engine, batch_size=args.batch_size)
    settings.update({} if args.shard_size is None else {"shard_size": args.shard_size})
    settings.update(detect=args.detect, on_no_face=args.on_no_face, progress=Progress())
    try:
        if args.ray is not None:
            from siamese.inference.ray_embedding import embed_on_ray

            job = embed_on_ray(
                args.images, args.out, address=args.ray, actors=args.actors, workers=args.workers or 1, **settings
            )
        else:
            from siamese.inference.sharded_embedding import embed_to_shards

            job = embed_to_shards(args.images, args.out, workers=args.workers, **settings)
    finally:
        settings["progress"].close()
    where = f" on Ray ({args.ray or 'local'})" if args.ray is not None else ""
    print(
        f"{job.embedded} embeddings in {job.written} new shard(s) of {job.shards} written to {args.out}{where}; "
        f"{job.skipped} shard(s) already written, skipped"
    )
    if job.problems:
        print(f"images left out: {len(job.problems)} (cannot be read or decoded)")
        for problem in job.problems:
            print(f"  {problem}")
    if job.faceless:
        print(f"faces not found: {len(job.faceless)} (the whole photo taken as the face)")
    return 0
