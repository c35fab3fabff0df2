"""A dataset's images as an array that decodes on demand, for datasets larger than memory.

`ImageDataset.load` decodes every image into one float32 array: right for Omniglot, out of
reach for a folder of millions of files. `StreamedImages` stands in for that array where
batches are gathered: `images[indices]` reads, decodes and preprocesses just those images,
exactly as `load` would (bit for bit), and keeps the most recently used ones in a cache of a
fixed number of images (least recently used first out), so memory stays flat however many
images the dataset holds. It is safe to index from many threads at once (Keras `PyDataset`
workers): the cache is locked, the decoding is not, and zip archives are read from one
shared file (`siamese.data.archives`).

    images = StreamedImages(dataset, preprocessing)     # nothing decoded yet
    batch = images[[3, 17, 99]]                         # float32 (3, h, w, c)

`np.concatenate` of streamed arrays gives a streamed array (images then forgeries, as the
batches index them), and `rotated(k)` a quarter-turned view, so rotated classes stream too.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from siamese.data.datasets import ImageDataset
from siamese.data.images import Preprocessing, default_workers
from siamese.data.pairs import PairIndices
from siamese.data.rotations import rotated_dataset
from siamese.errors import ConfigError, DatasetError, ImageError

# The default cache: as many decoded images as fit in 256 MiB (65,536 of 32x32 grey, 7,281 of 48x48).
# Read when an array is made, so setting it before `train` sets the cache of a streamed run.
CACHE_BYTES = 256 * 2**20


class _Decoder:
    """One dataset's files decoded on demand, the last `size` of them kept (LRU)."""

    def __init__(self, dataset: ImageDataset, preprocessing: Preprocessing, size: int):
        self.dataset, self.preprocessing, self.size = dataset, preprocessing, size
        self._cache = collections.OrderedDict()  # (source, member) -> float32 (h, w, c)
        self._lock = threading.Lock()
        self.decoded = 0
        self.error = None  # the first file that could not be read or decoded

    def get(self, entry: tuple) -> np.ndarray:
        with self._lock:
            image = self._cache.get(entry)
            if image is not None:
                self._cache.move_to_end(entry)
                return image
        try:
            image = self.dataset.prepare(*entry, self.preprocessing)  # outside the lock: threads decode in parallel
        except ImageError as error:
            self.error = self.error or error
            raise
        with self._lock:
            self.decoded += 1
            if self.size:
                self._cache[entry] = image
                self._cache.move_to_end(entry)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return image

    def __len__(self) -> int:
        return len(self._cache)


class StreamedImages:
    """A dataset's images as a read-only float32 (n, h, w, c) array, decoded when indexed.

    Args:
        dataset: the images to stream (its `members`; `forgeries()` streams its forgeries).
        preprocessing: how each image is prepared, as `ImageDataset.load` takes it.
        cache_size: decoded images kept, most recently used (0: none; None: as many as fit
            in `CACHE_BYTES`).

    Indexing takes an int, a slice, or an array of ints (negative ones count from the end)
    and returns a new array; a file that cannot be read or decoded raises `ImageError`
    naming it. `decoded` counts the images decoded so far, `cached` those held now.
    """

    def __init__(self, dataset: ImageDataset, preprocessing: Preprocessing, *, cache_size: int | None = None):
        image_bytes = int(np.prod(preprocessing.input_shape)) * 4
        cache_size = max(1, CACHE_BYTES // image_bytes) if cache_size is None else int(cache_size)
        if cache_size < 0:
            raise ConfigError(f"cache_size must be zero or positive, got {cache_size}")
        self._set([(_Decoder(dataset, preprocessing, cache_size), dataset.members, 0)])

    def _set(self, segments: list) -> StreamedImages:
        """Become the images of `segments`, (decoder, entries, quarter turns) each, end to end."""
        self._segments = segments
        self._starts = np.cumsum([0] + [len(entries) for _, entries, _ in segments])
        height, width, channels = segments[0][0].preprocessing.input_shape
        self.shape = (int(self._starts[-1]), *((width, height) if segments[0][2] % 2 else (height, width)), channels)
        return self

    @classmethod
    def _of(cls, segments: list) -> StreamedImages:
        return cls.__new__(cls)._set(segments)

    dtype = np.dtype(np.float32)
    ndim = 4

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"StreamedImages(shape={self.shape}, decoded={self.decoded}, cached={self.cached})"

    @property
    def _decoders(self) -> list:
        return list({id(d): d for d, _, _ in self._segments}.values())

    @property
    def decoded(self) -> int:
        """Images decoded so far (cache hits not counted)."""
        return sum(d.decoded for d in self._decoders)

    @property
    def cached(self) -> int:
        """Decoded images held in the cache now."""
        return sum(len(d) for d in self._decoders)

    @property
    def error(self) -> ImageError | None:
        """The first `ImageError` an indexing met (kept: a framework may wrap it on its way out)."""
        return next((d.error for d in self._decoders if d.error is not None), None)

    @property
    def cache_size(self) -> int:
        """The most decoded images the cache(s) may hold."""
        return sum(d.size for d in self._decoders)

    def forgeries(self) -> StreamedImages:
        """The skilled forgeries of the (first) dataset streamed, sharing this array's cache."""
        decoder = self._segments[0][0]
        return StreamedImages._of([(decoder, tuple(f[:2] for f in decoder.dataset.forgeries), 0)])

    def rotated(self, turns: int) -> StreamedImages:
        """The images turned by `turns` x 90 degrees counter-clockwise, as `np.rot90(images, turns, axes=(1, 2))`."""
        if turns % 2 and self.shape[1] != self.shape[2]:
            raise ConfigError(f"rotated classes need square images, got {self.shape[1]}x{self.shape[2]}")
        return StreamedImages._of([(d, entries, (t + turns) % 4) for d, entries, t in self._segments])

    @staticmethod
    def join(parts) -> StreamedImages:
        """The parts end to end (what `np.concatenate(parts)` gives); their images must have one shape."""
        parts = list(parts)
        shapes = {part.shape[1:] for part in parts}
        if not parts or len(shapes) != 1:
            raise DatasetError(f"cannot join streamed images of shapes {sorted(shapes)}")
        return StreamedImages._of([segment for part in parts for segment in part._segments])

    def __array_function__(self, func, types, args, kwargs):
        if func is np.concatenate and not kwargs.get("axis") and len(args) == 1 and set(kwargs) <= {"axis"}:
            if all(isinstance(part, StreamedImages) for part in args[0]):
                return StreamedImages.join(args[0])
        return NotImplemented

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        positions = np.arange(len(self))[key] if isinstance(key, slice) else np.asarray(key)
        positions = positions.astype(np.int64) if positions.size == 0 else positions
        if positions.dtype.kind not in "iu" or positions.ndim != 1:
            raise IndexError(f"streamed images are indexed by an int, a slice or a 1-d array of ints, got {key!r}")
        if len(positions) and not (-len(self) <= positions.min() and positions.max() < len(self)):
            raise IndexError(f"index out of range for {len(self)} images: {positions.min()}..{positions.max()}")
        positions = np.where(positions < 0, positions + len(self), positions)
        out = np.empty((len(positions), *self.shape[1:]), np.float32)
        segments = np.searchsorted(self._starts, positions, side="right") - 1
        for row, (position, segment) in enumerate(zip(positions.tolist(), segments.tolist())):
            decoder, entries, turns = self._segments[segment]
            image = decoder.get(entries[position - int(self._starts[segment])])
            out[row] = np.rot90(image, turns) if turns else image
        return out

    def take(self, positions, *, workers: int | None = None) -> np.ndarray:
        """`self[positions]`, decoded by `workers` threads (default: one per core, see `default_workers`)."""
        positions = np.asarray(positions, dtype=np.int64)
        workers = default_workers() if workers is None else max(1, int(workers))
        if workers == 1 or len(positions) < 2 * workers:
            return self[positions]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="siamese-stream") as pool:
            return np.concatenate(list(pool.map(self.__getitem__, np.array_split(positions, workers * 4))))


@contextlib.contextmanager
def image_errors(*arrays):
    """Raise the `ImageError` of a streamed array as such when a framework wrapped it.

    Keras on TensorFlow reads batches inside `tf.data`, which turns an exception into its own
    `UnknownError`; a bad file met mid-training then comes out of here as the library's typed
    error naming it. Decoded arrays (never failing) pass through.
    """
    try:
        yield
    except ImageError:
        raise
    except Exception:
        error = next((a.error for a in arrays if isinstance(a, StreamedImages) and a.error is not None), None)
        if error is None:
            raise
        raise ImageError(str(error)) from None


def decode_pairs(images, pairs: PairIndices, *, workers: int | None = None) -> tuple[np.ndarray, PairIndices]:
    """(images, pairs) with only the images the pairs use decoded, and the pairs re-indexed into them.

    A decoded array comes back as it is; a `StreamedImages` gives a float32 array of its
    images that some pair uses (in index order), however large the split they come from.
    """
    if isinstance(images, np.ndarray):
        return images, pairs
    used, inverse = np.unique(np.concatenate([pairs.first, pairs.second]), return_inverse=True)
    inverse = inverse.reshape(-1)
    return images.take(used, workers=workers), PairIndices(
        first=inverse[: len(pairs)], second=inverse[len(pairs) :], same=pairs.same
    )


def streamed_split(
    train_set: ImageDataset,
    val_set: ImageDataset,
    preprocessing: Preprocessing,
    *,
    rotated_classes: bool = False,
    cache_size: int | None = None,
) -> tuple:
    """((train_set, images, forgeries), (val_set, images, forgeries)) with the images and forgeries
    streamed, nothing decoded yet: what `siamese.training.fit` decodes up front without it.

    With `rotated_classes`, the training set grows as `add_rotated_classes` grows it, each
    rotated class a quarter turn of the images as they are decoded. Each side has a cache of
    `cache_size` images (see `StreamedImages`): validation batches, the same every epoch,
    decode their images once when it holds them all.
    """
    train_images = StreamedImages(train_set, preprocessing, cache_size=cache_size)
    train_forged = train_images.forgeries()
    if rotated_classes:
        turned = [train_images.rotated(k) for k in (1, 2, 3)]
        train_set, train_images = rotated_dataset(train_set, (1, 2, 3)), StreamedImages.join([train_images, *turned])
    val_images = StreamedImages(val_set, preprocessing, cache_size=cache_size)
    return (train_set, train_images, train_forged), (val_set, val_images, val_images.forgeries())
