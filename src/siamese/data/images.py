"""Reading images: bytes or arrays in, float32 tensors the tower can take out.

Decoding is by content (OpenCV sniffs the format), so a GIF without `.gif` is read, and a
file that is not an image is reported by name with what it looks like instead. The same
`Preprocessing` is stored in every saved model, so inference prepares images exactly as
training did.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from siamese.data import framing
from siamese.data.faces import FaceLog
from siamese.data.named import NamedImage, image_name, named
from siamese.data.preprocessing import Preprocessing
from siamese.errors import ConfigError, ImageError, ImageTooLargeError

ImageLike = str | os.PathLike | np.ndarray

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The one pixel limit (the service's, the CLI's, the library's): about 5,470 x 3,650 (a 20 MP photo; a 300 dpi A4
# scan is 8.7 M). Larger images are refused, by their header, before decoding: a decoded image holds up to
# 3 bytes a pixel, and decoding, colour conversion and framing each hold a copy for a while.
MAX_PIXELS = 20_000_000
# Formats OpenCV decodes whose header Pillow cannot read (so the size is unknown before decoding), by their first bytes.
_UNMEASURED = {b"BM": "BMP", b"P7": "PAM", b"PF": "PFM", b"Pf": "PFM", b"#?": "Radiance HDR", b"v/1\x01": "OpenEXR"}


def _describe_undecodable(data: bytes) -> str:
    """Say what a file that OpenCV could not decode looks like."""
    if data.startswith(_PNG_SIGNATURE):
        return "truncated or corrupt PNG"
    if data[:3] == b"\xff\xd8\xff":
        return "truncated or corrupt JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "truncated or corrupt GIF"
    head = data[:512]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "not an image (unknown format)"
    return "not an image (text)"


def inspect_header(data: bytes) -> tuple:
    """(size, sound), read without decoding a pixel (Pillow parses headers lazily).

    `size` is what the header declares: (width, height), or the pixel count alone where Pillow
    refuses the image as a bomb itself, or None where Pillow does not know the format (OpenCV
    then decides). `sound` is False for a PNG whose chunks are not whole or fail their
    checksum: OpenCV allocates what a chunk's length field claims before reading it (4 GB for
    a 2 KB file whose IDAT length was altered), while Pillow's `verify` reads in blocks.
    """
    size = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                size = image.size
                if image.format == "PNG":
                    image.verify()
        return size, True
    except Image.DecompressionBombError as error:  # above Pillow's own ceiling
        found = re.search(r"\((\d+) pixels\)", str(error))
        return (int(found.group(1)) if found else MAX_PIXELS + 1), True
    except Exception:  # Pillow raises many types for odd data; for a PNG they all mean "not sound"
        return size, not data.startswith(_PNG_SIGNATURE)


def declared_size(data: bytes) -> tuple[int, int] | int | None:
    """The size an image's header declares; see `inspect_header`."""
    return inspect_header(data)[0]


def measure(data: bytes, name: str) -> int:
    """The pixels the header of `data` declares, read once before decoding: an `ImageTooLargeError`
    above `MAX_PIXELS`; an `ImageError` for a PNG whose chunks do not add up, and for an image whose
    size its header does not tell (a BMP with a header Pillow cannot read, PAM, HDR...: OpenCV decodes
    a 1 KB BMP of that kind to 20000 x 20000 blank pixels, so what cannot be measured is not decoded)."""
    size, sound = inspect_header(data)
    if size is None:
        kind = next((kind for magic, kind in _UNMEASURED.items() if data.startswith(magic)), None)
        if kind is None:
            raise ImageError(f"{name}: {_describe_undecodable(data)}")
        raise ImageError(f"{name}: a {kind} whose header does not tell its size; refused before decoding")
    pixels = size if isinstance(size, int) else size[0] * size[1]
    if pixels > MAX_PIXELS:
        shape = f"{size[0]}x{size[1]} = " if isinstance(size, tuple) else ""
        raise ImageTooLargeError(
            f"{name}: declares {shape}{pixels:,} pixels, more than the {MAX_PIXELS:,} allowed; "
            "refused before decoding (a decompression bomb?)",
            pixels,
        )
    if not sound:
        raise ImageError(f"{name}: truncated or corrupt PNG")
    return pixels


def decode_image(data: bytes, *, name: str, channels: int = 1, measured: int | None = None) -> NamedImage:
    """Decode encoded image bytes to uint8 (height, width, channels); RGB order for colour,
    called `name`, so what is said of it later (no face found, say) names it.

    The header is read first (`measure`; `measured`: what `measure` said of these bytes already):
    an image over `MAX_PIXELS`, or whose size cannot be told, is refused before decoding.
    """
    if len(data) == 0:
        raise ImageError(f"{name}: empty file (0 bytes)")
    measured = measure(data, name) if measured is None else measured
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        image = cv2.imdecode(buffer, flag)
    except cv2.error as error:  # OpenCV's own limits and decoder failures
        first_line = (str(error).strip().splitlines() or ["cv2.error"])[-1]
        raise ImageError(f"{name}: cannot be decoded ({first_line.strip()[:160]})") from None
    if image is None or image.size == 0:
        raise ImageError(f"{name}: {_describe_undecodable(data)}")
    if image.shape[0] * image.shape[1] > measured:  # OpenCV read another size than Pillow: not this image's
        raise ImageError(f"{name}: decodes to more pixels than its header declares")
    if data.startswith(_PNG_SIGNATURE) and not data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82"):
        raise ImageError(f"{name}: truncated or corrupt PNG")
    if channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return named(image.reshape(image.shape[0], image.shape[1], channels), name)


def read_image(path: str | os.PathLike, *, channels: int = 1) -> np.ndarray:
    """Read an image file by content; errors name the file."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot be read ({error.strerror})") from None
    return decode_image(data, name=str(path), channels=channels)


def _coerce_array(array: np.ndarray, *, name: str, channels: int) -> np.ndarray:
    """Turn a user's array (grey or RGB, uint8 or float in [0, 1]) into uint8 (h, w, channels)."""
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "uif" or array.size == 0:
        raise ImageError(f"{name}: not an image array (need a numeric array of shape (h, w) or (h, w, c))")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageError(
            f"{name}: array of shape {array.shape} is not an image (need (h, w), (h, w, 1), (h, w, 3) or (h, w, 4))"
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ImageError(f"{name}: array holds NaN or infinite values")
        scale = 255.0 if array.max() <= 1.0 else 1.0
        array = np.clip(array * scale, 0, 255).round().astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.shape[2] == 4:
        array = np.ascontiguousarray(array[:, :, :3])
    if array.shape[2] == 3 and channels == 1:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)[:, :, None]
    elif array.shape[2] == 1 and channels == 3:
        array = np.repeat(array, 3, axis=2)
    return array


def image_array(image: ImageLike, *, name: str, channels: int = 3) -> np.ndarray:
    """A path read, or a user's array coerced, to uint8 (h, w, channels); errors name `name`."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(image, channels=channels)
    return _coerce_array(image, name=name, channels=channels)


def preprocess(
    image: np.ndarray, preprocessing: Preprocessing, *, name: str = "image", faces: FaceLog | None = None
) -> np.ndarray:
    """uint8 (h, w, c) image -> float32 (height, width, channels) in [0, 1], as the tower wants;
    `faces`: see `siamese.data.framing.frame` (without it, an image with no face raises `NoFaceError`)."""
    image = _coerce_array(image, name=name, channels=preprocessing.channels)
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageError(f"{name}: image of {image.shape[1]}x{image.shape[0]} pixels is too large")
    image = framing.frame(image, preprocessing, name=name, faces=faces)  # crop, contrast, strokes, padding
    height, width = preprocessing.image_size
    if image.shape[:2] != (height, width):
        shrinking = image.shape[0] > height or image.shape[1] > width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        image = cv2.resize(image, (width, height), interpolation=interpolation)
    image = image.reshape(height, width, preprocessing.channels).astype(np.float32) / 255.0
    if preprocessing.invert:
        image = 1.0 - image
    return image


def as_image_list(images) -> list:
    """A single path or a single 2-D/3-D array counts as one image; a 4-D array as a batch."""
    if isinstance(images, (str, os.PathLike)) or (isinstance(images, np.ndarray) and images.ndim in (2, 3)):
        return [images]
    return list(images)


def _prepare(index: int, image: ImageLike, preprocessing: Preprocessing, faces: FaceLog | None) -> np.ndarray:
    name = image_name(index, image)
    if isinstance(image, (str, os.PathLike)):
        image = read_image(image, channels=preprocessing.channels)
    return preprocess(image, preprocessing, name=name, faces=faces)


def default_workers() -> int:
    """Threads for decoding: OpenCV releases the GIL, so one per core (at most 8) keeps them busy."""
    return max(1, min(8, os.cpu_count() or 1))


def iter_image_batches(
    images: Sequence[ImageLike] | ImageLike,
    preprocessing: Preprocessing,
    *,
    batch_size: int = 256,
    workers: int | None = None,
    faces: FaceLog | None = None,
) -> Iterator[np.ndarray]:
    """Float32 batches (<= batch_size, height, width, channels) of paths and/or arrays, in order.

    Images are read and prepared by `workers` threads (default: `default_workers()`), one
    batch ahead of the consumer, so decoding overlaps whatever the caller does with a batch.
    An unreadable image raises its `ImageError` when its batch is reached; so does an image
    without a face for a face crop, unless `faces` keeps it (`siamese.data.faces.FaceLog`).
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    items = as_image_list(images)
    if not items:
        raise ImageError("no images given")
    starts = range(0, len(items), batch_size)
    workers = default_workers() if workers is None else int(workers)
    if workers <= 1 or len(items) < 2 * workers:
        for start in starts:
            yield np.stack(
                [_prepare(i, items[i], preprocessing, faces) for i in range(start, min(start + batch_size, len(items)))]
            )
        return

    def prepare_range(start: int, stop: int) -> list:
        return [_prepare(i, items[i], preprocessing, faces) for i in range(start, stop)]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="siamese-decode") as pool:

        def submit(start):  # one task per worker and batch: few futures, each a run of images
            stop = min(start + batch_size, len(items))
            step = -(-(stop - start) // workers)
            return [pool.submit(prepare_range, i, min(i + step, stop)) for i in range(start, stop, step)]

        pending = submit(0)
        try:
            for start in starts:
                current, pending = pending, (submit(start + batch_size) if start + batch_size < len(items) else [])
                yield np.stack([image for future in current for image in future.result()])
        finally:
            for future in pending:
                future.cancel()


def load_images(
    images: Sequence[ImageLike] | ImageLike,
    preprocessing: Preprocessing,
    *,
    workers: int | None = 1,
    faces: FaceLog | None = None,
) -> np.ndarray:
    """Paths and/or arrays -> float32 batch (n, height, width, channels).

    A single path or a single 2-D/3-D array counts as one image; a 4-D array as a batch.
    `workers` threads decode (None: one per core, see `default_workers`); `faces` as in `preprocess`.
    """
    batches = iter_image_batches(images, preprocessing, batch_size=1 << 30, workers=workers, faces=faces)
    return np.concatenate(list(batches))
