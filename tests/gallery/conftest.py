"""Each gallery test runs on both stores: an SQLite file (with its FAISS index) and a PostgreSQL database."""

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def gallery_at(request, tmp_path) -> str:
    """Where the test's gallery lives: a new file, or a fresh database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "g.db")
    return request.getfixturevalue("postgres_url")
