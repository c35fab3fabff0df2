"""Distorted copies for test-time augmentation: seeded, same shape, really distorted."""

import numpy as np
import pytest

from siamese.data import affine_variants, read_image


def test_variants_are_seeded_distorted_copies(shapes_dir):
    image = read_image(shapes_dir / "polygons" / "square" / "00.png")
    variants = affine_variants(image, 3, seed=1)
    assert len(variants) == 3
    assert all(v.shape == image.shape and v.dtype == np.uint8 for v in variants)
    assert all(not np.array_equal(v, image) for v in variants)
    assert all(np.array_equal(a, b) for a, b in zip(variants, affine_variants(image, 3, seed=1)))
    assert not np.array_equal(variants[0], affine_variants(image, 1, seed=2)[0])
    # Small distortions: the drawing stays where it was, roughly.
    ink = (image[:, :, 0] < 128).astype(float)
    for v in variants:
        moved = (v[:, :, 0] < 128).astype(float)
        assert np.abs(ink.sum() - moved.sum()) / ink.sum() < 0.5


def test_border_repeats_the_paper():
    page = np.full((20, 20), 255, np.uint8)
    page[8:12, 8:12] = 0
    for v in affine_variants(page, 4, seed=0, rotation=30):
        assert v[0, 0] == 255 and v[-1, -1] == 255


def test_no_variants_and_bad_counts():
    image = np.zeros((10, 10, 1), np.uint8)
    assert affine_variants(image, 0) == []
    with pytest.raises(ValueError, match="count must be zero or positive, got -1"):
        affine_variants(image, -1)
