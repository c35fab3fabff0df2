"""Face models behind the service: a photo without a face is a 422 naming the upload; the
shipped `faces` model enrols, identifies and checks claims on real photos."""

import cv2
import numpy as np
import pytest

from siamese.gallery import Gallery
from tests.conftest import write_faceless


def test_no_face_in_an_upload_is_422_naming_it(face_model_path, shared_data, tmp_path):
    from fastapi.testclient import TestClient

    from siamese.service import KeyStore, create_app

    photo = sorted((shared_data / "celeba-faces-dev" / "10001").glob("*.jpg"))[0]
    noise = cv2.imencode(".png", cv2.imread(str(write_faceless(tmp_path / "noise.png"))))[1].tobytes()
    gallery = Gallery.create(tmp_path / "g.db", str(face_model_path))
    keys = KeyStore(tmp_path / "g.db")
    headers = {"Authorization": f"Bearer {keys.create('reader')}"}
    client = TestClient(create_app(gallery, keys))
    files = {"image1": ("ann.jpg", photo.read_bytes(), "image/jpeg"), "image2": ("noise.png", noise, "image/png")}
    answer = client.post("/verify", files=files, headers=headers)
    assert answer.status_code == 422 and answer.json()["error"].startswith("noise.png: no face found"), answer.json()
    files["image2"] = ("ann.jpg", photo.read_bytes(), "image/jpeg")
    answer = client.post("/verify", files=files, headers=headers)
    assert answer.status_code == 200 and np.isclose(answer.json()["distance"], 0.0, atol=1e-5)
    gallery.close()


def test_shipped_face_model_behind_the_service_enrols_identifies_and_checks_claims(shared_data, tmp_path):
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    from fastapi.testclient import TestClient

    from siamese.service import KeyStore, create_app

    people = shared_data / "celeba-faces-dev"
    ann, bob = (sorted((people / person).glob("*.jpg")) for person in ("10001", "10006"))
    gallery = Gallery.create(tmp_path / "g.db", "faces")
    keys = KeyStore(tmp_path / "g.db")
    headers = {"Authorization": f"Bearer {keys.create('writer', can_write=True)}"}
    client = TestClient(create_app(gallery, keys))

    def upload(photo):
        return (photo.name, photo.read_bytes(), "image/jpeg")

    for name, photo in (("ann", ann[0]), ("bob", bob[0])):
        assert client.post("/enroll", data={"name": name}, files=[("image", upload(photo))], headers=headers).is_success
    answer = client.post("/identify", files={"image": upload(ann[1])}, headers=headers).json()
    assert answer["name"] == "ann" and [c["name"] for c in answer["candidates"]] == ["ann", "bob"], answer
    claims = {
        name: client.post("/verify", data={"name": name}, files={"image1": upload(ann[2])}, headers=headers).json()
        for name in ("ann", "bob")
    }
    assert claims["ann"]["accepted"] and not claims["bob"]["accepted"], claims
    gallery.close()
