"""Embedding shards: Parquet files of (path, embedding, model id), one per fixed run of images.

A collection of millions of images is embedded in shards of `shard_size` images (the
`shard_size` images from `index * shard_size` in `ImageList` order), each written at once,
atomically, as `part-NNNNN.parquet` in one folder. A shard carries in its footer the model
id that made it and a SHA-256 of its images' names, so a job run again skips every shard
already written for the same images by the same model, rewrites one whose images changed,
and refuses a folder that holds another model's shards. Any Parquet reader (pandas, Spark,
DuckDB) reads them; `iter_shards` reads them back for `siamese enroll`.

Needs pyarrow (`pip install "siamese[ray]"`), imported only when shards are read or written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from siamese.errors import ShardError
from siamese.files import atomic_path

logger = logging.getLogger(__name__)
SHARD_SIZE = 10_000  # images per shard, unless asked otherwise

PATTERN = "part-{:05d}.parquet"
_KEYS = ("model_id", "model", "images_sha256", "failed")


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ShardError('embedding shards need pyarrow: pip install "siamese[ray]"') from None
    return pyarrow, pyarrow.parquet


def names_sha256(names: Sequence[str]) -> str:
    """What a shard's images are, in one hash: a shard is skipped only for the same images."""
    return hashlib.sha256("\n".join(names).encode("utf-8", "surrogateescape")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Shard:
    """One shard as read back: the images it embedded, their embeddings, the model that made them."""

    path: Path
    names: list[str]
    embeddings: np.ndarray  # (n, dim) float32
    model_id: str
    model: str  # how to load that model again (a shipped name or a path)
    failed: list[str]  # "name: problem" of each image left out


def write_shard(
    path: str | os.PathLike,
    names: Sequence[str],
    embeddings: np.ndarray,
    *,
    model_id: str,
    model: str,
    images_sha256: str,
    failed: Sequence[str] = (),
) -> Path:
    """Write one shard atomically: a reader sees the whole file or none."""
    pa, pq = _pyarrow()
    embeddings = np.ascontiguousarray(embeddings, np.float32)
    flat = pa.array(embeddings.reshape(-1), type=pa.float32())
    table = pa.table(
        {
            "path": pa.array(list(names), type=pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, embeddings.shape[1]),
            "model_id": pa.array([model_id] * len(names), type=pa.string()),
        }
    )
    values = (model_id, model, images_sha256, json.dumps(list(failed)))
    table = table.replace_schema_metadata({f"siamese.{k}": v for k, v in zip(_KEYS, values)})
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return Path(path)


def shard_footer(path: str | os.PathLike) -> dict | None:
    """A written shard's model id, model, images hash and failures (read from its footer alone);
    None when it is missing or not a readable shard."""
    pa, pq = _pyarrow()
    if not os.path.isfile(path):
        return None
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError):
        return None
    found = {k: metadata.get(f"siamese.{k}".encode()) for k in _KEYS}
    if any(value is None for value in found.values()):
        return None
    return {k: (json.loads(v) if k == "failed" else v.decode()) for k, v in found.items()}


def read_shard(path: str | os.PathLike) -> Shard:
    """A shard's rows; a one-line `ShardError` when the file is not one."""
    pa, pq = _pyarrow()
    footer = shard_footer(path)
    if footer is None:
        raise ShardError(f"{path}: not an embedding shard (written by `siamese embed DATA --out DIR`)")
    table = pq.read_table(path, columns=["path", "embedding"])
    column = table.column("embedding").combine_chunks()
    dim = column.type.list_size
    embeddings = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)
    return Shard(
        path=Path(path),
        names=table.column("path").to_pylist(),
        embeddings=embeddings,
        model_id=footer["model_id"],
        model=footer["model"],
        failed=footer["failed"],
    )


def shard_paths(folder: str | os.PathLike) -> list[Path]:
    """The shards in `folder`, in order; a one-line `ShardError` when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ShardError(f"{folder}: no such folder of embedding shards")
    paths = sorted(folder.glob("part-*.parquet"))
    if not paths:
        raise ShardError(f"{folder}: holds no embedding shards (part-NNNNN.parquet)")
    return paths


def iter_shards(folder: str | os.PathLike, *, model_id: str | None = None) -> Iterator[Shard]:
    """Read the shards of `folder` one at a time. With `model_id`, every shard's footer is
    checked first, so a folder holding another model's embeddings is refused before any is used."""
    paths = shard_paths(folder)
    if model_id is not None:
        for path in paths:
            footer = shard_footer(path)
            if footer is not None and footer["model_id"] != model_id:
                raise ShardError(
                    f"{path}: embeddings of model {footer['model_id'][:12]} ({footer['model']}), not of model "
                    f"{model_id[:12]}: embeddings of two models do not compare"
                )
    for path in paths:
        yield read_shard(path)


def _parent(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).parent.name


def _stem(path: str) -> str:
    return PurePosixPath(path.replace("\\", "/")).stem


NAMERS = {"parent": _parent, "stem": _stem}  # who an image shows: its folder (folder-per-class data) or its file's name


def identities(shard: Shard, rule: str = "parent") -> dict[str, np.ndarray]:
    """A shard's embeddings grouped by identity, named by `rule` ("parent": the image's folder,
    as folder-per-class datasets name their classes; "stem": its file name without extension)."""
    if rule not in NAMERS:
        raise ShardError(f"identity rule must be one of {sorted(NAMERS)}, got {rule!r}")
    groups: dict[str, list[int]] = {}
    for row, path in enumerate(shard.names):
        name = NAMERS[rule](path.rsplit(":", 1)[-1] if rule == "parent" else path)
        if not name:
            raise ShardError(f"{shard.path}: {path} is in no folder to name it by; use the rule 'stem'")
        groups.setdefault(name, []).append(row)
    return {name: shard.embeddings[rows] for name, rows in groups.items()}
