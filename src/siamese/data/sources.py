"""Where a dataset's files live: a folder on disk, a zip archive, or the paths of a pairs file.

Each source lists its files as posix names relative to its root and reads a file's bytes
by that name; nothing is decoded here. A zip with a single top folder, like the official
Omniglot archives, is read with that folder stripped, so `images_background_small1.zip`
and `small2.zip` list the same names as their unpacked folders. A new layout of data is
one more source with the same four members: `location`, `files`, `read`, `name`.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path, PurePosixPath

from siamese.data.archives import ZipIndex
from siamese.errors import DatasetError

logger = logging.getLogger(__name__)

# Files that live beside images in datasets but are not images; everything else is decoded
# by content, since real datasets hold images without extensions (Yale faces).
_NOT_IMAGES = {".txt", ".csv", ".md", ".json", ".yaml", ".yml", ".ini", ".db", ".xml", ".html", ".py", ".zip"}


def is_image_candidate(name: str) -> bool:
    """Whether a file may be an image: not hidden, not a known text or archive format."""
    base = PurePosixPath(name).name
    return not base.startswith(".") and base != "Thumbs.db" and PurePosixPath(base).suffix.lower() not in _NOT_IMAGES


class _Listing:
    """What folders and archives share: of the files they list, those that may be images."""

    def members(self) -> list[str]:
        return [name for name in self.files() if is_image_candidate(name)]


class FolderSource(_Listing):
    """Files under a folder on disk (hidden folders skipped; linked folders not followed, so a
    link loop cannot trap the walk)."""

    def __init__(self, root: Path):
        self.root = self.location = root

    def files(self, under: str = "") -> list[str]:
        """Every readable file below `root / under`, sorted, as posix names relative to `root`.

        Entries that are not readable files (a dangling or looping link, a socket, a file
        without read permission) are left out, with one warning that counts them.
        """
        found, skipped = [], []
        for folder, dirs, files in os.walk(self.root / under):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            relative = Path(folder).relative_to(self.root)
            for name in sorted(files):
                path = Path(folder) / name
                readable = path.is_file() and os.access(path, os.R_OK)
                (found if readable else skipped).append((relative / name).as_posix())
        if skipped:
            logger.warning(
                "%s: %d entr%s not a readable file, left out (first: %s)",
                self.root,
                len(skipped),
                "y is" if len(skipped) == 1 else "ies are",
                self.root / skipped[0],
            )
        return found

    def read(self, member: str) -> bytes:
        return (self.root / member).read_bytes()

    def name(self, member: str) -> str:
        return str(self.root / member)


class ZipSource(_Listing):
    """Files inside a zip archive, read without unpacking, from one open file shared by all
    threads; per member only its name and a few numbers are kept (`siamese.data.archives`).

    With `strip_top`, a single top folder holding everything is left out of the names.
    """

    def __init__(self, path: Path, *, strip_top: bool = True):
        self.path = self.location = path
        try:
            self._index = ZipIndex(path)
        except zipfile.BadZipFile:
            raise DatasetError(f"{path}: not a zip archive") from None
        names = self._names = self._index.names
        tops = {n.split("/", 1)[0] for n in names}
        single = strip_top and len(tops) == 1 and all("/" in n for n in names)
        self.prefix = f"{tops.pop()}/" if single else ""

    def files(self, under: str = "") -> list[str]:
        """Every file of the archive below `under`, sorted, without the stripped top folder."""
        start = f"{under.strip('/')}/" if under else ""
        return sorted(n[len(self.prefix) :] for n in self._names if n[len(self.prefix) :].startswith(start))

    def read(self, member: str) -> bytes:
        return self._index.read(self.prefix + member)

    def name(self, member: str) -> str:
        return f"{self.path}:{self.prefix}{member}"


class PairsSource:
    """The images named by a pairs file, read from where they are (members are their paths)."""

    def __init__(self, path: Path):
        self.path = self.location = path

    def read(self, member: str) -> bytes:
        return Path(member).read_bytes()

    def name(self, member: str) -> str:
        return member


def open_source(
    path: str | os.PathLike, *, expected: str = "a folder of class folders or a .zip of them", strip_top: bool = True
):
    """A folder or zip archive, checked to exist; `expected` words the error for anything else,
    `strip_top` goes to `ZipSource`."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_dir():
        return FolderSource(path)
    if zipfile.is_zipfile(path):
        return ZipSource(path, strip_top=strip_top)
    raise DatasetError(f"{path}: not {expected}")
