"""The training config: groups checked when made, flat settings put in their groups, and the
`config.json` of runs saved before the groups (flat) read as the same config."""

import dataclasses
import json
from pathlib import Path

import pytest

from siamese.data import Preprocessing
from siamese.data.augmentation import Distortions
from siamese.errors import ConfigError
from siamese.training import (
    LossConfig,
    RuntimeConfig,
    SamplingConfig,
    ScheduleConfig,
    TowerConfig,
    TrainConfig,
    ValidationConfig,
)
from siamese.training.config import SETTINGS

FLAT = json.loads((Path(__file__).parent / "saved" / "flat-config.json").read_text())


def test_the_defaults_are_those_of_each_group():
    config = TrainConfig()
    assert config.preprocessing == Preprocessing(image_size=(48, 48), invert=None)
    assert config.distortions == Distortions() and config.tower == TowerConfig()
    assert config.schedule.epochs == 20 and config.loss.pair_loss == "contrastive" and config.seed == 0


def test_flat_settings_go_to_their_groups():
    config = TrainConfig.from_settings(epochs=3, crop="ink", embedding_dim=16, stream=True, seed=4, contrast="stretch")
    assert config.schedule == ScheduleConfig(epochs=3)
    assert config.preprocessing == Preprocessing(image_size=(48, 48), invert=None, crop="ink", contrast="stretch")
    assert config.tower == TowerConfig(embedding_dim=16) and config.runtime == RuntimeConfig(stream=True)
    assert config.seed == 4 and config.distortions == Distortions()  # `contrast` is the preprocessing's


def test_augment_and_augmentation_set_the_distortions():
    assert TrainConfig.from_settings(augment=False).distortions is None
    assert TrainConfig.from_settings(augmentation={"flip": 1.0}).distortions == Distortions(flip=1.0)
    assert TrainConfig.from_settings(augment=False, augmentation={"flip": 1.0}).distortions is None
    mild = TrainConfig.from_settings(augmentation={"rotation": 2.0})
    assert mild.with_settings(augment=True).distortions == Distortions(rotation=2.0)  # kept
    assert mild.with_settings(epochs=2).distortions == Distortions(rotation=2.0)


def test_with_settings_keeps_what_it_is_not_given():
    base = TrainConfig.from_settings(epochs=3, margin=0.3, image_size=(32, 64))
    changed = base.with_settings(steps_per_epoch=7, channels=3)
    assert changed.schedule == ScheduleConfig(epochs=3, steps_per_epoch=7)
    assert changed.preprocessing.image_size == (32, 64) and changed.preprocessing.channels == 3
    assert changed.loss.margin == 0.3 and base.schedule.steps_per_epoch == 100  # the base is unchanged


def test_every_setting_round_trips_through_its_flat_and_grouped_forms():
    config = TrainConfig(
        preprocessing=Preprocessing(image_size=(40, 60), channels=3, invert=True, crop="ink", keep_aspect=True),
        distortions=Distortions(rotation=3.0, flip=1.0),
        tower=TowerConfig(filters=(8, 16), embedding_dim=24, pool_first=False, dropout=0.1),
        loss=LossConfig(distance="euclidean", margin=0.9, proxy_weight=0.5),
        sampling=SamplingConfig(classes_per_batch=5, rotated_classes=True),
        validation=ValidationConfig(split_by_group=False, threshold_objective="far", target_far=0.001),
        schedule=ScheduleConfig(epochs=2, patience=1),
        runtime=RuntimeConfig(jit_compile=True),
        seed=7,
        recipe="signatures",
    )
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert TrainConfig.from_settings(**config.to_settings()) == config
    assert set(config.to_settings()) == set(SETTINGS)


def test_a_flat_config_json_saved_before_the_groups_reads_as_its_settings():
    """The fixture is the config.json of a real run of the code before the groups (see saved/README.md)."""
    config = TrainConfig.from_dict(FLAT)
    assert config.preprocessing == Preprocessing(
        image_size=(24, 48), invert=True, crop="ink", contrast="stretch", keep_aspect=True
    )
    assert config.distortions == Distortions(rotation=4.0, shear=0.1, zoom=0.05, shift=0.04)
    assert config.tower == TowerConfig(filters=(8,), embedding_dim=8)
    assert config.loss == LossConfig(loss="multi_similarity")
    assert config.sampling == SamplingConfig(classes_per_batch=4, examples_per_class=2)
    assert config.validation == ValidationConfig(threshold_objective="eer")
    assert config.schedule == ScheduleConfig(epochs=1, steps_per_epoch=2)
    assert (config.runtime, config.seed, config.recipe) == (RuntimeConfig(), 0, "signatures")


def test_a_flat_config_without_pool_first_has_the_classic_blocks_it_was_trained_with():
    older = {key: value for key, value in FLAT.items() if key != "pool_first"}
    assert TrainConfig.from_dict(older).tower.pool_first is False
    assert TrainConfig.from_dict(FLAT).tower.pool_first is True


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"epochs": 0}, "epochs must be at least 1, got 0"),
        ({"steps_per_epoch": 0}, "steps_per_epoch must be at least 1"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
        ({"patience": -1}, "patience must be zero or positive"),
        ({"embedding_dim": 0}, "embedding_dim must be at least 1"),
        ({"filters": ()}, "filters must be one or more counts"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"l2": -0.1}, "l2 must be zero or positive"),
        ({"backbone": "resnet"}, "backbone must be one of"),
        ({"margin": 0.0}, "margin must be positive"),
        ({"distance": "cosin"}, "distance must be one of"),
        ({"classes_per_batch": 1}, "classes_per_batch must be at least 2"),
        ({"examples_per_class": 1}, "examples_per_class must be at least 2"),
        ({"same_group_fraction": 1.5}, r"same_group_fraction must be in \[0, 1\]"),
        ({"validation_fraction": 1.0}, "validation_fraction must be between 0 and 1"),
        ({"validation_pairs": 1}, "validation_pairs must be at least 2"),
        ({"threshold_objective": "auc"}, "objective must be one of"),
        ({"target_far": 0.0}, "target_far must be between 0 and 1"),
        ({"image_size": (4, 4)}, "image_size must be"),
        ({"channels": 2}, "channels must be 1 or 3"),
        ({"crop": "hat"}, "crop must be one of"),
        ({"augmentation": {"sparkle": 1.0}}, "augmentation must be one of"),
        ({"augmentation": {"rotation": -1.0}}, "rotation must be zero or positive"),
        ({"augmentation": {"rotation": "lots"}}, "rotation must be zero or positive"),
        ({"epoch": 3}, "unknown training setting"),
    ],
)
def test_a_setting_out_of_range_is_a_config_error_naming_it(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_settings(**settings)


def test_a_group_of_the_wrong_kind_is_refused():
    with pytest.raises(ConfigError, match="schedule must be a ScheduleConfig"):
        TrainConfig(schedule={"epochs": 3})
    with pytest.raises(ConfigError, match="distortions must be a Distortions"):
        TrainConfig(distortions={"flip": 1.0})


def test_groups_are_frozen_and_keyword_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().schedule.epochs = 3
    with pytest.raises(TypeError):
        ScheduleConfig(3)
