"""`siamese forget --gallery G NAME`: NAME and every embedding of theirs leave the gallery file."""

from __future__ import annotations


def run(args) -> int:
    from siamese.gallery import Gallery

    gallery = Gallery.open(args.gallery)
    try:
        removed = gallery.forget(args.name)
    finally:
        gallery.close()
    print(f"forgot {args.name}: {removed} embedding(s) removed from {args.gallery}")
    return 0
