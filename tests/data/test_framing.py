"""Framing before resizing: ink crops, contrast, padding to the aspect; saved with the model (face crops: test_faces.py)."""

import cv2
import numpy as np
import pytest

from siamese.data import Preprocessing, framing, preprocess


def _signature(height=120, width=300, ink=40, paper=200, box=(20, 60, 100, 220)):
    """A grey page with a dark scribble inside `box` (top, left, bottom, right)."""
    image = np.full((height, width, 1), paper, np.uint8)
    top, left, bottom, right = box
    cv2.line(image, (left, top), (right - 1, bottom - 1), ink, 3)
    cv2.line(image, (left, bottom - 1), (right - 1, top), ink, 3)
    return image


def test_crop_to_ink_finds_the_strokes_with_a_small_margin():
    cropped = framing.crop_to_ink(_signature())
    assert 80 < cropped.shape[0] <= 100 and 160 < cropped.shape[1] <= 190  # 80 x 160 of ink and a 4% margin


def test_crop_to_ink_ignores_specks_and_keeps_blank_pages_whole():
    image = _signature()
    image[2, 2] = image[117, 297] = 0  # dust in two corners
    assert framing.crop_to_ink(image).shape[1] < 250
    blank = np.full((50, 80, 1), 255, np.uint8)
    assert framing.crop_to_ink(blank).shape == blank.shape


def test_crop_to_ink_works_for_light_ink_on_a_dark_page():
    image = 255 - _signature()
    assert framing.crop_to_ink(image).shape[1] < 250


def test_even_strokes_redraw_thick_and_thin_pens_at_one_width():
    def stroke_width(image):
        mask = framing.ink_mask(image)
        return mask.sum() / max(1, framing.skeleton(mask).sum())  # ink area per unit of length

    thin, thick = _signature(), _signature()
    cv2.line(thick, (60, 20), (219, 99), 40, 11)
    cv2.line(thick, (60, 99), (219, 20), 40, 11)
    assert stroke_width(thick) > 2 * stroke_width(thin)
    evened = [framing.even_strokes(image) for image in (thin, thick)]
    assert abs(stroke_width(evened[0]) - stroke_width(evened[1])) < 0.35 * stroke_width(evened[0])
    assert evened[1].min() == 40 and np.median(evened[1]) == 200  # ink and paper keep their shades


def test_skeleton_of_a_bar_is_a_line_and_a_blank_page_stays_blank():
    bar = np.zeros((30, 60), bool)
    bar[10:19, 5:55] = True
    lines = framing.skeleton(bar)
    assert lines.sum() < bar.sum() / 5 and lines[14, 10:50].all()
    blank = np.full((20, 20, 1), 255, np.uint8)
    assert np.array_equal(framing.even_strokes(blank), blank)


def test_stretch_contrast_maps_faint_ink_to_black_and_grey_paper_to_white():
    stretched = framing.stretch_contrast(_signature(ink=120, paper=170))
    assert stretched.min() == 0 and np.median(stretched) == 255


def test_binarize_gives_black_ink_on_white_paper_whatever_the_pen_and_page():
    faint, light_ink_on_dark = _signature(ink=150, paper=200), 255 - _signature(ink=40, paper=200)
    expected = np.where(_signature() == 40, 0, 255)
    for image in (faint, light_ink_on_dark, np.repeat(faint, 3, axis=2)):
        out = framing.binarize(image)
        assert out.shape == image.shape and np.array_equal(out[:, :, :1], expected)


def test_equalize_spreads_a_dim_face_and_keeps_shape():
    rng = np.random.default_rng(0)
    dim = rng.integers(20, 60, (64, 48, 1), dtype=np.uint8)
    out = framing.equalize(dim)
    assert out.shape == dim.shape and int(out.max()) - int(out.min()) > 60
    colour = np.repeat(dim, 3, axis=2)
    assert framing.equalize(colour).shape == colour.shape


@pytest.mark.parametrize(
    "shape, target", [((40, 160, 1), (64, 128)), ((160, 40, 3), (64, 128)), ((50, 50, 1), (64, 64))]
)
def test_pad_to_aspect_pads_and_never_stretches(shape, target):
    image = np.full(shape, 255, np.uint8)
    image[shape[0] // 2, :] = 0  # a line across, to find the original inside the padding
    padded = framing.pad_to_aspect(image, *target)
    assert abs(padded.shape[1] / padded.shape[0] - target[1] / target[0]) < 0.05
    assert padded.shape[0] >= shape[0] and padded.shape[1] >= shape[1]
    assert np.all(padded[0] == 255)  # filled with the border's colour, not black


def test_a_wide_signature_keeps_its_aspect_through_preprocess():
    wide = _signature(height=60, width=400, box=(10, 20, 50, 380))
    squeezed = preprocess(wide, Preprocessing(image_size=(64, 64), invert=True))
    kept = preprocess(wide, Preprocessing(image_size=(64, 64), invert=True, keep_aspect=True, crop="ink"))
    ink_rows = lambda image: np.flatnonzero(image[:, :, 0].max(axis=1) > 0.5)  # noqa: E731
    assert np.ptp(ink_rows(squeezed)) > np.ptp(ink_rows(kept))  # squeezing makes it taller than it is


def test_preprocessing_round_trips_and_reads_models_saved_before_framing():
    p = Preprocessing(
        image_size=(64, 128), invert=True, crop="ink", contrast="stretch", strokes="even", keep_aspect=True
    )
    assert Preprocessing.from_dict(p.to_dict()) == p
    old = Preprocessing.from_dict({"image_size": [48, 48], "channels": 1, "invert": True})
    assert (old.crop, old.contrast, old.strokes, old.keep_aspect) == ("none", "none", "keep", False)


@pytest.mark.parametrize("field, value", [("crop", "nose"), ("contrast", "loud"), ("strokes", "wobbly")])
def test_unknown_framing_names_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        Preprocessing(**{field: value})
