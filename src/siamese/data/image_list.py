"""A flat list of images to embed, from folders, zip archives and list files, in a fixed order.

Embedding a large collection needs no classes, only every image once, in an order that is
the same on every run (so the same images fall in the same shard when a job is run again).
Folders and zips are read by the sources that read datasets (`siamese.data.sources`); a
list file is a text file (`.txt`) of image paths, one a line, relative to its own folder
(blank lines and lines starting with `#` are skipped). Nothing is decoded here.

    images = ImageList.open(["photos/", "more.zip", "extra.txt"])
    images.name(0), images.read(0)    # "photos/alice/01.png", b"\\x89PNG..."
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from siamese.data.sources import PairsSource, open_source
from siamese.errors import DatasetError

LIST_SUFFIX = ".txt"


def is_collection(path: str | os.PathLike) -> bool:
    """Whether `path` names many images (a folder, a .zip, a list file) rather than one image file."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in (".zip", LIST_SUFFIX)


def _read_list_file(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such list file")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text list file (one image path a line)") from None
    entries = [line.strip() for line in lines]
    return [str(path.parent / entry) for entry in entries if entry and not entry.startswith("#")]


@dataclasses.dataclass(frozen=True)
class ImageList:
    """Images by (source index, member); `name(i)` says which file, `read(i)` gives its bytes.

    Sources are `FolderSource`, `ZipSource` or `PairsSource` (a list file's paths); all of
    them can be pickled, so the list can be sent to other processes or machines.
    """

    sources: tuple
    members: tuple  # (source index, member) per image

    @classmethod
    def open(cls, paths: Sequence[str | os.PathLike]) -> ImageList:
        """Every image of each folder, zip (sorted by name) and list file (in its order), in the order given."""
        sources, members = [], []
        for number, path in enumerate(Path(p) for p in paths):
            if path.suffix.lower() == LIST_SUFFIX:
                source, names = PairsSource(path), _read_list_file(path)
            else:
                source = open_source(path, expected="a folder, a .zip or a .txt list of images")
                names = source.members()
            sources.append(source)
            members.extend((number, name) for name in names)
        if not members:
            raise DatasetError(f"{', '.join(map(str, paths))}: no image files found")
        return cls(tuple(sources), tuple(members))

    def __len__(self) -> int:
        return len(self.members)

    def name(self, index: int) -> str:
        source, member = self.members[index]
        return self.sources[source].name(member)

    def read(self, index: int) -> bytes:
        """The file's bytes; `OSError` (missing, unreadable, a damaged zip member) as the source raises it."""
        source, member = self.members[index]
        return self.sources[source].read(member)
