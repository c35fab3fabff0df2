"""A face model behind the service: a photo without a face is a 422 naming the upload."""

import cv2
import numpy as np

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
