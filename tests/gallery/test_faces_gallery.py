"""The gallery with face models: the shipped `faces` model on real photos (one photo enrolled
per person names another photo of the first, and a claim is accepted for that person only),
and a claim on an image without a face, as enrolling and identifying treat one."""

import pytest

from siamese.data.faces import FaceLog
from siamese.errors import NoFaceError
from siamese.gallery import Gallery
from tests.conftest import write_faceless


def test_shipped_face_model_identifies_a_third_photo_of_an_enrolled_person(shared_data, tmp_path):
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    people = shared_data / "celeba-faces-dev"
    ann, bob = (sorted((people / person).glob("*.jpg")) for person in ("10001", "10006"))

    gallery = Gallery.create(tmp_path / "people.db", "faces")
    gallery.enroll("ann", [ann[0]])
    gallery.enroll("bob", [bob[0]])
    gallery.close()

    gallery = Gallery.open(tmp_path / "people.db")  # from the file, with the model it names
    answer = gallery.identify(ann[1])
    assert answer.name == "ann" and answer.known, answer
    assert [c.name for c in answer.candidates] == ["ann", "bob"]
    assert answer.candidates[1].distance > answer.threshold  # bob is not merely farther: he is rejected
    assert gallery.verify_claim("ann", ann[2]).accepted
    assert not gallery.verify_claim("bob", ann[2]).accepted
    gallery.close()


def test_a_claim_without_a_face_is_kept_whole_with_a_face_log_and_refused_without(face_model_path, tmp_path):
    noise = write_faceless(tmp_path / "noise.png")
    gallery = Gallery.create(tmp_path / "g.db", str(face_model_path))
    faces = FaceLog()
    with pytest.raises(NoFaceError, match="noise.png: no face found"):  # a reference needs a face, log or not
        gallery.enroll("noise", [noise], faces=faces)
    assert faces.faceless == [str(noise)] and gallery.identities() == []
    gallery.enroll("noise", [noise], detect=False)  # taken whole, as a face chip
    assert gallery.verify_claim("noise", noise, faces=faces).references == 1
    assert faces.faceless == [str(noise), str(noise)]
    with pytest.raises(NoFaceError, match="noise.png: no face found"):
        gallery.verify_claim("noise", noise)
    gallery.close()
