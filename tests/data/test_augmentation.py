"""Training distortions in the input pipeline: seeded, bounded, really distorting, and in the batches."""

import numpy as np
import pytest

from siamese.data import ClassBatchSampler, Preprocessing, load_dataset
from siamese.data.augmentation import Distortions, random_affine
from siamese.training.batches import ClassBatches


def _bar_images(count=8, size=24):
    """Vertical bars of ink (1) on an empty background (0), off the centre."""
    images = np.zeros((count, size, size, 1), np.float32)
    images[:, 4:20, 6:9, 0] = 1.0
    return images


def test_the_same_generator_state_gives_the_same_distortions_and_another_gives_others():
    images = _bar_images()
    first = Distortions()(images, np.random.default_rng(3))
    assert np.array_equal(first, Distortions()(images, np.random.default_rng(3)))
    assert not np.array_equal(first, Distortions()(images, np.random.default_rng(4)))
    assert first.shape == images.shape and first.dtype == np.float32
    assert not np.shares_memory(first, images) and images[:, 4:20, 6:9].min() == 1.0  # the input is left alone


def test_each_image_gets_its_own_distortion_and_the_ink_stays_on_the_page():
    images = _bar_images()
    out = Distortions(rotation=10, shear=0.15, zoom=0.1, shift=0.1)(images, np.random.default_rng(0))
    assert len({out[i].tobytes() for i in range(len(out))}) == len(out)
    assert np.all(np.abs(out.sum(axis=(1, 2, 3)) / images[0].sum() - 1.0) < 0.35)  # zoom of +/-10% and resampling only
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_no_distortion_is_the_identity():
    images = _bar_images()
    out = Distortions(rotation=0, shear=0, zoom=0, shift=0)(images, np.random.default_rng(0))
    np.testing.assert_allclose(out, images, atol=1e-6)


def test_flip_mirrors_about_half_the_images_left_right():
    images = _bar_images(count=200)
    out = Distortions(rotation=0, shear=0, zoom=0, shift=0, flip=1.0)(images, np.random.default_rng(0))
    mirrored = np.array([np.allclose(o, i[:, ::-1], atol=1e-6) for o, i in zip(out, images)])
    unchanged = np.array([np.allclose(o, i, atol=1e-6) for o, i in zip(out, images)])
    assert np.all(mirrored | unchanged) and 70 < mirrored.sum() < 130


def test_light_changes_stay_in_range_and_vary():
    images = np.full((50, 8, 8, 1), 0.5, np.float32)
    images[:, :4] = 0.2
    out = Distortions(rotation=0, shear=0, zoom=0, shift=0, brightness=0.2, contrast=0.3)(
        images, np.random.default_rng(0)
    )
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.ptp(out.mean(axis=(1, 2, 3))) > 0.1  # brightness moved
    spreads = out[:, 5, 0, 0] - out[:, 0, 0, 0]
    assert spreads.min() < 0.3 * 0.9 and spreads.max() > 0.3 * 1.1  # contrast scaled both ways


def test_the_matrix_is_centred_and_bounded():
    matrix = random_affine(np.random.default_rng(0), 24, 24, rotation=0, shear=0, zoom=0, shift=0, flip=True)
    np.testing.assert_allclose(matrix @ [0.0, 12.0, 1.0], [23.0, 12.0])  # the first column becomes the last


def test_negative_strengths_are_refused():
    with pytest.raises(ValueError, match="rotation must be zero or positive"):
        Distortions(rotation=-1)


def test_training_batches_are_distorted_from_their_own_seeded_draw(shapes_dir):
    dataset = load_dataset(shapes_dir)
    images = dataset.load(Preprocessing(image_size=(16, 16), invert=True))
    sampler = ClassBatchSampler(3, 2)

    def batches(**kwargs):
        return ClassBatches(images, dataset, sampler, steps=2, seed=1, **kwargs)

    plain, distorted = batches()[0], batches(augmentation=Distortions())[0]
    assert np.array_equal(plain[1], distorted[1])  # the same draw of images and labels
    assert not np.array_equal(plain[0], distorted[0])
    assert np.array_equal(distorted[0], batches(augmentation=Distortions())[0][0])  # (seed, epoch, step) fixes it
