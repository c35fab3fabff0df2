"""Convert Minivision's two MiniFASNet liveness networks into the shipped `liveness` model.

    python tools/convert_minifasnet.py ../shared/models/minifasnet --out models/liveness.keras

reads `2.7_80x80_MiniFASNetV2.pth` and `4_0_0_80x80_MiniFASNetV1SE.pth` (Minivision's
Silent-Face-Anti-Spoofing, Apache-2.0), fills `siamese.model.minifasnet`'s networks with their
weights, saves the pair as one Keras model (`build_liveness`: the 2.7x and the 4.0x crop in,
each network's softmax out) and exports it to ONNX beside it (`liveness.onnx`, checked against
Keras to 1e-4 on random crops, else removed), with the decision threshold and the crop
settings in the ONNX file's metadata (`siamese.inference.liveness.METADATA_KEY`), sealed with
the file's SHA-256 like every export (`siamese.integrity`). The export
is Keras's own (`model.export(format="onnx")`, through tf2onnx on TensorFlow), as `siamese
export` makes it; `siamese export` itself takes a Siamese network's tower, not this pair.

The files are PyTorch's legacy (pre-1.6) serialisation, read here without torch: a chain of
pickles (magic number, protocol, system information, the state dict, the storages' keys),
then each storage as a little-endian int64 count and its raw values. The state dict's pickle
names only `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and storage types;
the unpickler accepts those and refuses any other global, so a file cannot run code.

Minivision's networks read BGR crops; the converter turns the first convolution's kernel
round so the Keras model reads RGB, as the package's images are, with the same numbers.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import struct
import sys
from pathlib import Path

import numpy as np

FILES = {"near": "2.7_80x80_MiniFASNetV2.pth", "far": "4_0_0_80x80_MiniFASNetV1SE.pth"}
NAMES = {"near": "minifasnet_v2", "far": "minifasnet_v1se"}
SCALES = (2.7, 4.0)
THRESHOLD = 0.4  # live when the mean probability of "real" is at least this (see models/README.md)
_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64}


class PthFormatError(ValueError):
    """The file is not a legacy PyTorch state dict this converter reads."""


class _Storage(collections.namedtuple("_Storage", "key dtype")):
    pass


class _Tensor(collections.namedtuple("_Tensor", "storage offset shape stride")):
    pass


def _rebuild_tensor(storage, offset, shape, stride, *rest):
    return _Tensor(storage, offset, tuple(shape), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, name: str):
        super().__init__(file)
        self.name = name

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        raise PthFormatError(f"{self.name}: refers to {module}.{name}, which a state dict of weights does not")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or pid[0] != "storage" or pid[1] not in _DTYPES:
            raise PthFormatError(f"{self.name}: an unknown persistent record {pid[:2]!r}")
        return _Storage(str(pid[2]), _DTYPES[pid[1]])


def read_legacy_pth(path: str | Path) -> dict:
    """The state dict of a legacy PyTorch file as numpy arrays, keys without DataParallel's `module.`."""
    path = Path(path)
    if not path.is_file():
        raise PthFormatError(f"{path}: no such file")
    with path.open("rb") as file:
        try:
            for _ in range(3):  # magic number, protocol version, system information
                _Unpickler(file, str(path)).load()
            state = _Unpickler(file, str(path)).load()
            keys = _Unpickler(file, str(path)).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as error:
            if isinstance(error, PthFormatError):
                raise
            raise PthFormatError(f"{path}: not a legacy PyTorch file ({error})") from None
        tensors = [value for value in state.values() if isinstance(value, _Tensor)]
        dtypes = {tensor.storage.key: tensor.storage.dtype for tensor in tensors}
        storages = {}
        for key in keys:
            head = file.read(8)
            if len(head) < 8 or key not in dtypes:
                raise PthFormatError(f"{path}: storage {key!r} is missing or unused")
            (count,) = struct.unpack("<q", head)
            data = file.read(count * np.dtype(dtypes[key]).itemsize)
            if len(data) < count * np.dtype(dtypes[key]).itemsize:
                raise PthFormatError(f"{path}: unexpected end of file in storage {key!r}")
            storages[key] = np.frombuffer(data, dtypes[key])
    out = {}
    for name, tensor in state.items():
        if isinstance(tensor, _Tensor):
            raw = storages[tensor.storage.key]
            strides = [step * raw.itemsize for step in tensor.stride]
            array = np.lib.stride_tricks.as_strided(raw[tensor.offset :], tensor.shape, strides).copy()
            out[name.removeprefix("module.")] = array
    return out


def blocks_of(weights: dict) -> list:
    """`siamese.model.minifasnet.Block`s from the shapes of the weights, in Minivision's order."""
    from siamese.model.minifasnet import Block

    def block(prefix: str, stride: int, residual: bool) -> Block:
        expand = weights[f"{prefix}.conv.conv.weight"].shape[0]
        out = weights[f"{prefix}.project.conv.weight"].shape[0]
        fc1 = weights.get(f"{prefix}.se_module.fc1.weight")
        return Block(prefix.replace(".", "_"), expand, out, stride, residual, 0 if fc1 is None else fc1.shape[0])

    blocks = []
    for down, stage in (("conv_23", "conv_3"), ("conv_34", "conv_4"), ("conv_45", "conv_5")):
        blocks.append(block(down, 2, False))
        index = 0
        while f"{stage}.model.{index}.conv.conv.weight" in weights:
            blocks.append(block(f"{stage}.model.{index}", 1, True))
            index += 1
    return blocks


def _keras_weights(layer, prefix: str, weights: dict) -> list:
    """The Keras layer's weights from Minivision's tensors under `prefix`."""
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        return [weights[f"{prefix}.{part}"] for part in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(layer, keras.layers.PReLU):
        return [weights[f"{prefix}.weight"].reshape(1, 1, -1)]
    if isinstance(layer, keras.layers.Dense):
        return [weights[f"{prefix}.weight"].T]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return [weights[f"{prefix}.weight"].transpose(2, 3, 0, 1)]  # (c, 1, rows, cols) -> (rows, cols, c, 1)
    return [weights[f"{prefix}.weight"].transpose(2, 3, 1, 0)]  # (out, in, rows, cols) -> (rows, cols, in, out)


def _prefix(layer_name: str, blocks) -> str:
    """Minivision's name of the tensors of a Keras layer (`conv_3_model_0_conv_dw_bn` -> `conv_3.model.0.conv_dw.bn`)."""
    for block in blocks:
        if layer_name.startswith(block.name + "_"):
            rest = layer_name[len(block.name) + 1 :]
            stem = block.name.replace("_model_", ".model.")
            if rest.startswith("se_module_"):
                return f"{stem}.se_module.{rest[len('se_module_') :]}"
            part, _, kind = rest.rpartition("_")
            return f"{stem}.{part}.{kind}"
    part, _, kind = layer_name.rpartition("_")
    return f"{part}.{kind}" if part else layer_name


def minifasnet_from_pth(path: str | Path, name: str):
    """`build_minifasnet` with the weights of Minivision's file at `path`, reading RGB."""
    from siamese.model.minifasnet import build_minifasnet

    weights = {key: value.astype(np.float32) for key, value in read_legacy_pth(path).items() if value.ndim}
    weights["conv1.conv.weight"] = weights["conv1.conv.weight"][:, ::-1]  # BGR -> RGB
    blocks = blocks_of(weights)
    network = build_minifasnet(blocks, name=name)
    used = set()
    for layer in network.layers:
        if not layer.weights:
            continue
        prefix = _prefix(layer.name, blocks)
        values = _keras_weights(layer, prefix, weights)
        layer.set_weights(values)
        used.update(key for key in weights if key.startswith(prefix + "."))
    unused = sorted(set(weights) - used)
    if unused:
        raise PthFormatError(f"{path}: {len(unused)} tensors not in the network built from it ({unused[:3]} ...)")
    return network


def liveness_model(folder: str | Path):
    """The shipped pair: `build_liveness` over the two converted networks of `folder`."""
    from siamese.model.minifasnet import build_liveness

    folder = Path(folder)
    near, far = (minifasnet_from_pth(folder / FILES[part], NAMES[part]) for part in ("near", "far"))
    return build_liveness(near, far)


def export_onnx(model, out: Path, *, threshold: float, tolerance: float = 1e-4, seed: int = 0) -> float:
    """Write `model` as ONNX at `out` with the liveness metadata; returns its largest difference from Keras."""
    import onnx
    import onnxruntime

    from siamese.inference.liveness import write_liveness_onnx

    crops = [np.random.default_rng(seed + i).uniform(0, 255, (4, 80, 80, 3)).astype(np.float32) for i in range(2)]
    expected = np.asarray(model(crops, training=False))
    model.export(str(out), format="onnx", verbose=False)
    about = {"threshold": threshold, "scales": list(SCALES), "size": 80, "real_class": 1, "source": "Minivision"}
    write_liveness_onnx(onnx.load(str(out)), about, out)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, dict(zip((i.name for i in session.get_inputs()), crops)))[0]
    difference = float(np.max(np.abs(got - expected)))
    if not difference <= tolerance:
        out.unlink()
        raise PthFormatError(f"{out}: the ONNX export differs from Keras by {difference:.2g}; removed")
    return difference


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the folder holding Minivision's two .pth files")
    parser.add_argument("--out", type=Path, required=True, help="the .keras model to write (the .onnx goes beside it)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="the decision threshold stored in the ONNX")
    args = parser.parse_args(argv)
    try:
        model = liveness_model(args.folder)
    except PthFormatError as error:
        print(error, file=sys.stderr)
        return 2
    model.save(args.out)
    difference = export_onnx(model, args.out.with_suffix(".onnx"), threshold=args.threshold)
    print(
        f"{args.out} and {args.out.with_suffix('.onnx')}: MiniFASNetV2 + V1SE (ONNX within {difference:.1e} of Keras)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
