"""MiniFASNet, Minivision's silent face liveness network, layer for layer, as Keras layers.

Minivision's Silent-Face-Anti-Spoofing (Apache-2.0) tells a live face before the camera from
a printed photo or a replay by the look of the face and its surroundings: an 80x80 crop of
the frame about the face's box, enlarged 2.7 times (MiniFASNetV2) or 4 times (MiniFASNetV1SE),
goes in; three logits come out (class 1: a real face; 0 and 2: kinds of attack). Rebuilding
it in Keras lets the package save, export and check it like its other models; the weights come
from Minivision's files through `tools/convert_minifasnet.py`.

The layers follow Minivision's `MiniFASNet` (`src/model_lib/MiniFASNet.py`), with PyTorch's
conventions kept: batch norm with epsilon 1e-5, PReLU with one slope per channel,
convolutions without bias, padding of 1 on every side of a 3x3 convolution (Keras's "same"
pads a stride-2 convolution unevenly, so the padding is its own layer):

    80x80x3 (pixels 0..255, no scaling)
    conv 3x3/2 -> bn -> prelu; depthwise 3x3 -> bn -> prelu                     40x40x32
    down(64), residuals(64)                                                     20x20x64
    down(128), residuals(128)                                                   10x10x128
    down(128), residuals(128)                                                    5x5x128
    conv 1x1 -> bn -> prelu (512); depthwise 5x5 (no padding) -> bn              1x1x512
    flatten -> dense 128 (no bias) -> bn -> dense 3 (no bias): the logits

A block expands with a 1x1 convolution, filters with a 3x3 depthwise one (stride 2 in a down
block), projects back with a 1x1 without PReLU; a residual block adds its input, after a
squeeze-and-excitation of the projection (V1SE's last block of a stage). The widths differ
from block to block (the published networks are pruned), so the builder takes them as a list
of `Block`s, which the converter reads from the weights' shapes. Only built-in Keras layers:
the saved model loads under `safe_mode`.
"""

from __future__ import annotations

import dataclasses

import keras

INPUT_SIZE = 80
CLASSES = 3
REAL = 1  # the class of a live face; 0 and 2 are kinds of attack
EPSILON = 1e-5  # PyTorch's batch norm


@dataclasses.dataclass(frozen=True)
class Block:
    """One depthwise-separable block: its name (Minivision's, dots as underscores), the widths
    it expands to and projects to, its stride, whether it adds its input, and the hidden width
    of its squeeze-and-excitation (0: none)."""

    name: str
    expand: int
    out: int
    stride: int = 1
    residual: bool = True
    excite: int = 0


def _conv_bn(x, name: str, filters: int, kernel: int, *, stride: int = 1, pad: int = 0, depthwise=False, act=True):
    """Convolution (padded by `pad` on every side), batch norm and (with `act`) a per-channel PReLU."""
    if pad:
        x = keras.layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    if depthwise:
        x = keras.layers.DepthwiseConv2D(kernel, strides=stride, use_bias=False, name=f"{name}_conv")(x)
    else:
        x = keras.layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_bn")(x)
    return keras.layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(x) if act else x


def _excite(x, name: str, hidden: int):
    """Squeeze and excitation: the channels reweighted by a gate computed from their means."""
    channels = x.shape[-1]
    gate = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    gate = keras.layers.Conv2D(hidden, 1, use_bias=False, name=f"{name}_fc1")(gate)
    gate = keras.layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_bn1")(gate)
    gate = keras.layers.ReLU(name=f"{name}_relu")(gate)
    gate = keras.layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_fc2")(gate)
    gate = keras.layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_bn2")(gate)
    gate = keras.layers.Activation("sigmoid", name=f"{name}_gate")(gate)
    return keras.layers.Multiply(name=f"{name}_excite")([x, gate])


def _block(x, block: Block):
    y = _conv_bn(x, f"{block.name}_conv", block.expand, 1)
    y = _conv_bn(y, f"{block.name}_conv_dw", block.expand, 3, stride=block.stride, pad=1, depthwise=True)
    y = _conv_bn(y, f"{block.name}_project", block.out, 1, act=False)
    if not block.residual:
        return y
    if block.excite:
        y = _excite(y, f"{block.name}_se_module", block.excite)
    return keras.layers.Add(name=f"{block.name}_add")([x, y])


def build_minifasnet(blocks, *, stem: int = 32, head: int = 512, embedding: int = 128, name: str = "minifasnet"):
    """A MiniFASNet: (n, 80, 80, 3) pixels -> (n, 3) logits, with these `blocks` between its stem and head."""
    if not blocks:
        raise ValueError("a MiniFASNet needs at least one block, got none")
    image = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name=f"{name}_input")
    x = _conv_bn(image, "conv1", stem, 3, stride=2, pad=1)
    x = _conv_bn(x, "conv2_dw", stem, 3, pad=1, depthwise=True)
    for block in blocks:
        x = _block(x, block)
    x = _conv_bn(x, "conv_6_sep", head, 1)
    x = _conv_bn(x, "conv_6_dw", head, x.shape[1], depthwise=True, act=False)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(embedding, use_bias=False, name="linear")(x)
    x = keras.layers.BatchNormalization(epsilon=EPSILON, name="bn")(x)
    logits = keras.layers.Dense(CLASSES, use_bias=False, name="prob")(x)
    return keras.Model(image, logits, name=name)


def build_liveness(near, far):
    """The two networks side by side: the 2.7x crop to `near`, the 4.0x crop to `far`, each an
    (n, 80, 80, 3) RGB crop in 0..255; out (n, 2, 3) softmax probabilities, one row per network
    (class `REAL` is a live face). Minivision's rule sums the rows and takes the arg-max."""
    crops = [keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name=name) for name in ("crop_2_7", "crop_4_0")]
    rows = []
    for crop, network in zip(crops, (near, far)):
        probabilities = keras.layers.Softmax(name=f"{network.name}_softmax")(network(crop))
        rows.append(keras.layers.Reshape((1, CLASSES), name=f"{network.name}_row")(probabilities))
    stacked = keras.layers.Concatenate(axis=1, name="probabilities")(rows)
    return keras.Model(crops, stacked, name="liveness")
