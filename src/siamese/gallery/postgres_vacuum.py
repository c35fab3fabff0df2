"""VACUUM of a PostgreSQL gallery's tables after a removal, said plainly where it was not done."""

from __future__ import annotations

import logging

from siamese.errors import GalleryError

logger = logging.getLogger("siamese.gallery.postgres")


def vacuum(store, connection, timeout_s: float) -> bool:
    """VACUUM the two tables of `store` on `connection`, so that dead rows' space is cleared now, not
    at autovacuum's leisure. False, with a warning logged, where it was not done: PostgreSQL skips
    (with a mere notice) tables the role does not own, and a VACUUM may fail or time out after the
    rows it follows were deleted."""
    skipped = []

    def notice(diagnostic) -> None:
        if diagnostic.severity_nonlocalized == "WARNING":
            skipped.append(diagnostic.message_primary)

    try:
        with connection.use(timeout_s=timeout_s) as db:
            db.add_notice_handler(notice)
            try:
                db.execute("VACUUM embeddings, identities")
            finally:
                db.remove_notice_handler(notice)
    except GalleryError as error:
        skipped.append(str(error).removeprefix(f"{store.path}: "))
    if skipped:
        logger.warning(
            "%s: deleted rows not vacuumed (%s); autovacuum will clear them later, or the tables' owner runs "
            "VACUUM embeddings, identities (docs/scaling.md)",
            store.path,
            "; ".join(skipped),
        )
    return not skipped
