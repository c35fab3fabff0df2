"""MiniFASNet's Keras layers without Minivision's weights: the shapes through the network, the
pair's softmax rows, and a save and load under safe_mode that gives the same numbers."""

import keras
import numpy as np
import pytest

from siamese.model.minifasnet import Block, build_liveness, build_minifasnet

BLOCKS = (
    Block("conv_23", 16, 8, stride=2, residual=False),
    Block("conv_3_model_0", 4, 8, excite=4),
    Block("conv_34", 16, 12, stride=2, residual=False),
    Block("conv_45", 16, 12, stride=2, residual=False),
)


def _pair():
    keras.utils.set_random_seed(0)
    near = build_minifasnet(BLOCKS, head=32, embedding=8, name="near")
    far = build_minifasnet(BLOCKS[:1] + BLOCKS[2:], head=32, embedding=8, name="far")
    return near, build_liveness(near, far)


def test_a_network_takes_80x80_crops_to_3_logits_through_a_5x5_head():
    near, _ = _pair()
    assert near.output.shape == (None, 3)
    assert near.get_layer("conv_6_dw_conv").kernel_size == (5, 5)  # 80 -> 40 -> 20 -> 10 -> 5
    assert near.get_layer("conv_3_model_0_se_module_fc1").filters == 4


def test_the_pair_gives_one_softmax_row_per_network_and_reloads_under_safe_mode(tmp_path):
    _, pair = _pair()
    crops = [np.random.default_rng(i).uniform(0, 255, (2, 80, 80, 3)).astype(np.float32) for i in range(2)]
    before = np.asarray(pair(crops))
    assert before.shape == (2, 2, 3) and np.allclose(before.sum(axis=-1), 1.0, atol=1e-5)
    pair.save(tmp_path / "pair.keras")
    loaded = keras.saving.load_model(tmp_path / "pair.keras", safe_mode=True)
    assert np.max(np.abs(np.asarray(loaded(crops)) - before)) < 1e-6


def test_a_network_without_blocks_is_refused():
    with pytest.raises(ValueError, match="at least one block"):
        build_minifasnet([])
