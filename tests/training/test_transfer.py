"""Fine-tuning a trained model's tower: its weights come along, only its last layers move, and
its images are read as it read them."""

import keras
import numpy as np
import pytest

from siamese.errors import ConfigError
from siamese.model import SiameseNetwork, build_tower, load_network, save_network
from siamese.training import TrainConfig, train
from siamese.training.transfer import start_tower, weighted_layers

SOURCE_PREPROCESSING = {"image_size": [24, 24], "channels": 1, "invert": True}


@pytest.fixture(scope="module")
def source_model(tmp_path_factory):
    """A small trained-looking model: 24x24 grey, inverted, three convolution blocks and a dense layer."""
    keras.utils.set_random_seed(3)
    tower = build_tower((24, 24, 1), filters=(8, 8, 8), embedding_dim=16, batchnorm=False)
    network = SiameseNetwork(tower, "cosine", preprocessing=SOURCE_PREPROCESSING, threshold=0.4)
    return save_network(network, tmp_path_factory.mktemp("source") / "source.keras")


def _settings(source, **changes) -> TrainConfig:
    settings = dict(
        start_from=str(source),
        trainable_layers=1,
        epochs=1,
        steps_per_epoch=3,
        classes_per_batch=4,
        examples_per_class=2,
        validation_pairs=40,
        augment=False,
        learning_rate=1e-2,
    )
    return TrainConfig.from_settings(**{**settings, **changes})


def test_only_the_last_layers_move_and_the_model_reads_images_as_its_source(shapes_dir, source_model, tmp_path):
    result = train(shapes_dir, model_path=tmp_path / "tuned.keras", config=_settings(source_model), verbose=0)
    before = weighted_layers(load_network(source_model).tower)
    after = weighted_layers(load_network(result.model_path).tower)
    assert [layer.name for layer in before] == [layer.name for layer in after]
    for old, new in zip(before[:-1], after[:-1]):  # frozen: the source's weights, to the bit
        assert all(np.array_equal(a, b) for a, b in zip(old.get_weights(), new.get_weights())), old.name
    assert not np.allclose(before[-1].get_weights()[0], after[-1].get_weights()[0])  # the dense layer learned
    tuned = load_network(result.model_path)
    assert tuned.preprocessing["image_size"] == [24, 24] and tuned.preprocessing["invert"] is True


def test_trainable_layers_counts_from_the_output(source_model):
    tower = start_tower(str(source_model), 3)
    layers = weighted_layers(tower)
    assert [layer.trainable for layer in layers] == [False] * (len(layers) - 3) + [True] * 3
    assert all(layer.trainable for layer in weighted_layers(start_tower(str(source_model), None)))


def test_the_shipped_face_model_starts_the_faces_recipe():
    from siamese.recipes import recipe_config

    settings = recipe_config("faces").tower
    tower = start_tower(settings.start_from, settings.trainable_layers)
    trained = [layer.name for layer in weighted_layers(tower) if layer.trainable]
    assert trained == ["conv28", "affine28", "conv29", "affine29", "embedding"]  # the last block and the dense layer


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"image_size": (32, 32)}, "reads images as"),
        ({"trainable_layers": 99}, "has 4 layers with weights"),
    ],
    ids=["other preprocessing", "more layers than the tower has"],
)
def test_a_run_that_cannot_start_from_the_model_is_refused(shapes_dir, source_model, tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        train(shapes_dir, model_path=tmp_path / "m.keras", config=_settings(source_model, **changes), verbose=0)
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"trainable_layers": 2}, "goes with start_from"),
        ({"start_from": "faces", "trainable_layers": 0}, "1 or more"),
        ({"start_from": "faces", "backbone": "mobilenetv3small"}, "a tower starts from one"),
    ],
    ids=["trainable layers alone", "no trainable layer", "backbone and model"],
)
def test_bad_transfer_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_settings(**settings)
