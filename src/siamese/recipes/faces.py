"""Faces: fine-tune the shipped face-trained tower (dlib's ResNet) on your own people.

No training on a few hundred photos makes up for the millions of faces dlib's network has
seen, so the recipe starts from it (`start_from="faces"`): the photos are read as that
model reads them (the largest face, aligned by its 5 landmarks to dlib's 150x150 chip; a
training photo with no face found is taken whole as the face, with a warning), and only its last layers
with weights move (`trainable_layers`: the 128-d dense layer and the last block's two
convolutions and two affines), at a small learning rate, with the Euclidean distance the
model was trained with. Training mirrors faces and changes brightness and contrast; an
aligned chip needs no other distortion. The threshold is set for best accuracy on
validation people, as the shipped model's is. Whether fine-tuning helps depends on how
far your people's photos are from news photos: `benchmarks/faces.py` and the card in
`models/README.md` say when it helped and when it hurt here.
"""

from siamese.data.augmentation import Distortions
from siamese.training.config import (
    LossConfig,
    SamplingConfig,
    ScheduleConfig,
    TowerConfig,
    TrainConfig,
    ValidationConfig,
)

NAME = "faces"
CONFIG = TrainConfig(
    recipe=NAME,
    distortions=Distortions(rotation=0.0, shear=0.0, zoom=0.0, shift=0.0, flip=1.0, brightness=0.15, contrast=0.15),
    tower=TowerConfig(start_from="faces", trainable_layers=5),
    loss=LossConfig(distance="euclidean", margin=0.8),
    sampling=SamplingConfig(classes_per_batch=8, examples_per_class=4),
    schedule=ScheduleConfig(epochs=6, steps_per_epoch=30, learning_rate=1e-4),
    validation=ValidationConfig(threshold_objective="accuracy"),
)
