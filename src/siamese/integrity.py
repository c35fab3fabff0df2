"""Integrity records: a model file carries the SHA-256 of its own contents, checked at load.

A .keras archive gets one more member, `siamese-integrity.json`, with the SHA-256 of every
other member (the configuration, threshold included, and the weights). An ONNX export
stores the SHA-256 of its own bytes in its metadata, computed with that very field set to
zeros. A file changed after it was saved (damaged on disk, or its weights edited) no longer
matches and is refused with one line naming it, instead of answering every pair wrongly.

This is a checksum, not a signature: whoever can rewrite the file can rewrite its record.
Against that, keep model files where only you can write, and compare shipped models with
their published list (`SHA256SUMS` beside them).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

from siamese.errors import ModelFileError

KERAS_RECORD = "siamese-integrity.json"
ONNX_FIELD = "onnx_sha256"
PLACEHOLDER = "0" * 64


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _member_digests(archive: zipfile.ZipFile) -> dict:
    return {name: sha256(archive.read(name)) for name in archive.namelist() if name != KERAS_RECORD}


def seal_keras_archive(path: str | os.PathLike) -> None:
    """Add the integrity record to a freshly written .keras archive (before it is moved into place)."""
    with zipfile.ZipFile(path) as archive:
        digests = _member_digests(archive)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(KERAS_RECORD, json.dumps({"format": 1, "sha256": digests}, sort_keys=True))


def keras_archive_is_sealed(path: str | os.PathLike) -> bool:
    """True when the archive's record matches its members; False when it has no record (saved
    by an older siamese); a one-line `ModelFileError` when anything changed since it was saved."""
    try:
        with zipfile.ZipFile(path) as archive:
            if KERAS_RECORD not in archive.namelist():
                return False
            recorded = json.loads(archive.read(KERAS_RECORD))["sha256"]
            actual = _member_digests(archive)
    except (zipfile.BadZipFile, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"{path}: damaged model archive ({type(error).__name__}: {str(error)[:120]})") from None
    changed = sorted(name for name in set(actual) | set(recorded) if actual.get(name) != recorded.get(name))
    if changed:
        raise ModelFileError(
            f"{path}: {', '.join(changed)} changed since the model was saved (SHA-256 mismatch); refusing to load it"
        )
    return True


def recorded_digest(path: str | os.PathLike, member: str) -> str | None:
    """The SHA-256 the archive's record gives for `member` (None without a record)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(KERAS_RECORD))["sha256"].get(member)
    except (KeyError, OSError, ValueError, zipfile.BadZipFile):
        return None


def _marker(digest: str) -> bytes:
    return f'"{ONNX_FIELD}": "{digest}"'.encode("ascii")


def seal_onnx_bytes(data: bytes) -> bytes:
    """An ONNX file's bytes whose metadata holds `"onnx_sha256": "<64 zeros>"`, with the zeros
    replaced by the SHA-256 of those bytes (same length, so nothing else moves)."""
    if data.count(_marker(PLACEHOLDER)) != 1:
        raise ValueError("the ONNX bytes must hold the placeholder hash exactly once")
    return data.replace(_marker(PLACEHOLDER), _marker(sha256(data)))


def check_onnx_bytes(data: bytes, recorded: str, *, name: str) -> None:
    """Raise a one-line `ModelFileError` unless `data` hashes to `recorded` with the field zeroed."""
    if data.count(_marker(recorded)) != 1 or sha256(data.replace(_marker(recorded), _marker(PLACEHOLDER))) != recorded:
        raise ModelFileError(f"{name}: changed since it was exported (SHA-256 mismatch); refusing to load it")
