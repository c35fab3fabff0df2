"""Training: batches, the pairwise trainer, callbacks, threshold calibration, `train`."""

from siamese.training.calibration import ThresholdCalibrator
from siamese.training.fit import TrainConfig, TrainResult, build_network, train

__all__ = ["ThresholdCalibrator", "TrainConfig", "TrainResult", "build_network", "train"]
