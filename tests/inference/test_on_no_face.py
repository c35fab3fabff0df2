"""What a face model does with a photo in which no face is found: `on_no_face="raise"` (a
`NoFaceError` naming it) or `"whole"` (the whole photo taken as the face, with a warning), on
`SiameseModel.embed`, `Gallery.enroll` and the batch commands. The face photo is a CelebA one
from ../shared/data (skipped without it); the faceless one is drawn here."""

import logging

import cv2
import numpy as np
import pytest

import siamese
from siamese.cli import main
from siamese.errors import ConfigError, NoFaceError
from siamese.gallery import Gallery


@pytest.fixture(scope="module")
def faces_model():
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    return siamese.load_model("faces")


@pytest.fixture
def photos(shared_data, tmp_path):
    """(a drawing with no face in it, a CelebA face photo)."""
    drawing = np.full((160, 160, 3), 255, np.uint8)
    cv2.rectangle(drawing, (30, 40), (130, 120), (0, 0, 0), 3)
    blank = tmp_path / "drawing.png"
    cv2.imwrite(str(blank), drawing)
    return blank, sorted((shared_data / "celeba-faces-dev" / "10001").glob("*.jpg"))[0]


def test_whole_takes_the_photo_without_a_face_whole_and_warns(faces_model, photos, caplog):
    blank, face = photos
    with caplog.at_level(logging.WARNING, logger="siamese"):
        embeddings = faces_model.embed([blank, face], on_no_face="whole")
    assert embeddings.shape == (2, faces_model.embedding_dim) and np.isfinite(embeddings).all()
    np.testing.assert_allclose(embeddings[1], faces_model.embed([face])[0], atol=1e-5)  # the face as ever
    assert [r.getMessage() for r in caplog.records] == [f"{blank}: no face found; the whole image taken as the face"]


def test_raise_names_the_photo_and_is_the_default(faces_model, photos):
    blank, face = photos
    for settings in ({"on_no_face": "raise"}, {}):
        with pytest.raises(NoFaceError, match=f"^{blank}: no face found"):
            faces_model.embed([face, blank], **settings)


def test_a_face_log_records_under_either_rule(faces_model, photos):
    blank, face = photos
    log = siamese.FaceLog()  # keeps faceless photos whole, unless the call says otherwise
    with pytest.raises(NoFaceError):
        faces_model.embed([face, blank], on_no_face="raise", faces=log)
    assert log.faceless == [str(blank)] and log.describe(str(face))["faces"] == 1
    assert log.keep_faceless  # the caller's log is left as it was
    assert faces_model.embed([blank], faces=log).shape == (1, faces_model.embedding_dim)
    assert log.faceless == [str(blank), str(blank)]


def test_a_bad_rule_is_a_one_line_config_error(shapes_dir):
    model = siamese.load_model("omniglot")
    with pytest.raises(ConfigError) as error:
        model.embed([shapes_dir / "lines" / "hline" / "00.png"], on_no_face="skip")
    assert str(error.value) == "on_no_face must be one of ['raise', 'whole'], got 'skip'"


def test_enroll_passes_the_rule_on(faces_model, photos, tmp_path):
    blank, face = photos
    gallery = Gallery.create(tmp_path / "g.db", "faces")
    try:
        with pytest.raises(NoFaceError, match="drawing.png: no face found"):
            gallery.enroll("someone", [face, blank], on_no_face="raise")
        assert gallery.enroll("drawing", [blank], on_no_face="whole") == 1
    finally:
        gallery.close()


def test_the_commands_take_on_no_face(faces_model, photos, tmp_path, capsys):
    blank, face = photos
    out = tmp_path / "e.npy"
    assert main(["embed", str(blank), str(face), "--model", "faces", "--out", str(out), "--on-no-face", "raise"]) == 2
    assert capsys.readouterr().err == f"siamese: error: {blank}: no face found" + (
        " (for images that are already face chips: --no-detect, detect=False)\n"
    )
    assert not out.exists()
    assert main(["embed", str(blank), str(face), "--model", "faces", "--out", str(out)]) == 0  # batch: whole
    assert np.load(out).shape == (2, faces_model.embedding_dim)
    assert "faces not found: 1" in capsys.readouterr().out
    gallery = str(tmp_path / "g.db")
    enroll = ["enroll", "--gallery", gallery, "--model", "faces", "drawing", str(blank)]
    assert main(enroll) == 2  # one photo: an error by default
    assert main([*enroll, "--on-no-face", "whole"]) == 0
    assert "enrolled drawing: 1 embedding(s)" in capsys.readouterr().out


def test_shards_leave_a_photo_without_a_face_out_when_told_to_raise(faces_model, photos, tmp_path, capsys):
    blank, face = photos
    folder = tmp_path / "people" / "someone"
    folder.mkdir(parents=True)
    for photo in (blank, face):
        (folder / photo.name).write_bytes(photo.read_bytes())
    command = ["embed", str(tmp_path / "people"), "--model", "faces", "--out"]
    assert main([*command, str(tmp_path / "raised"), "--on-no-face", "raise"]) == 0
    out = capsys.readouterr().out
    assert "1 embeddings in 1 new shard(s)" in out and "images left out: 1" in out
    assert "drawing.png: no face found" in out
    assert main([*command, str(tmp_path / "whole")]) == 0
    out = capsys.readouterr().out
    assert "2 embeddings in 1 new shard(s)" in out and "faces not found: 1" in out
