"""What a face gallery takes as a reference (`siamese.gallery.quality`), on real frames: two
faces of similar size, a face too small and (with a liveness model) a printed photo are each
refused in one line naming the image, and nothing of the enrolment is stored; a small face in
the background is not a second person."""

import cv2
import pytest

from siamese.errors import PresentationAttackError, ReferenceQualityError
from siamese.gallery import Gallery
from siamese.inference.liveness import load_liveness


@pytest.fixture
def gallery(face_model_path, tmp_path):
    gallery = Gallery.create(tmp_path / "g.db", str(face_model_path))
    yield gallery
    gallery.close()


def test_two_faces_of_similar_size_are_refused(gallery, liveness_samples, tmp_path):
    live = cv2.imread(str(liveness_samples / "image_T1.jpg"))
    cv2.imwrite(str(tmp_path / "two.jpg"), cv2.hconcat([live, cv2.flip(live, 1)]))
    with pytest.raises(ReferenceQualityError, match=r"two.jpg: 2 faces of similar size \(the second at least 50%"):
        gallery.enroll("ann", [liveness_samples / "image_T1.jpg", tmp_path / "two.jpg"])
    assert gallery.identities() == []  # the good image of the two was not stored either


def test_a_small_face_beside_a_large_one_is_background(gallery, liveness_samples, tmp_path):
    live = cv2.imread(str(liveness_samples / "image_T1.jpg"))
    small = cv2.resize(live, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    canvas = cv2.copyMakeBorder(live, 0, 0, 0, small.shape[1], cv2.BORDER_CONSTANT, value=(128, 128, 128))
    canvas[: small.shape[0], live.shape[1] :] = small  # a second face of 0.16 times the area
    cv2.imwrite(str(tmp_path / "background.jpg"), canvas)
    assert gallery.enroll("ann", [tmp_path / "background.jpg"]) == 1


def test_a_face_too_small_to_trust_is_refused_saying_its_size(gallery, liveness_samples, tmp_path):
    live = cv2.imread(str(liveness_samples / "image_T1.jpg"))
    cv2.imwrite(str(tmp_path / "far.jpg"), cv2.resize(live, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA))
    with pytest.raises(ReferenceQualityError, match=r"far.jpg: a face of \d\dx\d\d pixels, too small .* 64x64"):
        gallery.enroll("ann", [tmp_path / "far.jpg"])


def test_an_attack_is_refused_when_liveness_is_on(gallery, liveness_samples):
    with pytest.raises(PresentationAttackError, match=r"image_F1.jpg: a presentation attack.*liveness score 0.1960"):
        gallery.enroll("ann", [liveness_samples / "image_F1.jpg"], liveness=load_liveness())
    assert gallery.identities() == []
    assert gallery.enroll("ann", [liveness_samples / "image_F1.jpg"]) == 1  # liveness off: a printed photo passes
    assert gallery.enroll("bob", [liveness_samples / "image_T1.jpg"], liveness=load_liveness()) == 1
