"""MobileFaceNet (Chen et al. 2018), layer for layer, as a Keras tower.

The network of sirius-ai/MobileFaceNet_TF (Apache-2.0), as converted to TF-Lite in
syaringan357/Android-MobileFaceNet-MTCNN-FaceAntiSpoofing (MIT), maps a 112x112 RGB face
chip, aligned to the five-point template of `siamese.data.faces` ("arcface"), to 192
floats; L2-normalised, two faces are the same person when they are close. It is small
(about a million weights) and fast, and at low false-accept rates, where identification
among many people lives, it misses far fewer people than dlib's ResNet
(`docs/benchmarks.md`). The weights come from the TF-Lite file through
`tools/convert_mobilefacenet.py`; the batch normalisations are folded into the
convolutions' biases there, as here.

    112x112x3 in [0, 1] -> (255 x - 127.5) / 128
    conv 3x3/2, 64 -> prelu; depthwise 3x3, 64 -> prelu; conv 1x1, 64 (linear)        56x56x64
    bottleneck(128 -> 64, /2) + 4 x bottleneck(128 -> 64)                                28x28x64
    bottleneck(256 -> 128, /2) + 6 x bottleneck(256 -> 128)                              14x14x128
    bottleneck(512 -> 128, /2) + 2 x bottleneck(256 -> 128)                              7x7x128
    conv 1x1, 512 -> prelu; depthwise 7x7 (valid), 512; conv 1x1, 512; conv 1x1, 192     1x1x192

A bottleneck expands with a 1x1 convolution and a PReLU, filters each channel with a 3x3
depthwise convolution and a PReLU, projects with a linear 1x1 convolution, and adds its
input when the stride is 1. Every convolution has a bias and pads "same" (TensorFlow's:
the extra pixel of a stride-2 pad goes right and bottom), except the 7x7 one. PReLU slopes
are shared over height and width, one per channel.
"""

from __future__ import annotations

import keras

INPUT_SIZE = 112
EMBEDDING_DIM = 192
PIXEL_CENTRE, PIXEL_SCALE = 127.5, 128.0  # the network's input: (pixel - 127.5) / 128, pixels in [0, 255]
# (expansion, output channels, blocks) of each stage; the first block of each halves the size.
STAGES = ((128, 64, 5), (256, 128, 7), ((512, 256), 128, 3))


class _Names:
    """Numbers convolutions and PReLUs in the TF-Lite file's order (the order of its operators)."""

    def __init__(self):
        self.convs, self.prelus = 0, 0

    def conv(self) -> str:
        self.convs += 1
        return f"conv{self.convs:02d}"

    def prelu(self) -> str:
        self.prelus += 1
        return f"prelu{self.prelus:02d}"


def _conv(x, filters: int, names: _Names, *, kernel: int = 1, stride: int = 1, prelu: bool = False):
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", name=names.conv())(x)
    return keras.layers.PReLU(shared_axes=[1, 2], name=names.prelu())(x) if prelu else x


def _depthwise(x, names: _Names, *, stride: int = 1):
    x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", name=names.conv())(x)
    return keras.layers.PReLU(shared_axes=[1, 2], name=names.prelu())(x)


def _bottleneck(x, expansion: int, filters: int, stride: int, names: _Names, index: str):
    y = _conv(x, expansion, names, prelu=True)
    y = _depthwise(y, names, stride=stride)
    y = _conv(y, filters, names)
    return y if stride != 1 else keras.layers.Add(name=f"add{index}")([x, y])


def build_mobilefacenet(*, name: str = "tower") -> keras.Model:
    """A functional `keras.Model`: (batch, 112, 112, 3) RGB in [0, 1] -> (batch, 192), not normalised.

    The weights are fresh; `tools/convert_mobilefacenet.py` fills them from the TF-Lite file.
    Convolutions (depthwise ones included) are named conv01..conv52 and PReLUs prelu01..prelu33
    in the file's order.
    """
    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = keras.layers.Rescaling(255.0 / PIXEL_SCALE, offset=-PIXEL_CENTRE / PIXEL_SCALE, name="mobilefacenet_input")(
        inputs
    )
    names = _Names()
    x = _conv(x, 64, names, kernel=3, stride=2, prelu=True)
    x = _depthwise(x, names)
    x = _conv(x, 64, names)
    for stage, (expansions, filters, blocks) in enumerate(STAGES, start=1):
        first, rest = expansions if isinstance(expansions, tuple) else (expansions, expansions)
        for block in range(blocks):
            x = _bottleneck(x, rest if block else first, filters, 1 if block else 2, names, f"{stage}_{block}")
    x = _conv(x, 512, names, prelu=True)
    x = keras.layers.DepthwiseConv2D(7, padding="valid", name=names.conv())(x)
    x = _conv(x, 512, names)
    x = _conv(x, EMBEDDING_DIM, names)
    x = keras.layers.Flatten(name="embedding")(x)
    return keras.Model(inputs, x, name=name)
