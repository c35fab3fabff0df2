"""Handwritten characters and digits: the Omniglot recipe the shipped `omniglot` model was trained with.

48x48 grey, ink inverted to bright on dark, affine distortions (Koch et al. 2015), and each
quarter turn of a character as a class of its own (a rotated character is a new character).
Cosine distance, contrastive loss (margin 0.6), the threshold with the best accuracy.
"""

from siamese.training.config import SamplingConfig, TrainConfig

NAME = "handwriting"
CONFIG = TrainConfig(recipe=NAME, sampling=SamplingConfig(rotated_classes=True))
