"""A setting out of range is a `ConfigError` wherever it is checked: the CLI prints it as one
line and exits 2, while any other exception (a bug) keeps its traceback."""

import re

import pytest

from siamese.errors import ConfigError, SiameseError


def _registry_name():
    from siamese import registry

    registry.DISTANCES.check("hamming")


def _image_size():
    from siamese.data import Preprocessing

    Preprocessing(image_size=(4, 4))


def _channels():
    from siamese.data import Preprocessing

    Preprocessing(channels=2)


def _pair_count():
    from siamese.data import PairSampler

    PairSampler(1)


def _classes_per_batch():
    from siamese.data import ClassBatchSampler

    ClassBatchSampler(1)


def _distortion():
    from siamese.data.augmentation import Distortions

    Distortions(zoom=-0.1)


def _way():
    from siamese.evaluation import EpisodeSampler

    EpisodeSampler(1)


def _retrieval_size():
    from siamese.evaluation import RetrievalStep

    RetrievalStep(max_images=1)


def _target_far():
    from siamese.training.calibration import ThresholdCalibrator

    ThresholdCalibrator("far", target_far=2.0)


def _margin():
    from siamese.model.losses import ContrastiveLoss

    ContrastiveLoss(margin=-1.0)


def _dropout():
    from siamese.model.towers import build_tower

    build_tower((28, 28, 1), dropout=1.5)


CASES = {
    "a registry name": (_registry_name, "distance must be one of ['euclidean', "),
    "an image size": (_image_size, "image_size must be (height, width) of at least 8, got (4, 4)"),
    "a channel count": (_channels, "channels must be 1 or 3, got 2"),
    "a pair count": (_pair_count, "pair_count must be at least 2, got 1"),
    "classes per batch": (_classes_per_batch, "classes_per_batch must be at least 2, got 1"),
    "a distortion": (_distortion, "zoom must be zero or positive, got -0.1"),
    "an episode's way": (_way, "way must be at least 2, got 1"),
    "a retrieval size": (_retrieval_size, "max_images must be at least 2, got 1"),
    "a target false-accept rate": (_target_far, "target_far must be between 0 and 1, got 2.0"),
    "a loss's margin": (_margin, "margin must be positive, got -1.0"),
    "a tower's dropout": (_dropout, "dropout must be in [0, 1), got 1.5"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_setting_out_of_range_is_a_config_error(name):
    make, message = CASES[name]
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        make()
    assert isinstance(raised.value, SiameseError) and isinstance(raised.value, ValueError)
