"""Non-learned baselines: what a learned model has to beat on the same pairs and episodes.

A Siamese model earns its place only if it separates same from different better than
features nobody trained. Each function here returns an `embed(images) -> (n, d)` function
in the shape `siamese.evaluation.evaluate` takes, and the rows are L2-normalised, so the
cosine distance (`cosine_distance`, 1 - cos, siamese's own in float64) is the one to pair
them with (`benchmarks/applications.py` does):

    embed = hog_embedding()
    evaluate(embed, cosine_distance, [PairsStep(pairs)])

- `pixels_embedding`: the image itself, small, minus its mean brightness (so cosine is
  one minus the Pearson correlation, and a white page does not make every pair look alike).
- `hog_embedding`: histograms of oriented gradients (Dalal and Triggs 2005), unsigned
  orientations, so dark ink on light paper and the reverse give the same vector.
- `lbp_embedding`: uniform local binary patterns (Ojala et al. 2002), one histogram per
  cell of a grid, the texture descriptor classical face and signature verifiers used.

Images are paths or arrays of any size, grey or colour, and are read grey by `siamese.data`
as a model reads them (`keep_aspect`): each is padded to the target's shape with the median
of its own border (the paper, the background) and then resized, so a wide signature is not
squashed into a square.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from siamese import numpy_distances
from siamese.data import Preprocessing, load_images

Embed = Callable[[list], np.ndarray]

UNIFORM_BINS = 59  # 58 uniform 8-bit patterns (at most two 0/1 transitions around the circle) + 1 for all others
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))  # clockwise from top-left


def _check_size(size) -> tuple:
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"size must be (height, width) of at least 8, got {size!r}")
    return size


def grey_at_size(images, size=(64, 64)) -> np.ndarray:
    """uint8 (n, height, width): each image read grey by `siamese.data` (paths, or arrays grey
    or RGB, uint8 or float in [0, 1]), padded to the aspect of `size` with its border's median
    value and resized (area averaging when shrinking). The content is never stretched."""
    preprocessing = Preprocessing(image_size=_check_size(size), channels=1, keep_aspect=True)
    return np.round(load_images(images, preprocessing) * 255.0).astype(np.uint8)[..., 0]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float32); an all-zero row (a blank image's) stays zero."""
    return numpy_distances.unit(np.asarray(x, np.float64)).astype(np.float32)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - cos of matched rows, (n, d), (n, d) -> (n,), in [0, 2], in float64."""
    return numpy_distances.cosine(np.asarray(a, np.float64), np.asarray(b, np.float64))


def pixels_embedding(size=(32, 32)) -> Embed:
    """Raw pixels at `size`, each image minus its mean, unit length: cosine = 1 - correlation."""
    size = _check_size(size)

    def embed(images) -> np.ndarray:
        stack = grey_at_size(images, size).reshape(-1, size[0] * size[1]).astype(np.float32)
        return unit_rows(stack - stack.mean(axis=1, keepdims=True))

    return embed


def hog_descriptors(images: np.ndarray, *, cell: int = 8, block: int = 2, bins: int = 9) -> np.ndarray:
    """HOG (n, blocks x block^2 x bins) of grey images (n, h, w), h and w multiples of `cell`.

    Dalal and Triggs' layout: centred [-1, 0, 1] gradients, unsigned orientations (0-180
    degrees) shared linearly between the two nearest of `bins` bins, one histogram per
    `cell` x `cell` cell, blocks of `block` x `block` cells moved one cell at a time, each
    block L2-Hys normalised (unit length, clipped at 0.2, unit length again). No Gaussian
    block window or spatial interpolation between cells.
    """
    x = np.asarray(images, np.float32)
    n, h, w = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]
    gy = padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]
    magnitude = np.hypot(gx, gy)
    position = np.mod(np.degrees(np.arctan2(gy, gx)), 180.0) / (180.0 / bins) - 0.5
    low = np.floor(position)
    upper_share = position - low
    low = np.mod(low, bins).astype(np.int64)
    high = np.mod(low + 1, bins)
    rows, columns = h // cell, w // cell
    cells = np.zeros((n, rows, columns, bins), np.float32)
    for b in range(bins):
        weight = magnitude * (np.where(low == b, 1.0 - upper_share, 0.0) + np.where(high == b, upper_share, 0.0))
        cells[..., b] = weight.reshape(n, rows, cell, columns, cell).sum(axis=(2, 4))
    blocks = np.stack(
        [cells[:, i : rows - block + 1 + i, j : columns - block + 1 + j] for i in range(block) for j in range(block)],
        axis=3,
    )  # (n, by, bx, block^2, bins)
    blocks = blocks.reshape(n, blocks.shape[1], blocks.shape[2], -1)
    blocks = blocks / np.sqrt(np.sum(blocks**2, axis=-1, keepdims=True) + 1e-6)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt(np.sum(blocks**2, axis=-1, keepdims=True) + 1e-6)
    return blocks.reshape(n, -1)


def hog_embedding(size=(64, 64), *, cell: int = 8, block: int = 2, bins: int = 9) -> Embed:
    """HOG of the image at `size` (see `hog_descriptors`); 1,764 numbers with the defaults.

    Written in numpy rather than with `cv2.HOGDescriptor`, which OpenCV 5 moved out of its
    main package (to opencv_contrib's xobjdetect): the same figures on every OpenCV.
    """
    height, width = _check_size(size)
    if cell < 2 or block < 1 or bins < 2:
        raise ValueError(f"cell must be at least 2, block at least 1 and bins at least 2, got {cell}, {block}, {bins}")
    if height % cell or width % cell or height < cell * block or width < cell * block:
        raise ValueError(f"size {(height, width)} must be a multiple of cell={cell} and hold a block of {block} cells")

    def embed(images) -> np.ndarray:
        stack = grey_at_size(images, (height, width))
        return unit_rows(hog_descriptors(stack, cell=cell, block=block, bins=bins))

    return embed


def _uniform_table() -> np.ndarray:
    """Bin (0..58) of each 8-bit pattern: its own bin when uniform, the last bin otherwise."""
    codes = np.arange(256)
    bits = (codes[:, None] >> np.arange(8)) & 1
    transitions = np.sum(bits != np.roll(bits, 1, axis=1), axis=1)
    table = np.full(256, UNIFORM_BINS - 1, np.int64)
    uniform = np.flatnonzero(transitions <= 2)
    table[uniform] = np.arange(len(uniform))
    return table


_UNIFORM = _uniform_table()


def lbp_codes(images: np.ndarray) -> np.ndarray:
    """Uniform LBP bins (n, h - 2, w - 2) of grey images (n, h, w): each pixel's 8 neighbours
    (radius 1, the square ring) compared with it, >= giving 1, the pattern mapped to its bin."""
    images = np.asarray(images, np.int16)
    h, w = images.shape[1:]
    centre = images[:, 1:-1, 1:-1]
    code = np.zeros(centre.shape, np.int64)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        code |= (images[:, 1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx] >= centre).astype(np.int64) << bit
    return _UNIFORM[code]


def lbp_embedding(size=(64, 64), *, grid=(4, 4)) -> Embed:
    """Uniform LBP histograms over a `grid` (rows, columns) of cells of the image at `size`,
    each histogram summing to 1 and square-rooted (so cosine compares them as the Hellinger
    kernel does), then concatenated: grid cells x 59 numbers."""
    height, width = _check_size(size)
    rows, columns = (int(g) for g in grid)
    if rows < 1 or columns < 1 or rows > height - 2 or columns > width - 2:
        raise ValueError(f"grid must be (rows, columns) of at least 1 and fit inside {size}, got {grid!r}")
    cell_of_row = np.arange(height - 2) * rows // (height - 2)
    cell_of_column = np.arange(width - 2) * columns // (width - 2)
    cell = (cell_of_row[:, None] * columns + cell_of_column[None, :]).ravel()  # (pixels,)
    cells = rows * columns

    def embed(images) -> np.ndarray:
        stack = grey_at_size(images, (height, width))
        codes = lbp_codes(stack).reshape(len(stack), -1)  # (n, pixels)
        flat = (np.arange(len(stack))[:, None] * cells + cell[None, :]) * UNIFORM_BINS + codes
        counts = np.bincount(flat.ravel(), minlength=len(stack) * cells * UNIFORM_BINS).reshape(
            len(stack), cells, UNIFORM_BINS
        )
        histograms = counts / np.maximum(counts.sum(axis=2, keepdims=True), 1)
        return unit_rows(np.sqrt(histograms).reshape(len(stack), -1))

    return embed


BASELINES = {"pixels": pixels_embedding, "hog": hog_embedding, "lbp": lbp_embedding}
