"""dlib's face ResNet in Keras: its two own layers against plain loops, its shapes, its saved form."""

import keras
import numpy as np
import pytest

from siamese.model import ChannelAffine, PaddedAdd, build_face_resnet, build_face_tower


def test_padded_add_adds_as_dlib_does_treating_what_is_missing_as_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 4, 4, 3)).astype("float32")  # the pool branch: larger, fewer channels
    b = rng.normal(size=(2, 3, 3, 5)).astype("float32")  # the stride-2 convolution branch
    got = np.asarray(PaddedAdd()([a, b]))
    expected = np.zeros((2, 4, 4, 5), np.float32)
    for n, r, c, k in np.ndindex(expected.shape):
        left = a[n, r, c, k] if k < 3 else 0.0
        right = b[n, r, c, k] if r < 3 and c < 3 else 0.0
        expected[n, r, c, k] = left + right
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert PaddedAdd().compute_output_shape([(None, 4, 4, 3), (None, 3, 3, 5)]) == (None, 4, 4, 5)


def test_padded_add_of_equal_shapes_is_a_plain_sum_and_unknown_sizes_are_refused():
    a = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(np.asarray(PaddedAdd()([a, 2 * a])), 3 * a)
    with pytest.raises(ValueError, match="PaddedAdd needs known sizes"):
        PaddedAdd()([keras.Input((None, 3, 4)), keras.Input((2, 3, 4))])


def test_channel_affine_scales_and_shifts_each_channel():
    layer = ChannelAffine()
    x = np.random.default_rng(1).normal(size=(2, 3, 3, 4)).astype("float32")
    layer.build(x.shape)
    gamma, beta = np.array([1.0, -2.0, 0.5, 3.0], "float32"), np.array([0.0, 1.0, -1.0, 2.0], "float32")
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(np.asarray(layer(x)), x * gamma + beta, atol=1e-6)


@pytest.fixture(scope="module")
def tower():
    keras.utils.set_random_seed(0)
    return build_face_resnet()


def test_the_tower_has_dlibs_shapes(tower):
    assert tower.input.shape == (None, 150, 150, 3) and tower.output.shape == (None, 128)
    assert len([layer for layer in tower.layers if isinstance(layer, keras.layers.Conv2D)]) == 29
    assert tower.get_layer("pool_stem").output.shape == (None, 35, 35, 32)
    # The 8x8 -> 4x4 down block: a 3x3 convolution added to a 4x4 pool, zero-padded.
    shortcut, block = (tensor.shape for tensor in tower.get_layer("add4_0").input)
    assert shortcut == (None, 4, 4, 128) and block == (None, 3, 3, 256)
    assert tower.get_layer("add5_0").output.shape == (None, 2, 2, 256)
    assert tower.count_params() == 5_614_592


def test_the_tower_survives_a_safe_mode_save_and_load(tower, tmp_path):
    images = np.random.default_rng(2).uniform(0, 1, (2, 150, 150, 3)).astype("float32")
    tower.save(tmp_path / "tower.keras")
    loaded = keras.saving.load_model(tmp_path / "tower.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(tower(images)), atol=1e-5)


def test_face_towers_are_built_by_their_registered_name():
    with pytest.raises(ValueError, match=r"face tower must be one of \['dlib_resnet'\], got 'facenet'"):
        build_face_tower("facenet")
