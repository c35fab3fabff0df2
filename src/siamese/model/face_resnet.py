"""dlib's face recognition ResNet, layer for layer, as a Keras tower.

Davis King's network (`dlib_face_recognition_resnet_model_v1.dat`, public domain) maps a
150x150 RGB face chip to a 128-d descriptor; two faces are the same person when their
descriptors are close in Euclidean distance (about 0.6 in dlib's examples). Rebuilding it
in Keras lets the package use, export and fine-tune it like any tower; the weights come
from dlib's own file through the converter in `tools/convert_dlib_face_model.py`.

The layers follow `anet_type` in dlib's `examples/dnn_face_recognition_ex.cpp`, with dlib's
conventions kept where they differ from Keras's:

    150x150x3 in [0, 1] -> (255 x - mean RGB) / 256
    conv 7x7/2, 32 (no padding) -> affine -> relu -> max pool 3x3/2 (no padding)   35x35x32
    3 x residual(32)                                                                 35x35x32
    down(64)  + 3 x residual(64)                                                     17x17x64
    down(128) + 2 x residual(128)                                                    8x8x128
    down(256) + 2 x residual(256)                                                    4x4x256
    down(256)                                                                        2x2x256
    global average pool -> dense 128 without bias (not normalised)

A residual adds two 3x3 convolutions (each followed by an affine; a relu between) to its
input, then applies a relu. A down block's first convolution has stride 2 and no padding,
and its shortcut is a 2x2 average pool (stride 2, no padding) of the input; the two
branches can differ in size (8x8 gives a 3x3 convolution and a 4x4 pool), and are added as
dlib adds them, zero-padded to the larger (`PaddedAdd`). Stride-1 convolutions pad by half
the kernel ("same").
"""

from __future__ import annotations

import keras

from siamese.model.channel_affine import ChannelAffine
from siamese.model.padded_add import PaddedAdd
from siamese.registry import FACE_TOWERS

INPUT_SIZE = 150
EMBEDDING_DIM = 128
# dlib's input_rgb_image_sized<150>: (pixel - mean) / 256, pixels in [0, 255], per RGB channel.
PIXEL_MEAN = (122.782, 117.001, 104.298)
PIXEL_SCALE = 256.0
# (filters, starts with a down block, residual blocks after it) for each stage.
STAGES = ((32, False, 3), (64, True, 3), (128, True, 2), (256, True, 2), (256, True, 0))


class _Names:
    """Numbers the convolutions and affines in dlib's order, which is the order of its file."""

    def __init__(self):
        self.count = 0

    def next(self) -> tuple:
        self.count += 1
        return f"conv{self.count:02d}", f"affine{self.count:02d}"


def _conv_affine(x, filters: int, kernel: int, stride: int, names: _Names):
    conv, affine = names.next()
    padding = "same" if stride == 1 else "valid"  # dlib pads by kernel // 2 at stride 1, else not at all
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, name=conv)(x)
    return ChannelAffine(name=affine)(x)


def _block(x, filters: int, stride: int, names: _Names):
    x = _conv_affine(x, filters, 3, stride, names)
    x = keras.layers.ReLU(name=f"relu{names.count:02d}")(x)
    return _conv_affine(x, filters, 3, 1, names)


def _residual(x, filters: int, names: _Names, index: str):
    x = keras.layers.Add(name=f"add{index}")([x, _block(x, filters, 1, names)])
    return keras.layers.ReLU(name=f"out{index}")(x)


def _down(x, filters: int, names: _Names, index: str):
    shortcut = keras.layers.AveragePooling2D(2, strides=2, padding="valid", name=f"pool{index}")(x)
    x = PaddedAdd(name=f"add{index}")([shortcut, _block(x, filters, 2, names)])
    return keras.layers.ReLU(name=f"out{index}")(x)


def build_face_resnet(*, name: str = "tower") -> keras.Model:
    """A functional `keras.Model`: (batch, 150, 150, 3) RGB in [0, 1] -> (batch, 128) descriptors.

    The weights are fresh; `tools/convert_dlib_face_model.py` fills them from dlib's file.
    Layers are named conv01..conv29 and affine01..affine29 in dlib's order, then "embedding".
    """
    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = keras.layers.Rescaling(255.0 / PIXEL_SCALE, offset=[-m / PIXEL_SCALE for m in PIXEL_MEAN], name="dlib_input")(
        inputs
    )
    names = _Names()
    x = _conv_affine(x, 32, 7, 2, names)
    x = keras.layers.ReLU(name="relu_stem")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="valid", name="pool_stem")(x)
    for stage, (filters, down, residuals) in enumerate(STAGES, start=1):
        if down:
            x = _down(x, filters, names, f"{stage}_0")
        for block in range(1, residuals + 1):
            x = _residual(x, filters, names, f"{stage}_{block}")
    x = keras.layers.GlobalAveragePooling2D(name="average")(x)
    x = keras.layers.Dense(EMBEDDING_DIM, use_bias=False, name="embedding")(x)
    return keras.Model(inputs, x, name=name)


def build_face_tower(tower: str = "dlib_resnet", *, name: str = "tower") -> keras.Model:
    """The face-trained tower named `tower` (one of `siamese.registry.FACE_TOWERS`), weights fresh."""
    FACE_TOWERS.check(tower)
    return build_face_resnet(name=name)
