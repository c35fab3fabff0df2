"""`siamese gallery --gallery G`: who is enrolled, with how many embeddings, and the gallery's model."""

from __future__ import annotations


def run(args) -> int:
    from siamese.gallery import open_store

    store = open_store(args.gallery)  # listing needs no model
    try:
        identities = store.identities()
        print(
            f"{args.gallery}: {len(identities)} identities, {sum(n for _, n in identities)} embeddings; "
            f"model {store.model_id[:12]} ({store.model}), distance {store.distance_name}"
        )
        for name, count in identities:
            print(f"  {name}  {count}")
    finally:
        store.close()
    return 0
