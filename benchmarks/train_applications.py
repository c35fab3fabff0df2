"""Train the shipped `signatures` model and the `faces` recipe's models, on the training side
of the splits that `benchmarks/applications.py` measures on. (The shipped `faces` model is
dlib's converted network, `tools/convert_dlib_face_model.py`; the recipe's are written as
`faces-splitK.keras` beside it, never over it.)

**What.** `siamese.training.train` with `recipe_config("signatures")` on the cross-media
signatures of the 70 training writers of `signature_split()` and the 40 training writers of
the SigComp 2011 Dutch set (`dutch_signature_split()`, their skilled forgeries as negatives
of their writer; `--signature-data` picks one set or both), its threshold then set for 5%
skilled forgeries accepted on the 12 Dutch validation writers (`--target-far`), and with
`recipe_config("faces")` on the training people of `face_split(0)` (Yale and Extended Yale
B together); each model is saved with its ONNX export, its `config.json`, `history.csv` and
`metrics.json` in `results/applications/<name>/` (`--results`). No test writer or person is read.

**How the signature classes are made.** In that set every writer wrote the same ten names
on four media. A class is one writer's one name (four images: the four media), and a
group is a name: batches then hold the same name by many writers, so the network learns
the hand, not the characters, which is what telling a genuine signature from another
person's writing of the same name needs (`same_group_fraction`). A Dutch writer is one
class; the 40 are dealt into 10 groups, so that a batch's same-group share is Dutch about
half the time (a group is drawn uniformly; in one group of their own, 1 batch in 11: the
Dutch validation EER against skilled forgeries was 0.250 that way, 0.211 in 10 groups). A
user's own `<signer>/...` folders train with one class per signer, as the recipe's CLI does.

    python benchmarks/train_applications.py                       # both, into models/
    python benchmarks/train_applications.py --only signatures --epochs 12 --steps 60   # the shipped signatures model
    python benchmarks/train_applications.py --only signatures --signature-data all --target-far 0.10 \
        --config '{"contrast": "binarize", "image_size": [96, 192]}'   # the 219 writers with forgeries too
    python benchmarks/train_applications.py --only faces --face-split 1 --out-dir /tmp/models   # the repeated split
    python benchmarks/train_applications.py --only faces --out-dir /tmp/models --epochs 2 --steps 5

The data is read from `../shared/data/` beside the repository; without it the script says
so and exits 0.
"""

import argparse
import dataclasses
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from application_data import (  # noqa: E402
    DATA,
    FORGED_SIGNATURE_SETS,
    REPO,
    dutch_signature_split,
    face_split,
    forged_signature_split,
    signature_split,
)

from siamese.data import ImageDataset, load_dataset  # noqa: E402  (no Keras: the help stays fast)
from siamese.data.sources import FolderSource  # noqa: E402

SIGNATURE_NAMES = 10
WRITERS_PER_GROUP = 10


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


def dutch_dataset(root: Path, writers, groups: int = 1, prefix: str = "sigcomp2011-dutch") -> ImageDataset:
    """The writers given of a set with skilled forgeries (SigComp 2011 Dutch, CEDAR, BHSig260
    Bengali: `<writer>/genuine`, `<writer>/forged`), one class per writer, with their skilled
    forgeries as negatives of their writer; the writers dealt into `groups` groups
    ("<prefix>-K": "sigcomp2011-dutch-K", "cedar-K", ...)."""
    dataset = load_dataset(root)
    wanted = set(writers)  # folder names: CEDAR's classes are named from its files ("1" in folder "001")
    folders = {label: member.split("/")[0] for (_, member), label in zip(dataset.members, dataset.labels)}
    dataset = dataset.subset([label for label in range(dataset.num_classes) if folders[label] in wanted])
    return dataclasses.replace(dataset, groups=tuple(f"{prefix}-{c % groups}" for c in range(dataset.num_classes)))


def merged(first: ImageDataset, second: ImageDataset) -> ImageDataset:
    """One dataset of two: the second's sources, labels and forgeries shifted after the first's."""
    sources, classes = len(first.sources), first.num_classes
    return ImageDataset(
        sources=first.sources + second.sources,
        members=first.members + tuple((s + sources, m) for s, m in second.members),
        labels=np.concatenate([first.labels, second.labels + classes]),
        classes=first.classes + second.classes,
        groups=first.groups + second.groups,
        forgeries=first.forgeries + tuple((s + sources, m, c + classes) for s, m, c in second.forgeries),
    )


def signature_training_set(data: Path, which: str, dutch_groups: int = 1, fold: int | None = None) -> ImageDataset:
    """The training writers of the cross-media set, of the Dutch set, or of both (the Dutch
    writers in `dutch_groups` groups beside the cross-media set's 10 names; with `fold`, that
    cross-validation fold's training writers); "all": the cross-media writers and the training
    writers (of `fold`, if given) of the three forged sets (`forged_signature_split`), each dealt into groups of
    about `WRITERS_PER_GROUP` writers, so that same-group batches hold one script's writers
    and their skilled forgeries."""
    parts = []
    if which in ("cross-media", "both", "all"):
        root = data / "signatures-cross-media" / "bin"
        parts.append(signature_dataset(root, signature_split(root)[0]))
    if which in ("dutch", "both"):
        root = data / "signatures-sigcomp2011-dutch"
        parts.append(dutch_dataset(root, dutch_signature_split(root, fold=fold)[0], dutch_groups))
    if which == "all":
        for name, folder in FORGED_SIGNATURE_SETS.items():
            writers = forged_signature_split(name, data, fold=fold)[0]
            groups = -(-len(writers) // WRITERS_PER_GROUP)
            parts.append(dutch_dataset(data / folder, writers, groups, folder.removeprefix("signatures-")))
    return functools.reduce(merged, parts)


def join(model_path: Path, others) -> None:
    """Replace the trained model by an ensemble of `others` and it (`siamese ensemble`, others
    first); its own file is kept beside it as `<name>-member.keras`."""
    from siamese.cli.main import main as siamese_cli

    member = model_path.with_name(f"{model_path.stem}-member.keras")
    model_path.replace(member)
    model_path.with_suffix(".onnx").unlink(missing_ok=True)  # the member's: the ensemble is exported once calibrated
    status = siamese_cli(["ensemble", *map(str, others), str(member), "--out", str(model_path)])
    if status:
        raise SystemExit(status)


def link_writers(folder: Path, roots_and_writers) -> None:
    """Link each (root, writers)'s `<writer>/genuine` and `<writer>/forged` files into `folder`
    as `<root name>-<writer>/...`: the data is never copied."""
    for root, writers in roots_and_writers:
        for writer in writers:
            for kind in ("genuine", "forged"):
                if (root / writer / kind).is_dir():
                    (folder / f"{root.name}-{writer}" / kind).mkdir(parents=True)
                    for image in (root / writer / kind).iterdir():
                        (folder / f"{root.name}-{writer}" / kind / image.name).symlink_to(image)


def calibrate_on_dutch_validation(
    model_path: Path, root: Path, target_far: float, fold: int | None = None, *, every_set: bool = False
) -> None:
    """Set the model's threshold for `target_far` false accepts of skilled forgeries on the Dutch
    validation writers (of `fold`, if given; with `every_set`, on the validation writers of the
    three forged sets pooled; `siamese calibrate --objective far`), then export it again."""
    from siamese.cli.main import main as siamese_cli
    from siamese.inference import export_model

    if every_set:
        sets = [
            (DATA / folder, forged_signature_split(name, fold=fold)[1])
            for name, folder in FORGED_SIGNATURE_SETS.items()
        ]
    else:
        sets = [(root, dutch_signature_split(root, fold=fold)[1])]
    with tempfile.TemporaryDirectory() as folder:
        link_writers(Path(folder), sets)
        status = siamese_cli(
            ["calibrate", str(model_path), folder, "--objective", "far", "--target-far", str(target_far)]
        )
    if status:
        raise SystemExit(status)
    export_model(model_path)


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
        "--signature-data",
        choices=("cross-media", "dutch", "both", "all"),
        default="both",
        help="train signatures on these sets' training writers (default: both; all: both, CEDAR and Bengali)",
    )
    parser.add_argument(
        "--dutch-groups",
        type=int,
        default=10,
        help="deal the Dutch writers into this many groups: a batch's same-group share (a group drawn "
        "uniformly) is then Dutch this often against the cross-media set's 10 names",
    )
    parser.add_argument(
        "--target-far",
        type=float,
        default=0.05,
        help="with Dutch data: the signatures threshold is set for this rate of skilled forgeries "
        "accepted on the Dutch validation writers (0: keep the training's EER threshold)",
    )
    parser.add_argument(
        "--fold",
        type=int,
        help="cross-validation: train on this fold's training writers of the forged sets (Dutch; all three "
        "with --signature-data all) and set the threshold on its validation writers "
        "(benchmarks/signature_folds.py; default: the fixed splits)",
    )
    parser.add_argument(
        "--join-with",
        type=Path,
        nargs="+",
        help="join these signature models with the one trained (siamese ensemble) before the threshold "
        "is set: the shipped model is the old cross-media model joined with one trained on Dutch writers",
    )
    parser.add_argument(
        "--signature-name", default="signatures", help="the signatures model's file name, .keras left off"
    )
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
        config = recipe_config("signatures", same_group_fraction=0.75, split_by_group=False, **overrides)
        dataset = signature_training_set(DATA, args.signature_data, args.dutch_groups, args.fold)
        _train(args.signature_name, dataset, config, args.out_dir, args.results)
        if args.join_with:
            join(args.out_dir / f"{args.signature_name}.keras", args.join_with)
        if args.signature_data != "cross-media" and args.target_far:
            root = DATA / "signatures-sigcomp2011-dutch"
            calibrate_on_dutch_validation(
                args.out_dir / f"{args.signature_name}.keras",
                root,
                args.target_far,
                args.fold,
                every_set=args.signature_data == "all",
            )
    if "faces" in args.only:
        train_people, _ = face_split(args.face_split)
        name = f"faces-split{args.face_split}"
        _train(name, face_dataset(DATA, train_people), recipe_config("faces", **overrides), args.out_dir, args.results)
    print(f"total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
