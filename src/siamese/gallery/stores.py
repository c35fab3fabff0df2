"""The store of a gallery's location: SQLite (`Store`) for a path, PostgreSQL (`PostgresStore`)
for a URL (`siamese.gallery.location`). PostgreSQL is imported only for a URL, so the
embedded default needs none of its packages."""

from __future__ import annotations

from siamese.gallery.location import PostgresLocation, gallery_location


def store_exists(location) -> bool:
    """Whether a gallery is there already: the file, or a gallery in the database (connects to ask)."""
    location = gallery_location(location)
    if isinstance(location, PostgresLocation):
        from siamese.gallery.postgres import PostgresStore

        return PostgresStore.exists(location)
    return location.exists()


def open_store(location):
    """The store of an existing gallery: `PostgresStore` for a URL, the SQLite `Store` for a path."""
    location = gallery_location(location)
    if isinstance(location, PostgresLocation):
        from siamese.gallery.postgres import PostgresStore

        return PostgresStore(location)
    from siamese.gallery.store import Store

    return Store(location)


def create_store(location, **meta):
    """A new store at `location` (see `Store.create` for `meta`)."""
    location = gallery_location(location)
    if isinstance(location, PostgresLocation):
        from siamese.gallery.postgres import PostgresStore

        return PostgresStore.create(location, **meta)
    from siamese.gallery.store import Store

    return Store.create(location, **meta)
