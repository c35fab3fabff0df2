"""Towers from Keras Applications: grey or colour in, unit embeddings out; weights from a local file, never the network."""

import numpy as np
import pytest

from siamese.errors import ModelFileError
from siamese.model.backbones import build_backbone_tower


def test_a_grey_image_goes_through_a_colour_backbone_to_a_unit_embedding():
    tower = build_backbone_tower((32, 32, 1), "mobilenetv3small", weights="none", embedding_dim=16)
    embeddings = np.asarray(tower(np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 1)).astype("float32")))
    assert embeddings.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_backbone_weights_load_from_a_local_file(tmp_path):
    import keras

    base = keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), include_top=False, weights=None, pooling="avg")
    base.get_layer(index=3).set_weights([w + 0.5 for w in base.get_layer(index=3).get_weights()])
    path = tmp_path / "backbone.weights.h5"
    base.save_weights(path)
    tower = build_backbone_tower((32, 32, 3), "mobilenetv3small", weights=str(path), embedding_dim=8)
    loaded = tower.get_layer(base.name)
    for mine, theirs in zip(loaded.get_weights(), base.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_a_missing_or_wrong_weights_file_is_a_typed_error(tmp_path):
    with pytest.raises(ModelFileError, match="no such backbone weights file"):
        build_backbone_tower((32, 32, 3), "mobilenetv3small", weights=str(tmp_path / "none.h5"))
    wrong = tmp_path / "wrong.weights.h5"
    wrong.write_bytes(b"not hdf5")
    with pytest.raises(ModelFileError, match="not weights for mobilenetv3small"):
        build_backbone_tower((32, 32, 3), "mobilenetv3small", weights=str(wrong))


def test_small_inputs_and_unknown_backbones_are_refused():
    with pytest.raises(ValueError, match="32x32 or more"):
        build_backbone_tower((16, 16, 1), "mobilenetv3small", weights="none")
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_backbone_tower((32, 32, 1), "resnet9000", weights="none")


def test_a_network_with_a_backbone_saves_and_reloads(tmp_path):
    from siamese.data import Preprocessing
    from siamese.model.saving import load_network, save_network
    from siamese.training import TrainConfig, build_network

    config = TrainConfig.from_settings(
        backbone="mobilenetv3small", backbone_weights="none", embedding_dim=8, image_size=(32, 32)
    )
    network = build_network(config, Preprocessing(image_size=(32, 32)))
    path = tmp_path / "backbone.keras"
    save_network(network, path)
    images = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 1)).astype("float32")
    again = load_network(path)
    np.testing.assert_allclose(np.asarray(again.tower(images)), np.asarray(network.tower(images)), atol=1e-5)
