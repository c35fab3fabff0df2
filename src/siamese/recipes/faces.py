"""Faces: found by a detector, aligned to dlib's face chip, light evened, mirrored in training.

A photo holds a face somewhere in a room; dlib's detector finds it and its 5 landmarks align
it to the chip dlib's face models are trained on (`siamese.data.faces`); a training photo in
which no face is found is used whole, with a warning. Local histogram equalisation evens out side light, the largest change
between two photos of one person in the Yale sets. Training mirrors faces left-right and
changes brightness and contrast; shapes are distorted only a little. 64x64 grey (colour
with `--channels 3`). The threshold is set for a 1% false-accept rate on validation people.
"""

from siamese.data.augmentation import Distortions
from siamese.data.images import Preprocessing
from siamese.training.config import LossConfig, ScheduleConfig, TrainConfig, ValidationConfig

NAME = "faces"
CONFIG = TrainConfig(
    recipe=NAME,
    preprocessing=Preprocessing(image_size=(64, 64), invert=False, crop="face", contrast="equalize", keep_aspect=True),
    distortions=Distortions(rotation=5.0, shear=0.05, zoom=0.08, shift=0.06, flip=1.0, brightness=0.2, contrast=0.2),
    loss=LossConfig(margin=0.5),
    schedule=ScheduleConfig(epochs=15, steps_per_epoch=80),
    validation=ValidationConfig(threshold_objective="far", target_far=0.01),
)
