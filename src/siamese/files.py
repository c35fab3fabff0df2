"""Atomic file writes (a file the user owns is either the old one or the new one, never half), hashes, checks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from siamese.errors import ModelFileError, OutputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; on success it is renamed onto `path` in one step.

    A failure to write (read-only folder, disk full) is a one-line `OutputError` naming
    `path`, and whatever was at `path` before is left as it was.
    """
    path = Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
        os.close(handle)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"{path}: cannot be written ({error.strerror or error}); nothing there was changed") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def check_writable(folder: str | os.PathLike) -> Path:
    """Make `folder` if needed and check a file can be written in it: a one-line `OutputError` now,
    rather than after an hour of work."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OutputError(f"{folder}: cannot be written ({error.strerror or error})") from None
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data) -> Path:
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as temporary:
        Path(temporary).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a temporary folder beside `path`; on success it replaces `path` (a folder) in two renames.

    A failure to write is a one-line `OutputError` naming `path`.
    """
    path = Path(path)
    temporary = old = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        yield temporary
        if path.exists():
            old = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent)
            os.rmdir(old)
            os.replace(path, old)
        os.chmod(temporary, 0o777 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"{path}: cannot be written ({error.strerror or error})") from None
    finally:
        for leftover in (temporary, old):
            if leftover is not None and os.path.isdir(leftover):
                shutil.rmtree(leftover, ignore_errors=True)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes: what an export records of the model it was made from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_keras_archive(path: str | os.PathLike) -> Path:
    """Fail with a one-line `ModelFileError` unless `path` is a .keras zip archive (no Keras import)."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if path.is_dir() or not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a Keras model file (.keras zip archive)")
    return path


# Where Windows locks one byte: far past the holder's note, so whoever is refused can still read it.
_WINDOWS_LOCK_OFFSET = 1 << 30


def _lock_at_once(handle) -> bool:
    """Take the operating system's lock on the open file `handle` without waiting: False if another
    process holds it. flock where there is fcntl (POSIX), msvcrt's byte lock on Windows; both
    are let go when the process ends, however it ends."""
    try:
        import fcntl
    except ImportError:
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            handle.seek(0)
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, *, what: str = "training run"):
    """Hold the lock file `path` for the duration; a second holder is refused with a one-line `OutputError`.

    The lock is the operating system's (see `_lock_at_once`), so a process that dies, even
    killed, lets it go; a holder that ends normally also removes the file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except OSError as error:
        raise OutputError(f"{path.parent}: cannot be written ({error.strerror or error})") from None
    try:
        if not _lock_at_once(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputError(
                f"{path.parent}: another {what} is writing here ({holder}); wait for it to end or choose another name"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
        try:
            path.unlink(missing_ok=True)  # still holding the lock: nobody else can have it now
        except PermissionError:  # Windows removes no open file: remove it once closed, if nobody took it
            handle.close()
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    finally:
        handle.close()
