"""Liveness behind the service, on Minivision's real frames: with `required`, an attack is a 422
naming the upload and its score, a live query's answer carries its verdict (a list of them for
/enroll); `optional` checks when the request asks; `off` refuses a request that asks; `siamese
serve` requires it for a face model's gallery and not for others. Enrolment refuses two faces
of similar size through the service too."""

import cv2
import numpy as np
import pytest

from siamese.gallery import Gallery
from siamese.service.factory import ServiceConfig
from siamese.service.liveness import LivenessGate, default_mode


@pytest.fixture
def uploads(liveness_samples):
    return {
        kind: (f"{kind}.jpg", (liveness_samples / f"image_{kind}.jpg").read_bytes(), "image/jpeg")
        for kind in ("T1", "F1", "F2")
    }


def _client(gallery_path, model, mode: str):
    from fastapi.testclient import TestClient

    from siamese.service import KeyStore, create_app

    gallery = Gallery.open_or_create(gallery_path, model)
    keys = KeyStore(gallery_path)
    headers = {"Authorization": f"Bearer {keys.create(mode, can_write=True)}"}
    return TestClient(create_app(gallery, keys, liveness=LivenessGate(mode))), headers, gallery


def test_required_refuses_attacks_and_answers_live_queries_with_their_verdict(face_model_path, uploads, tmp_path):
    client, headers, gallery = _client(tmp_path / "g.db", str(face_model_path), "required")
    answer = client.post("/enroll", data={"name": "ann"}, files=[("image", uploads["F1"])], headers=headers)
    assert answer.status_code == 422, answer.json()
    error = answer.json()["error"]
    assert error.startswith("F1.jpg: a presentation attack") and "liveness score 0.1960, threshold 0.4000" in error
    answer = client.post("/enroll", data={"name": "ann"}, files=[("image", uploads["T1"])], headers=headers)
    assert answer.status_code == 200 and [v["live"] for v in answer.json()["liveness"]] == [True]

    for route, form in (("/identify", {"image": uploads["F2"]}), ("/verify", {"image1": uploads["F2"]})):
        answer = client.post(route, data={"name": "ann"} if route == "/verify" else {}, files=form, headers=headers)
        assert answer.status_code == 422 and "F2.jpg: a presentation attack" in answer.json()["error"], route
        assert "liveness score 0.1648" in answer.json()["error"]
    identified = client.post("/identify", files={"image": uploads["T1"]}, headers=headers).json()
    claim = client.post("/verify", data={"name": "ann"}, files={"image1": uploads["T1"]}, headers=headers).json()
    for answer in (identified, claim):
        assert answer["liveness"]["live"] is True and answer["liveness"]["threshold"] == 0.4
        assert answer["liveness"]["score"] > 0.9
    assert claim["accepted"] and identified["name"] == "ann"
    two = client.post("/verify", files={"image1": uploads["T1"], "image2": uploads["F1"]}, headers=headers)
    assert two.status_code == 200 and two.json()["liveness"]["live"]  # image2 (a document's photo?) unchecked
    unchecked = {"liveness": "false", "name": "ann"}  # required: a request cannot turn it off
    answer = client.post("/verify", data=unchecked, files={"image1": uploads["F1"]}, headers=headers)
    assert answer.status_code == 422 and "attack" in answer.json()["error"]
    noise = cv2.imencode(".png", np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8))[1].tobytes()
    answer = client.post("/identify", files={"image": ("noise.png", noise, "image/png")}, headers=headers)
    assert answer.status_code == 422 and answer.json()["error"].startswith("noise.png: no face found"), answer.json()
    gallery.close()


def test_optional_checks_when_asked_and_off_refuses_a_request_that_asks(face_model_path, uploads, tmp_path):
    client, headers, gallery = _client(tmp_path / "g.db", str(face_model_path), "optional")
    assert client.post("/enroll", data={"name": "ann"}, files=[("image", uploads["T1"])], headers=headers).is_success
    unasked = client.post("/identify", files={"image": uploads["F1"]}, headers=headers)
    assert unasked.status_code == 200 and "liveness" not in unasked.json()
    asked = client.post("/identify", data={"liveness": "true"}, files={"image": uploads["F1"]}, headers=headers)
    assert asked.status_code == 422 and "attack" in asked.json()["error"]
    gallery.close()
    client, headers, gallery = _client(tmp_path / "g.db", str(face_model_path), "off")
    answer = client.post("/identify", data={"liveness": "true"}, files={"image": uploads["T1"]}, headers=headers)
    assert answer.status_code == 422 and "does not check liveness" in answer.json()["error"]
    gallery.close()


def test_serve_requires_liveness_for_a_face_models_gallery_only(face_model_path, tmp_path):
    faces = Gallery.create(tmp_path / "f.db", str(face_model_path))
    characters = Gallery.create(tmp_path / "o.db", "omniglot")
    assert default_mode(faces) == "required" and default_mode(characters) == "off"
    assert LivenessGate.for_gallery(characters).model is None
    config = ServiceConfig(gallery="g.db", liveness="optional", liveness_model="mine.onnx")
    assert ServiceConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="liveness must be one of"):
        LivenessGate("sometimes")
    faces.close(), characters.close()


def test_enrolment_through_the_service_refuses_two_faces_of_similar_size(face_model_path, liveness_samples, tmp_path):
    client, headers, gallery = _client(tmp_path / "g.db", str(face_model_path), "off")
    live = cv2.imread(str(liveness_samples / "image_T1.jpg"))
    both = cv2.imencode(".jpg", np.hstack([live, live]))[1].tobytes()
    answer = client.post(
        "/enroll", data={"name": "ann"}, files=[("image", ("two.jpg", both, "image/jpeg"))], headers=headers
    )
    assert answer.status_code == 422 and answer.json()["error"].startswith("two.jpg: 2 faces of similar size"), (
        answer.json()
    )
    assert gallery.identities() == []
    gallery.close()
