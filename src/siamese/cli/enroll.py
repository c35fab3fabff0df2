"""`siamese enroll --gallery G NAME IMAGE...`: store NAME's embeddings, making the gallery if new."""

from __future__ import annotations


def run(args) -> int:
    from siamese.gallery import Gallery

    new = not args.gallery.exists()
    gallery = Gallery.open_or_create(args.gallery, args.model)
    try:
        count = gallery.enroll(args.name, args.images)
        made = (
            f"new gallery {args.gallery} for model {gallery.store.model_id[:12]} ({gallery.store.model})"
            if new
            else str(args.gallery)
        )
        print(f"enrolled {args.name}: {count} embedding(s) in {made}")
    finally:
        gallery.close()
    return 0
