"""Liveness on real frames: Minivision's live sample is live, its two printed photos are attacks;
bad input (no face, not an image, a threshold out of range) is a one-line typed error; a
calibrated copy keeps its own threshold and the shipped file is never changed."""

import cv2
import numpy as np
import pytest

import siamese
from siamese.errors import ConfigError, ImageError, ModelFileError, NoFaceError, PresentationAttackError
from siamese.inference.liveness import Liveness, LivenessModel, crop_box, load_liveness
from siamese.shipped import shipped_path
from tests.conftest import write_faceless


def test_the_live_sample_is_live_and_the_printed_photos_are_attacks(liveness_samples):
    live = siamese.liveness(liveness_samples / "image_T1.jpg")
    assert isinstance(live, Liveness) and live.live and live.score > 0.9 and live.threshold == 0.4
    x, y, w, h = live.box
    assert w > 100 and h > 100 and x >= 0 and y >= 0
    for name in ("image_F1.jpg", "image_F2.jpg"):
        attack = siamese.liveness(liveness_samples / name)
        assert not attack.live and attack.score < 0.3, (name, attack)


def test_an_rgb_array_is_judged_as_its_file_and_the_threshold_can_be_overridden(liveness_samples):
    path = liveness_samples / "image_F1.jpg"
    frame = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    from_file, from_array = siamese.liveness(path), siamese.liveness(frame)
    assert from_array.score == pytest.approx(from_file.score, abs=1e-6) and from_array.box == from_file.box
    lenient = siamese.liveness(frame, threshold=0.1)
    assert lenient.live and lenient.threshold == 0.1 and lenient.score == pytest.approx(from_file.score)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "high", float("nan")])
def test_a_threshold_out_of_range_is_refused_naming_it(liveness_samples, threshold):
    with pytest.raises(ConfigError, match="liveness threshold must be"):
        siamese.liveness(liveness_samples / "image_T1.jpg", threshold=threshold)


def test_no_face_and_not_an_image_are_one_line_errors_naming_the_file(liveness_samples, tmp_path):
    noise = write_faceless(tmp_path / "noise.png")
    with pytest.raises(NoFaceError, match=r"noise.png: no face found"):
        siamese.liveness(noise)
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n")
    with pytest.raises(ImageError, match=r"notes.jpg: not an image"):
        siamese.liveness(text)
    with pytest.raises(ImageError, match=r"missing.jpg: no such file"):
        siamese.liveness(tmp_path / "missing.jpg")


def test_an_attack_is_refused_naming_the_file_and_the_score(liveness_samples):
    model = load_liveness()
    with pytest.raises(PresentationAttackError, match=r"image_F2.jpg: a presentation attack.*liveness score 0\.\d{4}"):
        model.require_live(liveness_samples / "image_F2.jpg")
    assert model.require_live(liveness_samples / "image_T1.jpg").live


def test_a_calibrated_copy_keeps_its_threshold_and_the_shipped_model_is_unchanged(liveness_samples, tmp_path):
    shipped = shipped_path("liveness", ".onnx")
    before = shipped.read_bytes()
    copy = load_liveness().save(tmp_path / "mine.onnx", threshold=0.15)
    mine = LivenessModel.open(copy)
    assert mine.threshold == 0.15 and load_liveness().threshold == 0.4 and shipped.read_bytes() == before
    assert siamese.liveness(liveness_samples / "image_F1.jpg", model=copy).live  # 0.196 >= 0.15
    assert load_liveness().with_threshold(0.9).threshold == 0.9 and load_liveness().threshold == 0.4
    with pytest.raises(ModelFileError, match="saved as .onnx"):
        load_liveness().save(tmp_path / "mine.keras", threshold=0.2)


def test_a_file_that_is_not_a_liveness_model_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="no such liveness model"):
        LivenessModel.open(tmp_path / "missing.onnx")
    with pytest.raises(ModelFileError, match="omniglot.onnx: not a siamese liveness model"):
        LivenessModel.open(shipped_path("liveness", ".onnx").with_name("omniglot.onnx"))


@pytest.mark.parametrize(
    "box, scale, expected",
    [
        ((270, 190, 100, 100), 2.7, (185, 105, 455, 375)),  # room all round: scaled about the centre
        ((10, 10, 100, 100), 2.7, (0, 0, 270, 270)),  # past the top left: shifted back inside
        ((500, 380, 100, 100), 4.0, (239, 79, 639, 479)),  # past the bottom right: shifted back inside
        ((100, 100, 200, 200), 4.0, (0, 0, 479, 479)),  # too large for the frame: the scale capped to 479 / 200
    ],
)
def test_crops_follow_minivisions_rule(box, scale, expected):
    assert crop_box(480, 640, box, scale) == expected


def test_the_crops_are_80x80_rgb_floats():
    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    near, far = load_liveness().crops(frame, (270, 190, 100, 100))
    assert near.shape == far.shape == (1, 80, 80, 3) and near.dtype == np.float32 and near.max() > 1


def test_a_threshold_edited_without_the_tool_is_refused(tmp_path):
    copy = load_liveness().save(tmp_path / "mine.onnx", threshold=0.25)
    data = copy.read_bytes()
    assert data.count(b'"threshold": 0.25') == 1
    (tmp_path / "edited.onnx").write_bytes(data.replace(b'"threshold": 0.25', b'"threshold": 0.00'))
    with pytest.raises(ModelFileError, match=r"edited.onnx: changed since it was exported \(SHA-256 mismatch\)"):
        LivenessModel.open(tmp_path / "edited.onnx")
    assert LivenessModel.open(copy).threshold == 0.25
