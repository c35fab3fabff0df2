"""What every gallery's `meta` table holds, and the one check of it made on opening, for both stores.

    meta(key, value): schema_version, model_id, model, distance, dim, generation

The service's API keys live in the gallery's own database too (`api_keys`, read and written
by `siamese.service.keys`): the table is made with the gallery, so a role that owns nothing
and may only read and write rows can serve it (docs/scaling.md lists the grants).
"""

from __future__ import annotations

from siamese.errors import GalleryError

SCHEMA_VERSION = 1
KEY_TABLE = """CREATE TABLE IF NOT EXISTS api_keys (
    name TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, can_write INTEGER NOT NULL,
    created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION
)"""  # DOUBLE PRECISION: a float8 in PostgreSQL, REAL affinity in SQLite; the same text for both


def new_meta(*, model_id: str, model: str, distance_name: str, dim: int) -> dict[str, str]:
    """The `meta` rows of a new, empty gallery for the model `model_id`."""
    meta = {"schema_version": SCHEMA_VERSION, "model_id": model_id, "model": model, "distance": distance_name}
    return {key: str(value) for key, value in {**meta, "dim": dim, "generation": 0}.items()}


def read_meta(where, meta: dict) -> tuple[str, str, str, int]:
    """(model_id, model, distance name, dim) of a gallery's `meta` rows, or a GalleryError naming `where`:
    another schema version, or rows missing."""
    if meta.get("schema_version") != str(SCHEMA_VERSION):  # values are text in both stores
        raise GalleryError(
            f"{where}: gallery schema {meta.get('schema_version')!r}, this version reads {SCHEMA_VERSION}"
        )
    missing = [key for key in ("model_id", "model", "distance", "dim", "generation") if key not in meta]
    if missing:
        raise GalleryError(f"{where}: not a siamese gallery (its meta table lacks {', '.join(missing)})")
    return meta["model_id"], meta["model"], meta["distance"], int(meta["dim"])
