"""Embedding a collection into shards (`siamese.inference.shards`), in one process; what the Ray path shares.

`embed_images` embeds some images of an `ImageList` with a loaded model and never stops at
a bad one: an image that cannot be read or decoded gets a zero row and its problem, one line
that names it, and the rest go on. `ShardJob` decides which shards are still to write (a
shard written before for the same images by the same model is skipped; a folder holding
another model's shards is refused) and writes each one from those rows. `embed_to_shards`
runs a whole job here; `siamese.inference.ray_embedding` runs the same job on a Ray cluster,
with the same shards as the result.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from siamese.data.faces import FaceLog
from siamese.data.image_list import ImageList
from siamese.data.images import decode_image, default_workers
from siamese.errors import ConfigError, ImageError, ShardError
from siamese.files import check_writable
from siamese.inference.model import SiameseModel, load_model
from siamese.inference.shards import PATTERN, SHARD_SIZE, names_sha256, shard_footer, write_shard
from siamese.shipped import lasting_name

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EmbeddedImages:
    """One row per image asked for, in order: `problems[i]` is "" when image i was embedded,
    else "name: problem" (its row of `embeddings` is then zeros)."""

    embeddings: np.ndarray  # (n, dim) float32
    problems: list[str]
    faceless: list[str]  # face models: images in which no face was found, taken whole


def _decode(images: ImageList, index: int, channels: int):
    name = images.name(index)
    try:
        return decode_image(images.read(index), name=name, channels=channels), ""
    except ImageError as error:
        return None, str(error)
    except OSError as error:  # missing, unreadable, a damaged zip member
        return None, f"{name}: cannot be read ({error.strerror or error})"


def _embed_each(model: SiameseModel, decoded: list, settings: dict) -> tuple[list, list]:
    """One image at a time, to tell the bad one(s) from the rest when a batch fails."""
    rows, problems = [], []
    for image in decoded:
        try:
            rows.append(model.embed([image], **settings)[0])
            problems.append("")
        except ImageError as error:
            rows.append(None)
            problems.append(str(error))
    return rows, problems


def embed_images(
    model: SiameseModel,
    images: ImageList,
    indices: Sequence[int],
    *,
    detect: bool = True,
    on_no_face: str = "whole",
    workers: int | None = None,
    batch_size: int = 256,
) -> EmbeddedImages:
    """Embed `images[indices]`; a bad image is a zero row and a problem, never the end of the work.

    `workers` threads decode (default `default_workers()`) a run of a few images per thread, which is
    embedded before the next run is decoded: a shard of 10,000 photos is never held decoded at once.
    A face model keeps a photo without a face whole, as batch embedding does, or with
    `on_no_face="raise"` leaves it out as a problem.
    """
    workers = default_workers() if workers is None else max(1, int(workers))
    channels = model.preprocessing.channels
    embeddings = np.zeros((len(indices), model.embedding_dim), np.float32)
    problems = [""] * len(indices)
    settings = {"detect": detect, "on_no_face": on_no_face, "faces": FaceLog()}
    run = max(1, min(batch_size, 4 * workers))  # images held decoded at once: a few per thread, not a shard's
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="siamese-decode") as pool:
        for start in range(0, len(indices), run):
            decoded = list(pool.map(lambda i: _decode(images, int(i), channels), indices[start : start + run]))
            good = [start + row for row, (image, _) in enumerate(decoded) if image is not None]
            for row, (_, problem) in enumerate(decoded, start):
                problems[row] = problem
            arrays = [decoded[row - start][0] for row in good]
            del decoded
            try:
                rows = list(model.embed(arrays, batch_size=batch_size, workers=workers, **settings))
                found = [""] * len(arrays)
            except ImageError:  # rare (decoded, yet refused by the preprocessing): find which
                rows, found = _embed_each(model, arrays, settings)
            for row, embedding, problem in zip(good, rows, found):
                problems[row] = problem
                if not problem:
                    embeddings[row] = embedding
    return EmbeddedImages(embeddings, problems, list(settings["faces"].faceless))


@dataclasses.dataclass
class ShardJob:
    """The shards of `images` in `out`: which are still to write, and what was written so far."""

    images: ImageList
    out: Path
    shard_size: int
    model_id: str
    model: str  # a shipped model's name or an absolute path: how every worker loads it
    pending: list[int] = dataclasses.field(default_factory=list)
    skipped: int = 0
    written: int = 0
    embedded: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)
    faceless: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def plan(
        cls,
        data: Sequence[str | os.PathLike],
        out: str | os.PathLike,
        *,
        model: SiameseModel,
        spec: str,
        shard_size: int,
    ) -> ShardJob:
        """List `data`, check `out`, and find the shards still to write."""
        if shard_size < 1:
            raise ConfigError(f"shard_size must be at least 1, got {shard_size}")
        job = cls(ImageList.open(data), check_writable(out), shard_size, model.model_id, spec)
        for shard in range(job.shards):
            footer = shard_footer(job.path(shard))
            if footer is not None and footer["model_id"] != job.model_id:
                raise ShardError(
                    f"{job.path(shard)}: embeddings of model {footer['model_id'][:12]} ({footer['model']}); this is "
                    f"model {job.model_id[:12]} ({spec}): give another --out"
                )
            if footer is not None and footer["images_sha256"] == names_sha256(job.names(shard)):
                job.skipped += 1
            else:
                job.pending.append(shard)
        return job

    @property
    def shards(self) -> int:
        return -(-len(self.images) // self.shard_size)

    def indices(self, shard: int) -> range:
        return range(shard * self.shard_size, min((shard + 1) * self.shard_size, len(self.images)))

    def names(self, shard: int) -> list[str]:
        return [self.images.name(i) for i in self.indices(shard)]

    def path(self, shard: int) -> Path:
        return self.out / PATTERN.format(shard)

    def write(self, shard: int, part: EmbeddedImages) -> None:
        """Write one shard from its rows (in `indices(shard)` order): the images embedded, the problems noted."""
        names = self.names(shard)
        keep = [row for row, problem in enumerate(part.problems) if not problem]
        failed = [problem for problem in part.problems if problem]
        write_shard(
            self.path(shard),
            [names[row] for row in keep],
            part.embeddings[keep],
            model_id=self.model_id,
            model=self.model,
            images_sha256=names_sha256(names),
            failed=failed,
        )
        self.written += 1
        self.embedded += len(keep)
        self.problems.extend(failed)
        self.faceless.extend(part.faceless)


def embed_to_shards(
    data: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    engine: str = "auto",
    shard_size: int = SHARD_SIZE,
    batch_size: int = 256,
    workers: int | None = None,
    detect: bool = True,
    on_no_face: str = "whole",
    progress: Callable[[int, int], None] | None = None,
) -> ShardJob:
    """Embed every image of `data` (folders, zips, .txt lists) into shards in `out`, in this process.

    Returns the finished `ShardJob` (shards written and skipped, images embedded, problems).
    """
    loaded = load_model(model, engine=engine)
    job = ShardJob.plan(data, out, model=loaded, spec=lasting_name(model), shard_size=shard_size)
    total = sum(len(job.indices(shard)) for shard in job.pending)
    for shard in job.pending:
        part = embed_images(
            loaded,
            job.images,
            job.indices(shard),
            detect=detect,
            on_no_face=on_no_face,
            workers=workers,
            batch_size=batch_size,
        )
        job.write(shard, part)
        if progress is not None:
            progress(job.embedded + len(job.problems), total)
    return job
