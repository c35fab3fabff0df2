"""Signatures: cropped to the ink, binarised, strokes at one width, wide input with the aspect kept.

A signature's place on the page, the pen and the paper's shade say nothing about who
wrote it: crop to the strokes, set ink black and paper white at Otsu's threshold
(binarise) and redraw the strokes along their skeleton at one width, then pad (never
stretch) to a 144x224 input, since signatures are wide (SigNet reads 155x220). In the sets
with skilled forgeries the pen gives forgeries away (the strokes' grey alone tells them
from genuine signatures at ROC AUC 0.81-0.95): a network that reads it learns the forgers'
pens, not the hand, and that does not carry to another scanner. Binarising makes a dark
and a light pen the same input; the one width does the same for a broad and a fine pen,
and chose the recipe by cross-validation over the three forged sets' writers (EER of one
reference against skilled forgeries 0.221 against 0.227 with the strokes kept,
docs/benchmarks.md). Distortions are mild: a signer varies slant and size a little, and
more would make a forgery look genuine. Skilled forgeries, where the data has them
(`<signer>/forged/`), are hard negatives in every batch (filled to one count per batch, so
the step keeps one shape), and the multi-similarity loss weighs the hardest pairs most
(validation AUC 0.849 against 0.807 with the contrastive loss). The threshold is set at the
equal error rate of the validation signers; for a stated rate of forgeries accepted,
`siamese calibrate --objective far` on signers with forgeries sets it (the shipped model:
10% on its validation writers).
"""

from siamese.data.augmentation import Distortions
from siamese.data.images import Preprocessing
from siamese.training.config import LossConfig, ScheduleConfig, TowerConfig, TrainConfig, ValidationConfig

NAME = "signatures"
CONFIG = TrainConfig(
    recipe=NAME,
    preprocessing=Preprocessing(
        image_size=(144, 224), invert=True, crop="ink", contrast="binarize", strokes="even", keep_aspect=True
    ),
    distortions=Distortions(rotation=4.0, shear=0.1, zoom=0.05, shift=0.04),
    tower=TowerConfig(filters=(32, 64, 96, 128)),
    loss=LossConfig(loss="multi_similarity"),
    schedule=ScheduleConfig(epochs=15, steps_per_epoch=80),
    validation=ValidationConfig(threshold_objective="eer"),
)
