"""Training: batches, the pairwise trainer, callbacks, threshold calibration, `train`.

`TrainConfig` (with its groups), `RunFolder`, `ThresholdCalibrator` and `OpenSetCalibrator` need no Keras, so
importing this package is light;
`train`, `build_network` and `TrainResult` bring Keras (and its backend) on first use.
"""

from siamese.training.calibration import ThresholdCalibrator
from siamese.training.config import (
    LossConfig,
    RuntimeConfig,
    SamplingConfig,
    ScheduleConfig,
    TowerConfig,
    TrainConfig,
    ValidationConfig,
)
from siamese.training.open_set_calibration import OpenSetCalibrator, enrol_one_each
from siamese.training.run_folder import RunFolder

_KERAS_NAMES = ("TrainResult", "build_network", "train")


def __getattr__(name: str):
    if name in _KERAS_NAMES:
        from siamese.training import fit

        return getattr(fit, name)
    raise AttributeError(f"module 'siamese.training' has no attribute {name!r}")


__all__ = [
    "LossConfig",
    "OpenSetCalibrator",
    "RunFolder",
    "RuntimeConfig",
    "SamplingConfig",
    "ScheduleConfig",
    "ThresholdCalibrator",
    "TowerConfig",
    "TrainConfig",
    "TrainResult",
    "ValidationConfig",
    "build_network",
    "enrol_one_each",
    "train",
]
