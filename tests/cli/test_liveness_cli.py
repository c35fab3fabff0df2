"""Liveness on the command line, on Minivision's real frames (image_T1.jpg live, image_F1.jpg and
image_F2.jpg printed photos): one JSON object per image per line; a bad file, a bad threshold
or an attack is one line and exit 2; verify, identify, a claim and enrolment refuse an attack
with --liveness; evaluate and calibrate --attacks measure and set the threshold.

A tiny untrained face model stands in for the gallery's (`face_model_path`): what is tested is
the liveness check before it, not what it answers.
"""

import json
import shutil

import pytest

from siamese.cli import main
from tests.cli.test_cli import assert_one_line_error, run
from tests.conftest import write_faceless


@pytest.fixture
def frames(liveness_samples):
    return {kind: str(liveness_samples / f"image_{kind}.jpg") for kind in ("T1", "F1", "F2")}


def test_json_is_one_object_per_image_per_line(frames, capsys):
    assert main(["liveness", frames["T1"], frames["F1"], frames["F2"], "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["image"] for a in answers] == [frames["T1"], frames["F1"], frames["F2"]]
    assert [a["live"] for a in answers] == [True, False, False]
    assert answers[0]["score"] > 0.9 and all(a["score"] < 0.3 for a in answers[1:])
    assert all(a["threshold"] == 0.4 and len(a["box"]) == 4 for a in answers)


def test_a_bad_file_is_one_line_the_others_are_still_judged_and_the_status_is_2(frames, tmp_path, capsys):
    text, noise = tmp_path / "notes.jpg", write_faceless(tmp_path / "noise.png")
    text.write_text("not a picture\n")
    assert main(["liveness", frames["F1"], str(text), str(noise), frames["T1"]]) == 2
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"siamese: error: {text}: not an image (text)",
        f"siamese: error: {noise}: no face found, so liveness cannot be judged",
    ]
    assert out.splitlines() == [
        f"{frames['F1']}: attack (liveness score 0.1960, threshold 0.4000)",
        f"{frames['T1']}: live (liveness score 0.9948, threshold 0.4000)",
    ]


@pytest.mark.parametrize("threshold", ["1.5", "-1", "high"])
def test_a_bad_threshold_is_one_line_and_exit_2(frames, threshold):
    result = run("-m", "siamese", "liveness", frames["T1"], "--threshold", threshold)
    assert_one_line_error(result, "liveness threshold must be", threshold)


def test_verify_with_liveness_refuses_an_attack_naming_the_file_and_the_score(frames, face_model_path, capsys):
    model = str(face_model_path)
    result = run("-m", "siamese", "verify", frames["F1"], frames["T1"], "--model", model, "--liveness")
    assert_one_line_error(result, f"{frames['F1']}: a presentation attack", "liveness score 0.1960")
    assert main(["verify", frames["T1"], frames["F1"], "--model", model, "--liveness", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["liveness"]["live"] and answer["liveness"]["score"] > 0.9  # the query only: image2 unchecked
    assert main(["verify", frames["F1"], frames["T1"], "--model", model]) == 0  # without --liveness: no check


def test_identify_a_claim_and_enrolment_refuse_an_attack_with_liveness(frames, face_model_path, tmp_path, capsys):
    gallery = str(tmp_path / "g.db")
    enroll = ["enroll", "--gallery", gallery, "--model", str(face_model_path), "--liveness"]
    result = run("-m", "siamese", *enroll, "ann", frames["F2"])
    assert_one_line_error(result, f"{frames['F2']}: a presentation attack", "liveness score 0.1648")
    assert main([*enroll, "ann", frames["T1"]]) == 0
    capsys.readouterr()
    result = run("-m", "siamese", "identify", "--gallery", gallery, frames["F1"], "--liveness")
    assert_one_line_error(result, f"{frames['F1']}: a presentation attack", "liveness score")
    claim = ["verify", "--gallery", gallery, "--claim", "ann", "--liveness"]
    result = run("-m", "siamese", *claim, frames["F2"])
    assert_one_line_error(result, f"{frames['F2']}: a presentation attack", "liveness score")
    assert main([*claim, frames["T1"], "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["accepted"] and answer["liveness"]["live"]
    assert main(["identify", "--gallery", gallery, frames["T1"], "--liveness", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["liveness"]["score"] > 0.9
    # a stricter threshold than the live frame's score refuses it too
    assert main([*claim, frames["T1"], "--liveness-threshold", "0.999"]) == 2


def test_evaluate_and_calibrate_with_attacks(frames, tmp_path, capsys):
    live, attacks = tmp_path / "live", tmp_path / "attacks"
    live.mkdir(), attacks.mkdir()
    shutil.copy(frames["T1"], live)
    for kind in ("F1", "F2"):
        shutil.copy(frames[kind], attacks)
    assert main(["evaluate", "liveness", str(live), "--attacks", str(attacks), "--out", str(tmp_path / "e")]) == 0
    out = capsys.readouterr().out
    assert "APCER                  0.0000 [" in out and "n=2" in out and "BPCER at APCER 1%" in out
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["bpcer"]["n"] == 1

    result = run("-m", "siamese", "calibrate", "liveness", live, "--attacks", attacks)
    assert_one_line_error(result, "the shipped liveness model is never changed", "--out")
    mine = tmp_path / "mine.onnx"
    calibrate = ["calibrate", "liveness", str(live), "--attacks", str(attacks), "--out", str(mine)]
    assert main([*calibrate, "--target-apcer", "0.5"]) == 0  # one of the two attacks may pass: F1 (0.196)
    assert "liveness threshold 0.4000 -> 0.1648 (APCER 0.5000 on 2 attacks" in capsys.readouterr().out
    assert main(["liveness", frames["F1"], frames["F2"], "--model", str(mine), "--json"]) == 0
    assert [json.loads(line)["live"] for line in capsys.readouterr().out.splitlines()] == [True, False]
