"""The test data of `benchmarks/applications.py`: who is held out, and the pairs and episodes
drawn on them before any method runs.

**Why a module of its own.** The splits are a definition two scripts share: the training
recipes (`benchmarks/train_applications.py`) import them so that their training side never
holds a test writer or person, and the benchmark measures on the other side.

**Protocols** (the split functions below are the definition):

- *signatures* (`signatures-cross-media/bin/<writer>/<n>.png`, 93 writers x 10 names x 4
  media; image n is name (n - 1) % 10 on medium (n - 1) // 10): `signature_split` keeps 23
  writers for test. Genuine = same writer, same name, another medium; forgery-like = the
  same name by another test writer (the data's nearest thing to skilled forgeries: nobody
  imitated anybody); other writers = another name by another test writer. 20-way one-shot:
  one name, 20 test writers, support on one medium, the query on another.
- *faces* (`yalefaces/subjectNN.condition`, 15 people; `extended-yale-b/yaleBNN/*.pgm`, 38
  people): `face_split(seed)` keeps a third of each data set's people for test; repeated
  for `--face-splits` seeds (0, 1, ...) and pooled. Pairs and N-way episodes (N = test people,
  at most 20) within one data set's test people. `faces.keras` is taken to be trained on
  the training side of `face_split(0)` and is measured on split 0 only; `faces-splitK.keras`,
  where present, on split K.
- *handwriting*: the 20 official Omniglot one-shot runs (evaluation alphabets, which no
  background set holds: unseen by every Omniglot model, minimal or full), their 800 images
  giving pairs within one run (one alphabet) and the 400 official 20-way trials; and the
  Semeion digits (1,593 16x16 images, ink rendered black on white as Omniglot's files are),
  10-way. Semeion rows carry no writer id, so pairs cannot be made writer-disjoint: a same
  pair may be one person's two versions of a digit. No writer of it is in any training set.
"""

import dataclasses
import hashlib
import zlib
from pathlib import Path

import numpy as np

"""
## Parameters
"""

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
APPLICATIONS = ("signatures", "faces", "handwriting")
APPLICATION_MODELS = {
    "signatures": "signatures.keras",
    "faces": "faces.keras",
    "handwriting": "omniglot.keras",
}  # the handwriting recipe made omniglot.keras
SIGNATURE_TEST_WRITERS = 23  # of 93: a quarter, enough for 20-way episodes with a choice of writers
DUTCH_HELD_OUT = 12  # of SigComp 2011's 64 Dutch writers: 12 for validation, 12 for test, 40 to train
# The sets with skilled forgeries (`<writer>/genuine`, `<writer>/forged`): 219 writers in three scripts.
FORGED_SIGNATURE_SETS = {
    "dutch": "signatures-sigcomp2011-dutch",
    "cedar": "signatures-cedar",
    "bengali": "signatures-bhsig260-bengali",
}
DUTCH_FOLDS = 4  # cross-validation: the 52 writers before the test ones in 4 folds of 13
SIGNATURE_NAMES, SIGNATURE_MEDIA = 10, ("paper", "iPad", "phone in hand", "phone on table")
FACE_SETS = ("yalefaces", "extended-yale-b")
FACE_TEST_FRACTION = 1 / 3  # 5 of Yale's 15 people, 13 of Extended Yale B's 38
MOST_WAY = 20

"""
## The splits

A writer or person is in test by a rule anyone can recompute: sort the names by the SHA-256
of "<seed>:<name>" and take the last ones. It depends on the seed and the names alone (not
on numpy's generators or the order files are listed in).
"""


def _hash_order(names, seed: int) -> list:
    return sorted(names, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())


def _natural(name: str):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def signature_split(root=DATA / "signatures-cross-media", seed: int = 0) -> tuple:
    """(train_writers, test_writers) of the cross-media signatures: the writer folders of
    `root` (the data set's folder or its `bin/`), ordered by SHA-256 of "<seed>:<writer>",
    the last 23 for test. Both as sorted tuples of folder names ("1" .. "93")."""
    root = Path(root)
    root = root / "bin" if (root / "bin").is_dir() else root
    writers = [p.name for p in root.iterdir() if p.is_dir()]
    if len(writers) <= SIGNATURE_TEST_WRITERS:
        raise ValueError(f"{root}: {len(writers)} writer folders, need more than {SIGNATURE_TEST_WRITERS}")
    order = _hash_order(writers, seed)
    cut = len(order) - SIGNATURE_TEST_WRITERS
    return tuple(sorted(order[:cut], key=_natural)), tuple(sorted(order[cut:], key=_natural))


def dutch_signature_split(
    root=DATA / "signatures-sigcomp2011-dutch",
    seed: int = 0,
    fold: int | None = None,
    folds: int = DUTCH_FOLDS,
    held_out: int = DUTCH_HELD_OUT,
) -> tuple:
    """(train_writers, validation_writers, test_writers) of the SigComp 2011 Dutch signatures:
    the writer folders of `root` ordered by SHA-256 of "<seed>:<writer>", the last 12
    (`held_out`) for test, the 12 before them for validation (choosing models and
    thresholds), the rest to train.
    With `fold` (0 .. folds - 1), cross-validation over the writers before the test ones: the
    fold's share of them validates, the others train; the test writers stay the same.
    Each a sorted tuple of folder names ("001", ...)."""
    writers = [p.name for p in Path(root).iterdir() if p.is_dir()]
    if len(writers) <= 2 * held_out:
        raise ValueError(f"{root}: {len(writers)} writer folders, need more than {2 * held_out}")
    order = _hash_order(writers, seed)
    rest, test = order[:-held_out], order[-held_out:]
    if fold is None:
        train, validation = rest[:-held_out], rest[-held_out:]
    elif 0 <= fold < folds:
        validation = rest[fold::folds]
        train = [writer for writer in rest if writer not in validation]
    else:
        raise ValueError(f"fold {fold} is not one of 0 .. {folds - 1}")
    return tuple(sorted(train)), tuple(sorted(validation)), tuple(sorted(test))


def forged_signature_split(name: str, data: Path = DATA, seed: int = 0, fold: int | None = None) -> tuple:
    """(train_writers, validation_writers, test_writers) of a set with skilled forgeries
    (`FORGED_SIGNATURE_SETS`): the Dutch one as `dutch_signature_split`; CEDAR and BHSig260
    Bengali by the same SHA-256 order, a fifth of the writers for test (11 of CEDAR's 55, 20
    of Bengali's 100) and the fifth before them for validation. With `fold`, that one of
    `DUTCH_FOLDS` folds over the writers before the test ones validates (13 Dutch, 11 CEDAR,
    20 Bengali writers) and the rest train; the test writers stay the same."""
    root = data / FORGED_SIGNATURE_SETS[name]
    writers = sum(p.is_dir() for p in root.iterdir())
    held_out = DUTCH_HELD_OUT if name == "dutch" else writers // 5
    return dutch_signature_split(root, seed, fold=fold, held_out=held_out)


def _face_people(data: Path, name: str) -> list:
    if name == "yalefaces":
        return sorted({p.name.split(".")[0] for p in (data / name).iterdir() if p.name.startswith("subject")})
    return sorted(p.name for p in (data / name).iterdir() if p.is_dir() and p.name.startswith("yaleB"))


def face_split(seed: int = 0, data=DATA) -> tuple:
    """(train_people, test_people) as sorted tuples of "<set>/<person>" ("yalefaces/subject03",
    "extended-yale-b/yaleB05"): per data set found under `data`, its people ordered by
    SHA-256 of "<seed>:<person>", the last round(n / 3) for test."""
    train, test = [], []
    for name in FACE_SETS:
        if not (Path(data) / name).is_dir():
            continue
        order = _hash_order(_face_people(Path(data), name), seed)
        cut = len(order) - int(round(len(order) * FACE_TEST_FRACTION))
        train += [f"{name}/{p}" for p in order[:cut]]
        test += [f"{name}/{p}" for p in order[cut:]]
    return tuple(sorted(train)), tuple(sorted(test))


"""
## Pairs and episodes

A `Part` is one set of test images with its pair sets and one-shot episodes, all as
indices into `images`. Pairs are drawn without replacement from every pair of distinct
images that meets the set's condition; episodes take one support and one query image per
class.
"""


@dataclasses.dataclass
class Part:
    """One set of test images with its pair sets and episodes, drawn before any method runs."""

    table: str  # where its figures go, e.g. "faces: yalefaces"; parts of one table are pooled
    images: list  # uint8 arrays (h, w, 1)
    pairs: dict  # pair set name -> (first, second, same)
    episodes: list  # siamese.evaluation.Episode
    model: Path | None = None  # the application model trained without these people
    split: int | None = None
    about: dict = dataclasses.field(default_factory=dict)


def _pairs_where(n: int, keep, count: int, rng) -> tuple:
    """Up to `count` distinct pairs (i < j) of n images where keep(i, j) holds, drawn without replacement."""
    first, second = np.triu_indices(n, 1)
    allowed = np.flatnonzero(keep(first, second))
    chosen = np.sort(rng.choice(allowed, size=min(count, len(allowed)), replace=False))
    return first[chosen], second[chosen]


def _pair_set(same: tuple, different: tuple) -> tuple:
    first = np.concatenate([same[0], different[0]])
    second = np.concatenate([same[1], different[1]])
    return first, second, np.r_[np.ones(len(same[0]), bool), np.zeros(len(different[0]), bool)]


def _class_pairs(labels: np.ndarray, count: int, rng, *, within=None) -> dict:
    """{"same vs different": ...}: count / 2 same-class pairs, as many different-class ones
    (within one value of `within`, e.g. one Omniglot run, when given)."""
    within = np.zeros(len(labels)) if within is None else within
    same = _pairs_where(len(labels), lambda i, j: labels[i] == labels[j], count // 2, rng)
    different = _pairs_where(
        len(labels), lambda i, j: (labels[i] != labels[j]) & (within[i] == within[j]), count - count // 2, rng
    )
    return {"same vs different": _pair_set(same, different)}


def _episodes(labels: np.ndarray, way: int, count: int, rng) -> list:
    from siamese.evaluation import Episode

    classes = np.unique(labels)
    episodes = []
    for _ in range(count):
        chosen = rng.choice(classes, size=way, replace=False)
        drawn = np.stack([rng.choice(np.flatnonzero(labels == c), size=2, replace=False) for c in chosen])
        episodes.append(Episode(classes=chosen, support=drawn[:, :1], queries=drawn[:, 1], answers=np.arange(way)))
    return episodes


def _rng(seed: int, name: str):
    """A generator per part: its draws do not depend on which other applications run."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _read(paths) -> list:
    from siamese.data import read_image

    return [read_image(p, channels=1) for p in paths]


"""
### Signatures
"""


def signature_parts(data: Path, args) -> list:
    """One part: the 23 test writers' 920 signatures, their three pair sets and 20-way episodes."""
    root = data / "signatures-cross-media" / "bin"
    if not root.is_dir():
        return []
    _, test = signature_split(root)
    numbers = np.arange(1, 41)
    writer = np.repeat(np.arange(len(test)), 40)
    name, medium = (
        np.tile((numbers - 1) % SIGNATURE_NAMES, len(test)),
        np.tile((numbers - 1) // SIGNATURE_NAMES, len(test)),
    )
    paths = [root / w / f"{n}.png" for w in test for n in numbers]
    rng = _rng(args.seed, "signatures")
    half = args.pairs // 2
    genuine = _pairs_where(
        len(paths), lambda i, j: (writer[i] == writer[j]) & (name[i] == name[j]) & (medium[i] != medium[j]), half, rng
    )
    forged = _pairs_where(len(paths), lambda i, j: (writer[i] != writer[j]) & (name[i] == name[j]), half, rng)
    other = _pairs_where(len(paths), lambda i, j: (writer[i] != writer[j]) & (name[i] != name[j]), half, rng)
    episodes = _signature_episodes(len(test), args.episodes, rng)
    pairs = {
        "genuine vs forgery-like": _pair_set(genuine, forged),
        "genuine vs other writers": _pair_set(genuine, other),
    }
    model = args.models_dir / APPLICATION_MODELS["signatures"]
    about = {"test_writers": len(test), "images": len(paths), "way": len(episodes[0].answers)}
    return [Part("signatures", _read(paths), pairs, episodes, model, None, about)]


def _signature_episodes(writers: int, count: int, rng) -> list:
    """One name, 20 writers: support on one medium, each query on another (image index =
    writer * 40 + medium * 10 + name)."""
    from siamese.evaluation import Episode

    episodes = []
    for _ in range(count):
        k, support_medium = rng.integers(SIGNATURE_NAMES), rng.integers(len(SIGNATURE_MEDIA))
        chosen = rng.choice(writers, size=min(MOST_WAY, writers), replace=False)
        query_media = (support_medium + rng.integers(1, len(SIGNATURE_MEDIA), size=len(chosen))) % len(SIGNATURE_MEDIA)
        support = chosen * 40 + support_medium * SIGNATURE_NAMES + k
        queries = chosen * 40 + query_media * SIGNATURE_NAMES + k
        episodes.append(
            Episode(classes=chosen, support=support[:, None], queries=queries, answers=np.arange(len(chosen)))
        )
    return episodes


"""
### Faces
"""


def _face_images(data: Path, person: str) -> list:
    name, who = person.split("/")
    if name == "yalefaces":
        return sorted(p for p in (data / name).iterdir() if p.name.split(".")[0] == who)
    return sorted((data / name / who).glob("*.pgm"))


def face_parts(data: Path, args) -> list:
    parts = []
    for split in range(args.face_splits):
        _, test = face_split(split, data)
        model = args.models_dir / (APPLICATION_MODELS["faces"] if split == 0 else f"faces-split{split}.keras")
        for name in FACE_SETS:
            people = [p for p in test if p.startswith(name + "/")]
            if not people:
                continue
            paths = [(k, path) for k, person in enumerate(people) for path in _face_images(data, person)]
            labels = np.array([k for k, _ in paths])
            rng = _rng(args.seed, f"faces:{name}:{split}")
            way = min(MOST_WAY, len(people))
            parts.append(
                Part(
                    f"faces: {name}",
                    _read(p for _, p in paths),
                    _class_pairs(labels, args.pairs, rng),
                    _episodes(labels, way, args.episodes, rng),
                    model,
                    split,
                    {"test_people": len(people), "images": len(paths), "way": way},
                )
            )
    return parts


"""
### Handwriting
"""


def omniglot_runs_part(data: Path, args) -> Part:
    from siamese.evaluation import Episode, read_oneshot_runs

    path = data / "omniglot" / "all_runs.zip"
    runs = read_oneshot_runs(path if path.is_file() else REPO / "dataset" / "all_runs.zip")
    images, labels, run_of, episodes = [], [], [], []
    for r, run in enumerate(runs.runs):
        start = len(images)
        images += [runs.image(m) for m in (*run.training, *run.test)]
        labels += [r * 100 + c for c in range(len(run.training))] + [r * 100 + int(a) for a in run.answers]
        run_of += [r] * (len(run.training) + len(run.test))
        support = start + np.arange(len(run.training))
        queries = start + len(run.training) + np.arange(len(run.test))
        episodes.append(
            Episode(
                classes=np.arange(len(run.training)), support=support[:, None], queries=queries, answers=run.answers
            )
        )
    pairs = _class_pairs(np.array(labels), args.pairs, _rng(args.seed, "omniglot-runs"), within=np.array(run_of))
    return Part(
        "handwriting: omniglot runs",
        images,
        pairs,
        episodes,
        args.models_dir / APPLICATION_MODELS["handwriting"],
        None,
        {"runs": len(runs.runs), "images": len(images), "way": len(runs.runs[0].training), "trials": runs.trials},
    )


def semeion_images(path: Path) -> tuple:
    """(images, digits): the 16x16 rows as uint8 (16, 16, 1), ink (1) black on white (255),
    as Omniglot's own files are; a model's saved preprocessing does any inverting itself."""
    table = np.loadtxt(path, dtype=np.float32)
    ink = table[:, :256].reshape(-1, 16, 16, 1) > 0.5
    return list(np.where(ink, 0, 255).astype(np.uint8)), table[:, 256:266].argmax(axis=1)


def semeion_part(data: Path, args) -> Part:
    images, digits = semeion_images(data / "semeion" / "semeion.data")
    rng = _rng(args.seed, "semeion")
    return Part(
        "handwriting: semeion digits",
        images,
        _class_pairs(digits, args.pairs, rng),
        _episodes(digits, 10, args.episodes, rng),
        args.models_dir / APPLICATION_MODELS["handwriting"],
        None,
        {"images": len(images), "way": 10},
    )


def handwriting_parts(data: Path, args) -> list:
    parts = []
    if (data / "omniglot" / "all_runs.zip").is_file() or (REPO / "dataset" / "all_runs.zip").is_file():
        parts.append(omniglot_runs_part(data, args))
    if (data / "semeion" / "semeion.data").is_file():
        parts.append(semeion_part(data, args))
    return parts


BUILDERS = {"signatures": signature_parts, "faces": face_parts, "handwriting": handwriting_parts}


def split_report(application: str, args) -> dict:
    """Who is in test and who in training, for the report (signatures and faces)."""
    if application == "signatures":
        train, test = signature_split(args.data / "signatures-cross-media")
        return {"signatures": {"rule": "sha256('0:<writer>') order, last 23", "train": list(train), "test": list(test)}}
    if application == "faces":
        return {
            "faces": {
                str(s): dict(zip(("train", "test"), map(list, face_split(s, args.data))))
                for s in range(args.face_splits)
            }
        }
    return {}
