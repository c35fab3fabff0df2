"""Pictures of an evaluation: training curves, ROC, distance histograms, example pairs,
an N-way episode and a 2-D map of embeddings.

Each function draws one PNG, written atomically, on matplotlib's Agg canvas (no pyplot,
no global state, no display needed), with labelled axes and a title that says what is
shown. Images are uint8 arrays (h, w) or (h, w, c); distances follow the package's
convention (smaller = more alike, "same" when distance <= threshold).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from siamese.errors import DatasetError
from siamese.evaluation.verification import equal_error_rate, roc_points
from siamese.files import atomic_path

RIGHT, WRONG, SAME_COLOUR, DIFFERENT_COLOUR = "#1a9641", "#d7191c", "#2c7bb6", "#fdae61"
DPI = 110


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | os.PathLike) -> Path:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=DPI)
    return Path(path)


def _show(axes, image: np.ndarray) -> None:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    axes.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    axes.set_xticks([]), axes.set_yticks([])


def read_history(path: str | os.PathLike) -> dict:
    """A Keras CSVLogger file as {column: float array}; needs an `epoch` column."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such history file")
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    if not rows or "epoch" not in rows[0]:
        raise DatasetError(f"{path}: not a training history (need a header with an 'epoch' column and a row per epoch)")
    try:
        return {
            key: np.array([float(row[key]) if row[key] not in ("", None) else np.nan for row in rows])
            for key in rows[0]
        }
    except ValueError:
        raise DatasetError(f"{path}: history holds a value that is not a number") from None


def plot_history(history: str | os.PathLike | dict, path: str | os.PathLike) -> Path:
    """Loss (training and validation) and validation AUC / pair accuracy per epoch."""
    history = read_history(history) if not isinstance(history, dict) else history
    epochs = history["epoch"] + 1
    figure = _figure(10, 4)
    loss_axes, score_axes = figure.subplots(1, 2)
    for key, label in (("loss", "training loss"), ("val_loss", "validation loss")):
        if key in history:
            loss_axes.plot(epochs, history[key], marker="o", markersize=3, label=label)
    loss_axes.set(xlabel="epoch", ylabel="loss", title="Loss")
    for key, label in (("val_auc", "validation ROC AUC"), ("val_pair_accuracy", "validation pair accuracy")):
        if key in history:
            score_axes.plot(epochs, history[key], marker="o", markersize=3, label=label)
    if "val_auc" in history and np.isfinite(history["val_auc"]).any():
        best = int(np.nanargmax(history["val_auc"]))
        score_axes.axvline(epochs[best], color="grey", linestyle="--", label=f"best AUC (epoch {int(epochs[best])})")
    score_axes.set(xlabel="epoch", ylabel="score on validation classes", title="Validation on unseen classes")
    for axes in (loss_axes, score_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle("Training history")
    return _save(figure, path)


def plot_roc(distances, same, path: str | os.PathLike, *, threshold: float | None = None) -> Path:
    """The ROC curve (linear and log false-accept axis) with the EER point and `threshold` marked."""
    from sklearn.metrics import roc_auc_score

    far, tar, _ = roc_points(distances, same)
    distances, same = np.asarray(distances, np.float64), np.asarray(same).astype(bool)
    eer, _ = equal_error_rate(distances, same)
    auc = roc_auc_score(same, -distances)
    figure = _figure(10, 4.5)
    for axes, log in zip(figure.subplots(1, 2), (False, True)):
        axes.plot(far, tar, color=SAME_COLOUR, label=f"ROC (AUC {auc:.3f})")
        axes.plot(eer, 1 - eer, "o", color="black", label=f"EER {eer:.3f}")
        if threshold is not None:
            accepted = distances <= threshold
            at_far, at_tar = np.mean(accepted[~same]), np.mean(accepted[same])
            axes.plot(
                at_far, at_tar, "s", color=WRONG, label=f"threshold {threshold:.3f}: FAR {at_far:.3f}, TAR {at_tar:.3f}"
            )
        if log:
            floor = 0.5 / max(1, int(np.sum(~same)))
            axes.set_xscale("log")
            axes.set_xlim(floor, 1)
            axes.set_title("ROC, false accepts on a log scale")
        else:
            axes.plot([0, 1], [0, 1], ":", color="grey", label="chance")
            axes.set_xlim(0, 1)
            axes.set_title("ROC")
        axes.set(
            xlabel="false-accept rate (different pairs called same)",
            ylabel="true-accept rate (same pairs called same)",
            ylim=(0, 1.01),
        )
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize="small")
    figure.suptitle(f"Verification on {len(same)} pairs ({int(same.sum())} same, {int((~same).sum())} different)")
    return _save(figure, path)


def plot_distance_histograms(distances, same, path: str | os.PathLike, *, threshold: float | None = None) -> Path:
    """Histograms of same-pair and different-pair distances, with the threshold line."""
    distances, same = np.asarray(distances, np.float64), np.asarray(same).astype(bool)
    figure = _figure(7, 4.5)
    axes = figure.subplots()
    bins = np.histogram_bin_edges(distances, bins=40)
    axes.hist(distances[same], bins=bins, alpha=0.6, color=SAME_COLOUR, label=f"same pairs ({int(same.sum())})")
    axes.hist(
        distances[~same], bins=bins, alpha=0.6, color=DIFFERENT_COLOUR, label=f"different pairs ({int((~same).sum())})"
    )
    if threshold is not None:
        axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    axes.set(xlabel="distance (smaller = more alike)", ylabel="pairs", title="Distances of same and different pairs")
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def worst_first(distances, same, threshold: float) -> np.ndarray:
    """Pair indices, the most wrong first: by how far each distance is on the wrong side of
    the threshold (mistakes first, then the closest calls)."""
    distances, same = np.asarray(distances, np.float64), np.asarray(same).astype(bool)
    wrongness = np.where(same, distances - threshold, threshold - distances)
    return np.argsort(-wrongness, kind="stable")


def plot_pair_grid(
    first_images, second_images, distances, same, path: str | os.PathLike, *, threshold: float, columns: int = 4
) -> Path:
    """Pairs side by side with their distance, the truth and the call, green right / red wrong."""
    count = len(distances)
    if count == 0:
        raise ValueError("no pairs to draw")
    columns = min(columns, count)
    rows = -(-count // columns)
    figure = _figure(2.6 * columns, 1.75 * rows + 0.4)
    grid = figure.subplots(rows, 2 * columns, squeeze=False)
    for axes in grid.ravel():
        axes.axis("off")
    for k in range(count):
        left, right = grid[k // columns, 2 * (k % columns)], grid[k // columns, 2 * (k % columns) + 1]
        _show(left, first_images[k]), _show(right, second_images[k])
        called = distances[k] <= threshold
        correct = bool(called == bool(same[k]))
        colour = RIGHT if correct else WRONG
        for axes in (left, right):
            axes.axis("on")
            axes.set_xticks([]), axes.set_yticks([])
            for spine in axes.spines.values():
                spine.set_color(colour), spine.set_linewidth(2.5)
        truth = "same" if same[k] else "different"
        left.set_title(f"d={distances[k]:.3f}  {truth}", fontsize=9, loc="left")
        right.set_title(
            "right" if correct else f"wrong: called {'same' if called else 'different'}",
            fontsize=9,
            color=colour,
            loc="right",
        )
    figure.suptitle(f"Example pairs, worst first (threshold {threshold:.3f})")
    return _save(figure, path)


def plot_episode(
    query, supports, distances, pick: int, answer: int, path: str | os.PathLike, *, title: str = "N-way episode"
) -> Path:
    """The query above its support set: each class's image and distance, the pick framed
    (green if right, red if wrong), the right answer labelled."""
    way = len(supports)
    columns = min(way, 10)
    rows = -(-way // columns)
    figure = _figure(1.3 * columns + 0.4, 1.6 * (rows + 1) + 0.3)
    grid = figure.add_gridspec(rows + 1, columns)
    query_axes = figure.add_subplot(grid[0, (columns - 1) // 2])
    _show(query_axes, query)
    query_axes.set_title("query", fontsize=10)
    correct = pick == answer
    for k in range(way):
        axes = figure.add_subplot(grid[1 + k // columns, k % columns])
        _show(axes, supports[k])
        label = f"{distances[k]:.3f}"
        if k == answer:
            label += " answer"
        axes.set_title(label, fontsize=8, color=RIGHT if k == answer else "black")
        if k == pick:
            for spine in axes.spines.values():
                spine.set_color(RIGHT if correct else WRONG), spine.set_linewidth(4)
    verdict = "right" if correct else "wrong"
    figure.suptitle(
        f"{title}: pick (framed) is {verdict}; numbers are distances to the query",
        color=RIGHT if correct else WRONG,
        fontsize=11,
    )
    return _save(figure, path)


def plot_embedding_map(
    embeddings, labels, path: str | os.PathLike, *, names=None, max_classes: int = 20, seed: int = 0
) -> Path:
    """Embeddings projected to 2-D by PCA, one colour per class (at most `max_classes`,
    drawn with the seed, so the colours stay tellable apart)."""
    from sklearn.decomposition import PCA

    embeddings, labels = np.asarray(embeddings, np.float64), np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) > max_classes:
        classes = np.sort(np.random.default_rng(seed).choice(classes, size=max_classes, replace=False))
    keep = np.isin(labels, classes)
    if keep.sum() < 2:
        raise ValueError("an embedding map needs 2 or more embeddings")
    if embeddings.shape[1] < 2:
        raise ValueError(f"an embedding map needs embeddings of 2 or more dimensions, got {embeddings.shape[1]}")
    pca = PCA(n_components=2, random_state=seed)
    points = pca.fit_transform(embeddings[keep])
    kept_labels = labels[keep]
    figure = _figure(8, 6)
    axes = figure.subplots()
    colours = colormaps["tab20"](np.arange(20))
    markers = "os^D"
    for k, label in enumerate(classes):
        here = kept_labels == label
        name = names[label] if names is not None else str(label)
        axes.scatter(
            points[here, 0], points[here, 1], s=28, color=colours[k % 20], marker=markers[(k // 20) % 4], label=name
        )
    explained = pca.explained_variance_ratio_
    axes.set(
        xlabel=f"first principal component ({explained[0]:.0%} of variance)",
        ylabel=f"second principal component ({explained[1]:.0%} of variance)",
        title=f"Embeddings of {len(classes)} unseen classes ({int(keep.sum())} images), PCA",
    )
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5), title="class")
    return _save(figure, path)
