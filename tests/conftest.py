"""Shared fixtures: real image files on disk, drawn with OpenCV, and the bundled data.

The "shapes" dataset is a small learnable one-shot problem: each class is a shape, each
image a randomly shifted, scaled, rotated and thickened drawing of it, in group folders
(like alphabets) of class folders (like characters).
"""

import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MINIFASNET = REPO.parent / "shared" / "models" / "minifasnet"  # Minivision's liveness weights and samples
BUNDLED = REPO / "dataset"

SHAPES = {
    "lines": ["hline", "vline", "diag", "cross"],
    "polygons": ["square", "triangle", "diamond", "pentagon"],
    "curves": ["circle", "arc", "wave", "spiral"],
}


def tiny_training(*, filters: str = "8,8", classes_per_batch: int = 4) -> list:
    """`siamese train` options for a run of seconds on the shapes: one epoch of 2 steps, 16x16, 8-d."""
    return [
        "--epochs", "1", "--steps", "2", "--image-size", "16", "--filters", filters, "--embedding-dim", "8",
        "--classes-per-batch", str(classes_per_batch), "--examples-per-class", "2",
    ]  # fmt: skip


def _draw(shape: str, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    canvas = np.full((size, size), 255, np.uint8)
    c = size / 2 + rng.uniform(-4, 4, 2)
    r = size * rng.uniform(0.25, 0.35)
    t = int(rng.integers(2, 4))
    angle = rng.uniform(-0.25, 0.25)

    def pt(x, y):
        ca, sa = np.cos(angle), np.sin(angle)
        return (int(c[0] + r * (x * ca - y * sa)), int(c[1] + r * (x * sa + y * ca)))

    def poly(points, closed=True):
        cv2.polylines(canvas, [np.array([pt(x, y) for x, y in points], np.int32)], closed, 0, t)

    if shape == "hline":
        poly([(-1, 0), (1, 0)], False)
    elif shape == "vline":
        poly([(0, -1), (0, 1)], False)
    elif shape == "diag":
        poly([(-1, -1), (1, 1)], False)
    elif shape == "cross":
        poly([(-1, 0), (1, 0)], False), poly([(0, -1), (0, 1)], False)
    elif shape == "square":
        poly([(-1, -1), (1, -1), (1, 1), (-1, 1)])
    elif shape == "triangle":
        poly([(0, -1), (1, 1), (-1, 1)])
    elif shape == "diamond":
        poly([(0, -1), (1, 0), (0, 1), (-1, 0)])
    elif shape == "pentagon":
        poly([(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 6)[:-1] - np.pi / 2])
    elif shape == "circle":
        poly([(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, 24)])
    elif shape == "arc":
        poly([(np.cos(a), np.sin(a)) for a in np.linspace(0, np.pi, 12)], False)
    elif shape == "wave":
        poly([(x, 0.5 * np.sin(3 * x * np.pi)) for x in np.linspace(-1, 1, 20)], False)
    elif shape == "spiral":
        poly([(a / 12 * np.cos(a), a / 12 * np.sin(a)) for a in np.linspace(0, 12, 30)], False)
    return canvas


def write_shapes(root: Path, per_class: int = 8, seed: int = 0, groups=SHAPES) -> Path:
    """Write group/class/NN.png drawings; returns root."""
    rng = np.random.default_rng(seed)
    for group, shapes in groups.items():
        for shape in shapes:
            folder = root / group / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                cv2.imwrite(str(folder / f"{i:02d}.png"), _draw(shape, rng))
    return root


@pytest.fixture(scope="session")
def shapes_dir(tmp_path_factory) -> Path:
    """12 classes in 3 groups, 8 images each, as PNG files on disk (read-only by convention)."""
    return write_shapes(tmp_path_factory.mktemp("shapes"))


@pytest.fixture
def shapes_copy(shapes_dir, tmp_path) -> Path:
    """A private copy of the shapes dataset that a test may change."""
    return Path(shutil.copytree(shapes_dir, tmp_path / "shapes"))


@pytest.fixture(scope="session")
def trained_model_path(shapes_dir, tmp_path_factory) -> Path:
    """A tiny model trained on the shapes (seconds on a CPU), saved as .keras."""
    from siamese.training import TrainConfig, train

    path = tmp_path_factory.mktemp("model") / "shapes.keras"
    config = TrainConfig.from_settings(
        image_size=(24, 24),
        filters=(16, 32, 32),
        embedding_dim=32,
        epochs=6,
        steps_per_epoch=20,
        classes_per_batch=6,
        examples_per_class=4,
        validation_pairs=200,
        augment=False,
        split_by_group=False,
        validation_fraction=0.34,
        learning_rate=0.003,
        seed=0,
    )
    train(shapes_dir, model_path=path, config=config, results_dir=path.parent / "results", verbose=0)
    return path


@pytest.fixture(scope="session")
def oneshot_run(tmp_path_factory) -> Path:
    """Run 01 of the official one-shot runs (bundled in dataset/all_runs.zip), unpacked."""
    import zipfile

    root = tmp_path_factory.mktemp("runs")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        archive.extractall(root, members=[n for n in archive.namelist() if n.startswith("run01/")])
    return root / "run01"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def liveness_samples() -> Path:
    """Minivision's three sample frames: image_T1.jpg (live), image_F1.jpg and image_F2.jpg (printed photos)."""
    pytest.importorskip("dlib", reason="liveness finds the face with dlib (the faces extra)")
    if not (MINIFASNET / "samples").is_dir():
        pytest.skip("../shared/models/minifasnet is not present")
    return MINIFASNET / "samples"


SIGNERS = {"square": "diamond", "circle": "pentagon", "hline": "diag", "wave": "arc", "cross": "spiral"}


def write_signers(root: Path, genuine: int = 7, forged: int = 4, seed: int = 0, signers=SIGNERS) -> Path:
    """Write `<signer>/genuine/NN.png` and `<signer>/forged/NN.png`: each signer draws one shape, its
    forger a look-alike (another shape); returns root."""
    rng = np.random.default_rng(seed)
    for signer, imitation in signers.items():
        for kind, shape, count in (("genuine", signer, genuine), ("forged", imitation, forged)):
            folder = root / signer / kind
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                cv2.imwrite(str(folder / f"{i:02d}.png"), _draw(shape, rng))
    return root


@pytest.fixture(scope="session")
def signers_dir(tmp_path_factory) -> Path:
    """5 signers of 7 genuine drawings and 4 skilled forgeries each, in the genuine/forged layout."""
    return write_signers(tmp_path_factory.mktemp("signers"))


@pytest.fixture(scope="session")
def face_model_path(tmp_path_factory) -> Path:
    """A tiny untrained face model (crop "face", dlib's 150x150 RGB chip), saved and exported to ONNX."""
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    import keras

    from siamese.inference import export_model
    from siamese.model import SiameseNetwork, build_tower, save_network

    keras.utils.set_random_seed(0)
    preprocessing = {"image_size": [150, 150], "channels": 3, "invert": False, "crop": "face"}
    network = SiameseNetwork(
        build_tower((150, 150, 3), filters=(8, 8), embedding_dim=16),
        "cosine",
        preprocessing=preprocessing,
        threshold=0.5,
    )
    path = save_network(network, tmp_path_factory.mktemp("faces") / "faces.keras")
    export_model(path)
    return path


def write_faceless(path: Path) -> Path:
    """An image in which there is no face to find: seeded noise."""
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    return path


def write_two_faces(path: Path, big: Path, small: Path) -> Path:
    """A photo of two people: `big` at twice its size on the left, `small` as it is on the right."""
    large, little = cv2.imread(str(big)), cv2.imread(str(small))
    large = cv2.resize(large, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    canvas = np.full((large.shape[0], large.shape[1] + little.shape[1] + 40, 3), 128, np.uint8)
    canvas[:, : large.shape[1]] = large
    canvas[: little.shape[0], large.shape[1] + 40 :] = little
    cv2.imwrite(str(path), canvas)
    return path


from tests.postgres import postgres_server, postgres_url  # noqa: E402, F401  (fixtures: a real PostgreSQL)
