"""A zip's members read by name from one open file, safely from many threads, with a
compact index: a sorted list of names and a few numbers per member.

`zipfile.ZipFile` keeps a `ZipInfo` object per member (about 600 bytes each: 600 MB for a
million-image shard) and moves one file position, so each reading thread needs an archive
of its own. Here the central directory is read once, kept as numpy arrays beside the names,
and each member is read with positioned reads (`os.pread`) on one descriptor: no lock, no
seek, no per-thread copy. Members stored or deflated (what image archives hold) are read so;
any other method, or encryption, falls back to `zipfile`, one reader at a time.
"""

from __future__ import annotations

import bisect
import os
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra field length
_DIRECT = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class ZipIndex:
    """The files of a zip archive (folders and `__MACOSX` left out), by name, sorted.

    `names` lists them; `read(name)` returns a member's bytes, checked against its CRC-32.
    A damaged member raises `OSError` naming what is wrong; a missing one `FileNotFoundError`.
    Raises `zipfile.BadZipFile` when the file is not a zip archive.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        with zipfile.ZipFile(self.path) as archive:
            infos = [i for i in archive.infolist() if not i.filename.endswith("/") and "__MACOSX" not in i.filename]
        last = {
            info.filename: row for row, info in enumerate(infos)
        }  # a name stored twice: the last wins, as in zipfile
        infos = [infos[row] for _, row in sorted(last.items())]
        self.names = [info.filename for info in infos]
        self._offsets = np.array([info.header_offset for info in infos], dtype=np.int64)
        self._sizes = np.array([info.compress_size for info in infos], dtype=np.int64)
        self._crcs = np.array([info.CRC for info in infos], dtype=np.uint32)
        self._direct = np.array(
            [info.compress_type in _DIRECT and not info.flag_bits & 1 for info in infos], dtype=bool
        )
        self._deflated = np.array([info.compress_type == zipfile.ZIP_DEFLATED for info in infos], dtype=bool)
        del infos, last
        self._lock = threading.Lock()
        self._fd = self._fallback = None

    def __len__(self) -> int:
        return len(self.names)

    def _row(self, name: str) -> int:
        row = bisect.bisect_left(self.names, name)
        if row == len(self.names) or self.names[row] != name:
            raise FileNotFoundError(f"no member named {name!r}")
        return row

    def _pread(self, size: int, offset: int) -> bytes:
        if self._fd is None:
            with self._lock:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        if hasattr(os, "pread"):
            return os.pread(self._fd, size, offset)
        with self._lock:  # no positioned reads (Windows): one seek and read at a time
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, size)

    def read(self, name: str) -> bytes:
        """The member's bytes (decompressed), from one shared descriptor; safe from any thread."""
        row = self._row(name)
        if not self._direct[row]:
            return self._read_with_zipfile(name)
        offset, size = int(self._offsets[row]), int(self._sizes[row])
        header = self._pread(_LOCAL_HEADER.size, offset)
        if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise OSError("bad local file header in the archive")
        _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        data = self._pread(size, offset + _LOCAL_HEADER.size + name_length + extra_length)
        if len(data) != size:
            raise OSError(f"member truncated: {len(data)} of {size} bytes in the archive")
        if self._deflated[row]:
            try:
                data = zlib.decompress(data, -15)
            except zlib.error as error:
                raise OSError(f"cannot inflate the member ({error})") from None
        if zlib.crc32(data) != int(self._crcs[row]):
            raise OSError("bad CRC-32: the member is damaged")
        return data

    def _read_with_zipfile(self, name: str) -> bytes:
        with self._lock:
            if self._fallback is None:
                self._fallback = zipfile.ZipFile(self.path)
            try:
                return self._fallback.read(name)
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise OSError(str(error)) from None

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
            fallback, self._fallback = self._fallback, None
        if fd is not None:
            os.close(fd)
        if fallback is not None:
            fallback.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutting down: the OS closes it anyway
            pass

    def __getstate__(self) -> dict:  # to worker processes: no descriptor, no lock
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_fd", "_fallback")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _fd=None, _fallback=None)
