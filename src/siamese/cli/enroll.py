"""`siamese enroll --gallery G NAME IMAGE...`: store NAME's embeddings, making the gallery if new."""

from __future__ import annotations


def run(args) -> int:
    from siamese.cli.faces import say_faceless
    from siamese.data.faces import FaceLog
    from siamese.gallery import Gallery

    new = not args.gallery.exists()
    gallery = Gallery.open_or_create(args.gallery, args.model)
    try:
        faces = FaceLog(
            keep_faceless=len(args.images) > 1
        )  # one photo without a face: an error; one of many: a warning
        count = gallery.enroll(args.name, args.images, detect=args.detect, faces=faces)
        made = (
            f"new gallery {args.gallery} for model {gallery.store.model_id[:12]} ({gallery.store.model})"
            if new
            else str(args.gallery)
        )
        print(f"enrolled {args.name}: {count} embedding(s) in {made}")
        say_faceless(faces)
    finally:
        gallery.close()
    return 0
