"""Does a signature model follow the ink? The shortcut of the sets with skilled forgeries,
measured against each model's decisions on their test writers.

**The shortcut.** In SigComp 2011 Dutch, CEDAR and BHSig260 Bengali the forgers used other
pens or were scanned apart: a logistic regression on two numbers per image, the strokes'
mean grey and its spread (the pixels of `siamese.data.framing.ink_mask`), tells genuine
from forged (`grey`). Binarising removes the grey, not the pen's width: the second
shortcut (`width`) is the same regression on the strokes' mean width (ink pixels per pixel
of their skeleton), which a wet or broad pen leaves after binarising. Each is fitted on
each set's training writers and scored on its test writers (`forged_signature_split`), or
with `--part validation --fold K` on that fold's validation writers, which a choice
between candidates trained on fold K may read.

**Against a model.** For each test writer, one genuine reference (seeded) and every other
image of the writer questioned against it (its genuine signatures and its skilled
forgeries), accepted when the model's distance is at most its threshold. Reported, per set
and model: the shortcut's ROC AUC for genuine vs forged (the shortcut is in the data), the
model's (its skill), the shortcut's AUC for the model's accept vs reject over every
questioned image (how far the ink predicts the decision; the hand that the model should
judge also predicts it, so this is not 0.5 for a perfect model), and within the skilled
forgeries and within the genuine signatures apart the Spearman correlation of the
shortcut's genuine-probability with the model's closeness (minus the distance): a model
that reads the pen accepts the forgeries whose ink looks genuine, and there the
correlation is positive; a model blind to the ink has none left but what the hand shares
with the pen.

    python benchmarks/ink_shortcut.py --models results/sig29/all-binarized.keras models/signatures.keras
    python benchmarks/ink_shortcut.py --part validation --fold 0 --models results/signature-folds/bin144-fold0.keras

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save_report  # noqa: E402
from application_data import DATA, FORGED_SIGNATURE_SETS, REPO  # noqa: E402
from signature_sets import set_writers  # noqa: E402

SHORTCUTS = {"grey": [0, 1], "width": [2]}  # the columns of `ink_features` each shortcut reads
PARTS = {"validation": 1, "test": 2}


def ink_features(images) -> np.ndarray:
    """(n, 3): the mean grey of each image's ink pixels, its standard deviation, and the strokes'
    mean width (ink pixels per pixel of their skeleton)."""
    from siamese.data.framing import ink_mask, skeleton

    rows = []
    for image in images:
        mask = ink_mask(image)
        ink = image[:, :, 0][mask].astype(np.float64)
        width = mask.sum() / max(int(skeleton(mask).sum()), 1)
        rows.append((ink.mean(), ink.std(), width) if ink.size else (255.0, 0.0, 0.0))
    return np.array(rows)


def images_and_labels(dataset) -> tuple:
    """Every genuine image then every forgery of `dataset`, 1 genuine / 0 forged, and each one's writer."""
    images = [dataset.image(i) for i in range(len(dataset))]
    images += [dataset.forgery_image(i) for i in range(dataset.num_forgeries)]
    genuine = np.r_[np.ones(len(dataset), np.int64), np.zeros(dataset.num_forgeries, np.int64)]
    return images, genuine, np.r_[dataset.labels, dataset.forgery_labels]


def shortcuts(data: Path, name: str, fold: int | None) -> dict:
    """Shortcut name -> (its columns, the logistic regression of them -> genuine), fitted on the
    set's training writers (of `fold`, if given)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    images, genuine, _ = images_and_labels(set_writers(data, name, 0, fold))
    features = ink_features(images)
    return {
        shortcut: (columns, make_pipeline(StandardScaler(), LogisticRegression()).fit(features[:, columns], genuine))
        for shortcut, columns in SHORTCUTS.items()
    }


def decisions(model, images, genuine, writers, seed: int) -> tuple:
    """(questioned mask, distances): each writer's seeded genuine reference against its other images."""
    rng = np.random.default_rng(seed)
    table = model.embed(images)
    questioned, distances = np.ones(len(images), bool), np.zeros(len(images))
    for writer in np.unique(writers):
        reference = int(rng.choice(np.flatnonzero((writers == writer) & (genuine == 1))))
        questioned[reference] = False
        mine = np.flatnonzero(writers == writer)
        distances[mine] = model.distances(table[mine], np.repeat(table[[reference]], len(mine), 0))
    return questioned, distances


def measure(model, fitted: dict, images, features, genuine, writers, seed: int) -> dict:
    """The model's figures and, per shortcut, how far it predicts the truth and the model's decisions."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    questioned, distances = decisions(model, images, genuine, writers, seed)
    label, closeness = genuine[questioned], -distances[questioned]
    accepted = closeness >= -model.threshold
    found = {
        "model_auc": float(roc_auc_score(label, closeness)),
        "accepted_genuine": float(accepted[label == 1].mean()),
        "accepted_skilled": float(accepted[label == 0].mean()),
    }
    for shortcut, (columns, regression) in fitted.items():
        ink = regression.predict_proba(features[:, columns])[:, 1][questioned]
        figures = {
            "shortcut_auc": float(roc_auc_score(label, ink)),
            "shortcut_auc_for_decision": float(roc_auc_score(accepted, ink)) if 0 < accepted.mean() < 1 else None,
        }
        for kind, value in (("skilled", 0), ("genuine", 1)):
            rho, p = spearmanr(ink[label == value], closeness[label == value])
            figures[f"spearman_{kind}"], figures[f"p_{kind}"] = float(rho), float(p)
        found[shortcut] = figures
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help="saved models (paths or pretrained names)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--part", choices=tuple(PARTS), default="test", help="whose decisions are measured")
    parser.add_argument("--fold", type=int, help="the cross-validation fold whose writers train and validate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "ink-shortcut")
    args = parser.parse_args(argv)
    if not all((args.data / folder).is_dir() for folder in FORGED_SIGNATURE_SETS.values()):
        print(f"{args.data}: the signature sets with forgeries are not there; nothing to measure")
        return 0
    import siamese

    models = {str(path): siamese.load_model(path) for path in args.models}
    results = {}
    for name in FORGED_SIGNATURE_SETS:
        fitted = shortcuts(args.data, name, args.fold)
        images, genuine, writers = images_and_labels(set_writers(args.data, name, PARTS[args.part], args.fold))
        features = ink_features(images)
        results[name] = {
            path: measure(m, fitted, images, features, genuine, writers, args.seed) for path, m in models.items()
        }
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    save_report(args.out / "ink_shortcut.json", args, results=results)
    print(
        "| set | model | model AUC | shortcut | its AUC (genuine vs forged) | its AUC for the model's accept | Spearman shortcut vs closeness: skilled / genuine |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, by_model in results.items():
        for path, found in by_model.items():
            for shortcut in SHORTCUTS:
                f = found[shortcut]
                decision = (
                    f"{f['shortcut_auc_for_decision']:.3f}" if f["shortcut_auc_for_decision"] is not None else "-"
                )
                print(
                    f"| {name} | {Path(path).stem} | {found['model_auc']:.3f} | {shortcut} | {f['shortcut_auc']:.3f} | "
                    f"{decision} | {f['spearman_skilled']:+.3f} (p {f['p_skilled']:.2g}) / "
                    f"{f['spearman_genuine']:+.3f} (p {f['p_genuine']:.2g}) |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
