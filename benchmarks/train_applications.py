"""Train the shipped `signatures` model and the `faces` recipe's models, on the training side
of the splits that `benchmarks/applications.py` measures on. (The shipped `faces` model is
dlib's converted network, `tools/convert_dlib_face_model.py`; the recipe's are written as
`faces-splitK.keras` beside it, never over it.)

**What.** `siamese.training.train` with `recipe_config("signatures")` on the cross-media
signatures of the 70 training writers of `signature_split()`, and with
`recipe_config("faces")` on the training people of `face_split(0)` (Yale and Extended Yale
B together); each model is saved with its ONNX export, its `config.json`, `history.csv` and
`metrics.json` in `results/applications/<name>/` (`--results`). No test writer or person is read.

**How the signature classes are made.** In that set every writer wrote the same ten names
on four media. A class is one writer's one name (four images: the four media), and a
group is a name: batches then hold the same name by many writers, so the network learns
the hand, not the characters, which is what telling a genuine signature from another
person's writing of the same name needs (`same_group_fraction`). A user's own
`<signer>/...` folders train with one class per signer, as the recipe's CLI does.

    python benchmarks/train_applications.py                       # both, into models/
    python benchmarks/train_applications.py --only faces --face-split 1 --out-dir /tmp/models   # the repeated split
    python benchmarks/train_applications.py --only faces --out-dir /tmp/models --epochs 2 --steps 5

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from application_data import DATA, REPO, face_split, signature_split  # noqa: E402

from siamese.data import ImageDataset, load_dataset  # noqa: E402  (no Keras: the help stays fast)
from siamese.data.sources import FolderSource  # noqa: E402

SIGNATURE_NAMES = 10


def signature_dataset(root: Path, writers) -> ImageDataset:
    """One class per (writer, name), four images each (the media), grouped by name."""
    members, labels, classes, groups = [], [], [], []
    for writer in writers:
        for name in range(1, SIGNATURE_NAMES + 1):
            classes.append(f"{writer}/name{name:02d}")
            groups.append(f"name{name:02d}")
            for medium in range(4):
                members.append((0, f"{writer}/{name + SIGNATURE_NAMES * medium}.png"))
                labels.append(len(classes) - 1)
    return ImageDataset(
        sources=(FolderSource(root),),
        members=tuple(members),
        labels=np.array(labels, np.int64),
        classes=tuple(classes),
        groups=tuple(groups),
    )


def face_dataset(data: Path, people) -> ImageDataset:
    """The training people of both Yale sets, one class per person, read with one class pattern."""
    dataset = load_dataset([data / "yalefaces", data / "extended-yale-b"], class_pattern=r"^(subject\d+|yaleB\d+)")
    wanted = {person.split("/")[1] for person in people}
    return dataset.subset([label for label, name in enumerate(dataset.classes) if name in wanted])


def _train(name: str, dataset, config, out_dir: Path, results_dir: Path) -> None:
    from siamese.inference import export_model
    from siamese.training import train

    model_path = out_dir / f"{name}.keras"
    print(
        f"{name}: {len(dataset)} images of {dataset.num_classes} classes; {config.schedule.epochs} epochs x {config.schedule.steps_per_epoch} steps",
        flush=True,
    )
    result = train(dataset, model_path=model_path, config=config, results_dir=results_dir / name, verbose=2)
    exported = export_model(model_path)
    m = result.metrics
    print(
        f"{name}: validation AUC {m['val_auc']:.4f}, threshold {m['val_threshold']:.4f} ({config.validation.threshold_objective}); "
        f"{result.seconds:.0f} s; {model_path} + {exported.path}",
        flush=True,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("signatures", "faces"), nargs="+", default=("signatures", "faces"))
    parser.add_argument("--out-dir", type=Path, default=REPO / "models")
    parser.add_argument(
        "--results",
        type=Path,
        default=REPO / "results" / "applications",
        help="each model's config.json, history.csv and metrics.json go to RESULTS/<name>/",
    )
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--steps", type=int, help="batches per epoch (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--config",
        type=json.loads,
        default={},
        help='other TrainConfig values over the recipe\'s, as JSON: \'{"loss": "multi_similarity"}\'',
    )
    parser.add_argument(
        "--face-split",
        type=int,
        default=0,
        help="train faces on this split's training people, into faces-splitK.keras "
        "(benchmarks/applications.py measures split K >= 1 on it)",
    )
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"{DATA} not found: the shipped models are trained on ../shared/data; nothing to do")
        return 0
    from siamese.recipes import recipe_config

    overrides = {
        "seed": args.seed,
        **args.config,
        **({"epochs": args.epochs} if args.epochs else {}),
        **({"steps_per_epoch": args.steps} if args.steps else {}),
    }
    start = time.perf_counter()
    if "signatures" in args.only:
        root = DATA / "signatures-cross-media" / "bin"
        train_writers, _ = signature_split(root)
        config = recipe_config("signatures", same_group_fraction=0.75, split_by_group=False, **overrides)
        _train("signatures", signature_dataset(root, train_writers), config, args.out_dir, args.results)
    if "faces" in args.only:
        train_people, _ = face_split(args.face_split)
        name = f"faces-split{args.face_split}"
        _train(name, face_dataset(DATA, train_people), recipe_config("faces", **overrides), args.out_dir, args.results)
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
