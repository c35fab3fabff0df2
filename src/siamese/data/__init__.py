"""Reading images, datasets and pairs (no Keras import here: inference can stay light)."""

from siamese.data.datasets import ImageDataset, load_dataset, split_by_class
from siamese.data.images import Preprocessing, decode_image, iter_image_batches, load_images, preprocess, read_image
from siamese.data.pairs import ClassBatchSampler, PairIndices, PairSampler
from siamese.data.pairs_file import PairList, classes_from_pairs, read_pairs_file
from siamese.data.rotations import add_rotated_classes
from siamese.data.variants import affine_variants

__all__ = [
    "add_rotated_classes",
    "affine_variants",
    "classes_from_pairs",
    "ClassBatchSampler",
    "ImageDataset",
    "PairIndices",
    "PairList",
    "PairSampler",
    "Preprocessing",
    "decode_image",
    "load_dataset",
    "iter_image_batches",
    "load_images",
    "preprocess",
    "read_image",
    "read_pairs_file",
    "split_by_class",
]
