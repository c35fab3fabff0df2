"""Convert the MobileFaceNet TF-Lite file into a siamese `.keras` model (`faces-mobilefacenet`).

`MobileFaceNet.tflite` (sirius-ai/MobileFaceNet_TF, Apache-2.0, as converted to TF-Lite in
syaringan357/Android-MobileFaceNet-MTCNN-FaceAntiSpoofing, MIT; training data not stated,
assume MS-Celeb-1M-derived) holds the network with its batch normalisations folded into
the convolutions' biases, and each PReLU written as relu(x) + c (x - |x|), c half the
slope. This script reads the weights with TensorFlow's own TF-Lite interpreter (the tool
may import TensorFlow; the package's inference path does not), fills
`siamese.model.mobilefacenet`'s tower, checks it against the interpreter on random chips,
and saves a Siamese network around it: the tower (with the mean of its mirror image's
embedding, `--mirror`: measured and not shipped, it doubled the time for little gain), a
unit-length embedding, cosine distance, 112x112 RGB chips cut to the "arcface" template.

    python tools/convert_mobilefacenet.py --tflite ../shared/models/mobilefacenet/MobileFaceNet.tflite \\
        --out models/faces-mobilefacenet.keras
    siamese calibrate models/faces-mobilefacenet.keras ...    # the threshold (see models/README.md)
    siamese export models/faces-mobilefacenet.keras
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

CHIP_SIZE = 112
DEFAULT_THRESHOLD = 0.5  # a start; the shipped threshold is calibrated (models/README.md)
TOLERANCE = 1e-4


class TFLiteFormatError(ValueError):
    """The file is not the MobileFaceNet this converter knows."""


def read_tflite(path: str | Path) -> tuple[list, list, object]:
    """(convolution kernels and biases, PReLU slopes, interpreter) of the TF-Lite file, in its operators' order.

    Kernels come as Keras lays them out: (rows, cols, in, out) for a convolution, and so
    (rows, cols, channels, 1) for a depthwise one (TF-Lite's (1, rows, cols, channels)).
    """
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise TFLiteFormatError(f"{path}: no such file")
    try:
        interpreter = tf.lite.Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise TFLiteFormatError(f"{path}: not a TF-Lite model ({str(error).splitlines()[0]})") from None
    convs, slopes = [], []
    for op in interpreter._get_ops_details():
        kind, inputs = op["op_name"], [int(i) for i in op["inputs"]]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            kernel, bias = interpreter.get_tensor(inputs[1]), interpreter.get_tensor(inputs[2])
            convs.append((kernel.transpose(1, 2, 3, 0), bias))  # (out, rows, cols, in) -> (rows, cols, in, out)
        elif kind == "MUL":
            slopes.append(2.0 * _constant(interpreter, inputs))
    return convs, slopes, interpreter


def _constant(interpreter, inputs: list) -> np.ndarray:
    """The one-dimensional (per-channel) operand of a MUL: half a PReLU's slope."""
    details = {int(d["index"]): d for d in interpreter.get_tensor_details()}
    return next(interpreter.get_tensor(i) for i in inputs if len(details[i]["shape"]) == 1)


def mobilefacenet_from_tflite(path: str | Path):
    """`siamese.model.mobilefacenet`'s tower with the weights of the TF-Lite file at `path`,
    checked against TF-Lite's interpreter on random chips to `TOLERANCE`."""
    from siamese.model.mobilefacenet import build_mobilefacenet

    convs, slopes, interpreter = read_tflite(path)
    tower = build_mobilefacenet()
    layers = [layer for layer in tower.layers if layer.name.startswith("conv")]
    prelus = [layer for layer in tower.layers if layer.name.startswith("prelu")]
    if len(convs) != len(layers) or len(slopes) != len(prelus):
        raise TFLiteFormatError(
            f"{path}: {len(convs)} convolutions and {len(slopes)} PReLUs, MobileFaceNet has {len(layers)} and {len(prelus)}"
        )
    for layer, (kernel, bias) in zip(layers, convs):
        if kernel.shape != tuple(layer.kernel.shape):
            raise TFLiteFormatError(f"{path}: {layer.name} is {kernel.shape}, the tower's {tuple(layer.kernel.shape)}")
        layer.set_weights([kernel, bias])
    for layer, slope in zip(prelus, slopes):
        layer.set_weights([slope.reshape(1, 1, -1)])
    _check(tower, interpreter, str(path))
    return tower


def _check(tower, interpreter, name: str) -> None:
    """The tower must give the interpreter's embeddings on random chips (inputs in [0, 1] here, (x - 127.5) / 128 there)."""
    from siamese.model.mobilefacenet import PIXEL_CENTRE, PIXEL_SCALE

    given = interpreter.get_input_details()[0]
    chips = np.random.default_rng(0).integers(0, 256, size=given["shape"]).astype(np.float32)
    interpreter.set_tensor(given["index"], (chips - PIXEL_CENTRE) / PIXEL_SCALE)
    interpreter.invoke()
    expected = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    got = np.asarray(tower.predict(chips / 255.0, verbose=0))
    if np.max(np.abs(got - expected)) > TOLERANCE:
        raise TFLiteFormatError(
            f"{name}: the converted tower differs from TF-Lite by {np.max(np.abs(got - expected)):.2e}"
        )


def face_network(path: str | Path, *, threshold: float = DEFAULT_THRESHOLD, mirror: bool = False):
    """A `SiameseNetwork` around the converted tower: unit-length embeddings (of the chip and its
    mirror image summed, with `mirror`), cosine distance, "arcface" face chips of 112x112 RGB."""
    import keras

    from siamese.data import Preprocessing
    from siamese.model import CosineDistance, SiameseNetwork, mirror_averaged

    preprocessing = Preprocessing(
        image_size=(CHIP_SIZE, CHIP_SIZE), channels=3, invert=False, crop="face", face_template="arcface"
    )
    tower = mobilefacenet_from_tflite(path)
    tower = mirror_averaged(tower, name="mirrored") if mirror else tower
    inputs = keras.Input(shape=(CHIP_SIZE, CHIP_SIZE, 3), name="image")
    unit = keras.layers.UnitNormalization(name="unit_norm")(tower(inputs))
    return SiameseNetwork(
        keras.Model(inputs, unit, name="tower"),
        CosineDistance(),
        preprocessing=preprocessing.to_dict(),
        threshold=threshold,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", type=Path, required=True, help="MobileFaceNet.tflite")
    parser.add_argument("--out", type=Path, required=True, help="the .keras model to write")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="cosine distance threshold")
    parser.add_argument("--mirror", action="store_true", help="sum the embeddings of the chip and its mirror image")
    args = parser.parse_args(argv)
    try:
        network = face_network(args.tflite, threshold=args.threshold, mirror=args.mirror)
    except TFLiteFormatError as error:
        print(error, file=sys.stderr)
        return 2

    from siamese.model import save_network

    save_network(network, args.out)
    print(f"{args.out}: MobileFaceNet, cosine distance, threshold {network.threshold:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
