"""Where a gallery lives: a file path (SQLite + FAISS, the default) or a PostgreSQL URL.

    gallery_location("people.db")                           # Path("people.db")
    gallery_location("postgresql://app@db.example:5432/people?sslmode=require")

A URL is kept in a `PostgresLocation`, whose `str` never holds a secret: the password of
its user part and every query parameter that holds one or names a file of one (`password`,
`sslpassword`, `sslkey`, `passfile`: `SECRETS`) are kept for connecting but left out of every
message and every line printed; passwords belong in PGPASSWORD or ~/.pgpass anyway.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

SCHEMES = ("postgresql://", "postgres://")
SECRETS = ("password", "sslpassword", "sslkey", "passfile")  # libpq's parameters; any name with "password" too


def is_postgres(location) -> bool:
    """True for a `PostgresLocation` or a string that starts with postgresql:// (or postgres://)."""
    return isinstance(location, PostgresLocation) or (isinstance(location, str) and location.startswith(SCHEMES))


class PostgresLocation:
    """A PostgreSQL gallery's URL: `url` to connect with, `str()` to show (without the password)."""

    def __init__(self, url: str):
        self.url = url
        parts = urllib.parse.urlsplit(url)
        netloc = parts.netloc.rpartition("@")
        user = netloc[0].partition(":")[0]
        query = [
            (k, v)
            for k, v in urllib.parse.parse_qsl(parts.query)
            if k.lower() not in SECRETS and "password" not in k.lower()
        ]
        self._shown = urllib.parse.urlunsplit(
            (parts.scheme, f"{user}@{netloc[2]}" if user else netloc[2], parts.path, urllib.parse.urlencode(query), "")
        )

    def __str__(self) -> str:
        return self._shown

    def __repr__(self) -> str:
        return f"PostgresLocation({self._shown!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, PostgresLocation) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)


def gallery_location(location: str | os.PathLike | PostgresLocation) -> Path | PostgresLocation:
    """A path or a URL as given on the command line (or to the library), typed."""
    if isinstance(location, PostgresLocation):
        return location
    if is_postgres(location):
        return PostgresLocation(location)
    return Path(location)
