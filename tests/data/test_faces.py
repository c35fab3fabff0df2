"""Face chips: dlib's detector and 5 landmarks, aligned as dlib.get_face_chip aligns, on real photos.

The photos come from ../shared/data (skipped without it); faceless images are drawn here.
The alignment is held to dlib's own chip: at most one grey level at any pixel, and fewer
than 1 value in 1,000 off by that one level (measured over 847 photos: 6 in a million).
"""

import functools
import logging
import sys

import cv2
import numpy as np
import pytest

from siamese.data import Preprocessing, preprocess, read_image
from siamese.data import faces as face_module
from siamese.data.faces import FaceLog, align_face, crop_face, find_faces, whole_image_face
from siamese.data.named import named
from siamese.errors import ImageError, NoFaceError
from tests.conftest import write_faceless, write_two_faces

dlib = pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")

CELEBA_PEOPLE = ("10001", "10006", "10007", "10025")


def _celeba(shared_data, count=12) -> list:
    return [p for person in CELEBA_PEOPLE for p in sorted((shared_data / "celeba-faces-dev" / person).glob("*.jpg"))][
        :count
    ]


@functools.lru_cache(maxsize=1)
def _dlib_models():
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(face_module.landmarks_model()))


def _dlib_chip(image, size=150):
    """dlib's own pipeline: its detector (upsampled once, as face_recognition runs it), 5 landmarks, its chip."""
    detector, predictor = _dlib_models()
    box = max(detector(image, 1), key=lambda b: b.area())
    shape = predictor(image, box)
    return dlib.get_face_chip(image, shape, size, 0.25), [(p.x, p.y) for p in shape.parts()]


@pytest.mark.parametrize("zoom", [1.0, 3.3, 7.0])  # 3.3 and 7: dlib samples from its pyramid, 1 and 2 levels down
def test_alignment_is_dlibs_face_chip(shared_data, zoom):
    for path in _celeba(shared_data, 4):
        image = read_image(path, channels=3)
        if zoom != 1.0:
            image = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        theirs, landmarks = _dlib_chip(image)
        ours = align_face(image, landmarks, 150)
        difference = np.abs(ours.astype(int) - theirs.astype(int))
        assert ours.shape == theirs.shape == (150, 150, 3)
        assert difference.max() <= 1 and difference.mean() < 1e-3, (path, difference.mean())


def test_alignment_of_a_face_cut_by_the_photos_edge_is_dlibs(shared_data):
    """Where the chip reaches past the photo, dlib leaves black what OpenCV would blend."""
    for path in _celeba(shared_data, 6):
        image = read_image(path, channels=3)
        for part in (image[:, : int(0.55 * image.shape[1])], image[int(0.4 * image.shape[0]) :]):
            part = np.ascontiguousarray(part)
            if not _dlib_models()[0](part, 1):
                continue
            theirs, landmarks = _dlib_chip(part)
            assert np.abs(align_face(part, landmarks, 150).astype(int) - theirs.astype(int)).max() <= 1, path


def test_alignment_of_a_grey_photo_is_dlibs_too(shared_data):
    image = read_image(shared_data / "yalefaces" / "subject02.sad", channels=1)
    theirs, landmarks = _dlib_chip(image[:, :, 0], size=96)
    ours = align_face(image, landmarks, 96)
    assert ours.shape == (96, 96, 1)
    assert np.abs(ours[:, :, 0].astype(int) - theirs.astype(int)).max() <= 1


def test_the_whole_crop_is_dlibs_chip_on_small_photos(shared_data):
    """Photos under 400 pixels are searched at twice their size, as dlib's pipeline does, so the
    detection, the landmarks and the chip are all dlib's."""
    for path in _celeba(shared_data, 6):
        image = read_image(path, channels=3)
        theirs, _ = _dlib_chip(image)
        assert np.abs(crop_face(image, 150).astype(int) - theirs.astype(int)).max() <= 1, path


def test_a_tight_crop_the_detector_misses_is_aligned_as_dlib_aligns_a_given_box(shared_data):
    """Extended Yale B's crops are too tight for the detector; taken whole as the face's box,
    they are aligned by the landmarks found inside it, as dlib's pipeline aligns a box it is given."""
    _, predictor = _dlib_models()
    missed = 0
    for path in sorted((shared_data / "extended-yale-b" / "yaleB01").glob("*.pgm"))[:12]:
        image = np.repeat(read_image(path, channels=1), 3, axis=2)
        if find_faces(image):
            continue
        missed += 1
        shape = predictor(image, dlib.rectangle(0, 0, image.shape[1] - 1, image.shape[0] - 1))
        theirs = dlib.get_face_chip(image, shape, 150, 0.25)
        ours = crop_face(image, 150, name=path.name, log=FaceLog())
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1, path
    assert missed >= 3  # the case is really exercised


def test_faces_are_found_in_real_photos_with_their_landmarks_inside(shared_data):
    for path, channels in [(shared_data / "yalefaces" / "subject01.happy", 1), (_celeba(shared_data, 1)[0], 3)]:
        image = read_image(path, channels=channels)
        found = find_faces(image)
        assert len(found) == 1, path
        left, top, width, height = found[0].box
        points = np.array(found[0].landmarks)
        assert np.all((points[:, 0] > left) & (points[:, 0] < left + width)), path
        assert np.all((points[:, 1] > top) & (points[:, 1] < top + height)), path


def test_several_faces_largest_first_and_the_largest_is_cut(shared_data, tmp_path):
    big, small = _celeba(shared_data, 7)[0], _celeba(shared_data, 7)[6]
    photo = read_image(write_two_faces(tmp_path / "two.png", big, small), channels=3)
    found = find_faces(photo)
    assert len(found) == 2
    assert found[0].area > found[1].area
    large_width = 2 * read_image(big).shape[1]
    assert found[0].box[0] < large_width <= found[1].box[0]  # the large face is the left one
    assert np.array_equal(crop_face(photo, 150), align_face(photo, found[0].landmarks, 150))


def test_no_face_is_a_typed_error_naming_the_image(tmp_path):
    image = read_image(write_faceless(tmp_path / "noise.png"), channels=3)
    with pytest.raises(NoFaceError, match=r"^noise\.png: no face found") as error:
        crop_face(image, 150, name="noise.png")
    assert isinstance(error.value, ImageError) and "\n" not in str(error.value)
    with pytest.raises(NoFaceError):
        crop_face(image, 150, name="noise.png", log=FaceLog(keep_faceless=False))


def test_batch_work_takes_a_faceless_image_whole_as_the_face_names_and_counts_it(tmp_path, caplog):
    image = read_image(write_faceless(tmp_path / "noise.png"), channels=3)
    log = FaceLog()
    with caplog.at_level(logging.WARNING, logger="siamese"):
        kept = crop_face(image, 150, name="noise.png", log=log)
    whole = whole_image_face(image)
    assert whole.box == (0, 0, 160, 120) and len(whole.landmarks) == 5
    assert np.array_equal(kept, align_face(image, whole.landmarks, 150))
    assert log.faceless == ["noise.png"] and log.describe("noise.png") == {"faces": 0, "boxes": []}
    assert "noise.png: no face found" in caplog.text


def test_preprocessing_cuts_the_chip_and_without_detection_takes_the_image_whole(shared_data):
    image = read_image(_celeba(shared_data, 1)[0], channels=3)
    preprocessing = Preprocessing(image_size=(150, 150), channels=3, crop="face")
    chip = crop_face(image, 150)
    assert np.array_equal(preprocess(image, preprocessing), chip.astype(np.float32) / 255.0)
    whole = preprocess(image, preprocessing.without_face_detection())
    resized = cv2.resize(image, (150, 150), interpolation=cv2.INTER_AREA if image.shape[0] > 150 else cv2.INTER_LINEAR)
    assert np.array_equal(whole, resized.astype(np.float32) / 255.0)


def test_a_named_array_is_named_in_the_warning(tmp_path, caplog):
    """Evaluation hands the model decoded arrays; the name they carry reaches the warning."""
    image = named(read_image(write_faceless(tmp_path / "noise.png"), channels=3), "people/ann/noise.png")
    log = FaceLog()
    with caplog.at_level(logging.WARNING, logger="siamese"):
        preprocess(
            image, Preprocessing(image_size=(150, 150), channels=3, crop="face"), name="people/ann/noise.png", faces=log
        )
    assert log.faceless == ["people/ann/noise.png"] and "people/ann/noise.png: no face found" in caplog.text


def test_the_shipped_detector_is_dlibs(shared_data):
    shipped = face_module._detector()
    builtin = _dlib_models()[0]
    for path in _celeba(shared_data, 6):
        image = read_image(path, channels=3)
        assert [str(r) for r in shipped(image, 1)] == [str(r) for r in builtin(image, 1)]


def test_without_dlib_a_face_crop_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib now fails
    face_module._dlib.cache_clear()
    try:
        with pytest.raises(ImageError, match=r"^face detection needs dlib: pip install 'siamese\[faces\]'$"):
            find_faces(np.zeros((64, 64, 3), np.uint8))
    finally:
        face_module._dlib.cache_clear()
