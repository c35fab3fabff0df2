"""From images to embeddings, and from embeddings to distances, through functions passed in.

Evaluation never loads a model itself: it is given `embed`, images -> (n, d) embeddings,
and `distance`, matched rows (n, d), (n, d) -> (n,) distances, so it measures any model
(the CLI passes a loaded `SiameseModel`'s `embed` and `distances`). Each image is embedded
once, however many pairs, episodes or queries it is part of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from siamese import numpy_distances
from siamese.data.datasets import ImageDataset

Embed = Callable[[list], np.ndarray]
Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a - b||_2 of matched rows, (n, d), (n, d) -> (n,); the default distance, in float64
    (the embeddings are float32: sums over d in float64 keep near-ties in order)."""
    return numpy_distances.euclidean(np.asarray(a, np.float64), np.asarray(b, np.float64))


def embed_images(images: Sequence, embed: Embed, *, batch_size: int = 256) -> np.ndarray:
    """Embeddings (n, d) of images (paths or arrays, whatever `embed` takes), in batches."""
    images = list(images)
    if not images:
        raise ValueError("no images to embed")
    return np.concatenate([np.asarray(embed(images[i : i + batch_size])) for i in range(0, len(images), batch_size)])


def embed_dataset(
    dataset: ImageDataset, embed: Embed, indices=None, *, channels: int = 1, batch_size: int = 256
) -> np.ndarray:
    """Embeddings (len(dataset), d) with rows `indices` filled (all by default), the rest NaN.

    Images are decoded to uint8 arrays with `channels` and handed to `embed`, which does
    the model's own preprocessing; indexing by dataset index keeps pairs and episodes simple.
    """
    indices = np.arange(len(dataset)) if indices is None else np.unique(np.asarray(indices, dtype=np.int64))
    rows = []
    for start in range(0, len(indices), batch_size):
        batch = [dataset.image(int(i), channels) for i in indices[start : start + batch_size]]
        rows.append(np.asarray(embed(batch)))
    embedded = np.concatenate(rows)
    table = np.full((len(dataset), embedded.shape[1]), np.nan, dtype=np.float32)
    table[indices] = embedded
    return table


def pairwise_distances(
    queries: np.ndarray, gallery: np.ndarray, distance: Distance = euclidean, *, max_rows: int = 500_000
) -> np.ndarray:
    """Distances (q, g) of every query to every gallery row, in blocks of at most `max_rows` pairs."""
    queries, gallery = np.asarray(queries), np.asarray(gallery)
    block = max(1, max_rows // max(1, len(gallery)))
    out = np.empty((len(queries), len(gallery)), dtype=np.float64)
    for start in range(0, len(queries), block):
        part = queries[start : start + block]
        first = np.repeat(part, len(gallery), axis=0)
        second = np.tile(gallery, (len(part), 1))
        out[start : start + len(part)] = np.asarray(distance(first, second)).reshape(len(part), len(gallery))
    return out


def path_pair_distances(
    first: Sequence, second: Sequence, embed: Embed, distance: Distance = euclidean, *, batch_size: int = 256
) -> np.ndarray:
    """Distances (n,) of pairs of image paths, each distinct path embedded once."""
    unique = sorted(set(map(str, first)) | set(map(str, second)))
    row = {path: i for i, path in enumerate(unique)}
    embeddings = embed_images(unique, embed, batch_size=batch_size)
    a = embeddings[[row[str(p)] for p in first]]
    b = embeddings[[row[str(p)] for p in second]]
    return np.asarray(distance(a, b), dtype=np.float64)
