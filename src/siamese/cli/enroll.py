"""`siamese enroll --gallery G NAME IMAGE...`: store NAME's embeddings, making the gallery if new.

A face model's references are checked (`siamese.gallery.quality`): an image without a face,
with several of similar size, with a face too small, or (`--liveness`) a presentation attack
is refused, one line naming it, and nothing is stored.

`siamese enroll --gallery G --shards DIR`: every embedding of the shards `siamese embed DATA
--out DIR` wrote, each under the name of its image's folder (or file); shards made by
another model than the gallery's are refused before anything is stored.
"""

from __future__ import annotations


def run(args) -> int:
    from siamese.errors import ConfigError

    if args.shards is not None:
        if args.name is not None:
            raise ConfigError("enroll: give NAME IMAGE... or --shards DIR, not both")
        if args.liveness:
            raise ConfigError("enroll: --liveness judges images; --shards holds embeddings only")
        return _enroll_shards(args)
    if args.name is None or not args.images:
        raise ConfigError("enroll: give NAME and one or more IMAGE files (or --shards DIR)")
    from siamese.cli.faces import say_faceless
    from siamese.cli.liveness import liveness_model
    from siamese.data.faces import FaceLog
    from siamese.gallery import Gallery, store_exists

    liveness = liveness_model(args)
    new = not store_exists(args.gallery)
    gallery = Gallery.open_or_create(args.gallery, args.model)
    try:  # a reference without a face (unless --on-no-face whole), with several, too small, or an attack: refused
        faces = FaceLog()
        count = gallery.enroll(
            args.name, args.images, detect=args.detect, on_no_face=args.on_no_face, faces=faces, liveness=liveness
        )
        print(f"enrolled {args.name}: {count} embedding(s) in {_made(gallery, args.gallery, new)}")
        say_faceless(faces)
    finally:
        gallery.close()
    return 0


def _made(gallery, path, new: bool) -> str:
    if not new:
        return str(path)
    return f"new gallery {path} for model {gallery.store.model_id[:12]} ({gallery.store.model})"


def _enroll_shards(args) -> int:
    from siamese.gallery import Embedded, Gallery, store_exists
    from siamese.inference.shards import identities, iter_shards, shard_footer, shard_paths

    first = shard_footer(shard_paths(args.shards)[0])
    new = not store_exists(args.gallery)
    model = args.model or (first["model"] if new and first is not None else None)
    gallery = Gallery.open_or_create(args.gallery, model)
    names, count = set(), 0
    try:
        for shard in iter_shards(args.shards, model_id=gallery.store.model_id):
            for name, embeddings in identities(shard, args.name_from).items():
                count += gallery.enroll(name, Embedded(embeddings))  # checks the name; one transaction each
                names.add(name)
    finally:
        gallery.close()
    print(
        f"enrolled {len(names)} identities: {count} embedding(s) from {args.shards} in {_made(gallery, args.gallery, new)}"
    )
    return 0
