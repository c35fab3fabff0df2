"""Face models on the command line: no face is exit 2 naming the file, --no-detect takes images
as chips, batch work warns and counts, --json says how many faces and where.

A tiny untrained face model stands in (`face_model_path`): what is tested is how images
reach it, not what it answers. The photos come from ../shared/data (skipped without it).
"""

import json

import numpy as np
import pytest

from siamese.cli import main
from tests.cli.test_cli import assert_one_line_error, run
from tests.conftest import write_faceless, write_two_faces


@pytest.fixture
def photos(shared_data):
    folder = shared_data / "celeba-faces-dev"
    return sorted((folder / "10001").glob("*.jpg"))[:3] + sorted((folder / "10006").glob("*.jpg"))[:3]


def test_no_face_in_verify_is_exit_2_with_one_line_naming_the_file(face_model_path, photos, tmp_path):
    noise = write_faceless(tmp_path / "noise.png")
    result = run("-m", "siamese", "verify", photos[0], noise, "--model", face_model_path)
    assert_one_line_error(result, f"{noise}: no face found", "--no-detect")


def test_no_detect_takes_the_images_whole(face_model_path, photos, tmp_path, capsys):
    noise = write_faceless(tmp_path / "noise.png")
    assert main(["verify", str(photos[0]), str(noise), "--model", str(face_model_path), "--no-detect", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "faces" not in answer and answer["distance"] > 0


def test_verify_json_says_how_many_faces_and_where(face_model_path, photos, tmp_path, capsys):
    two = write_two_faces(tmp_path / "two.png", photos[0], photos[3])
    assert main(["verify", str(photos[0]), str(two), "--model", str(face_model_path), "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert faces[str(photos[0])]["faces"] == 1 and faces[str(two)]["faces"] == 2
    first, second = faces[str(two)]["boxes"]
    assert first[2] * first[3] > second[2] * second[3]  # the largest first: the one compared


def test_embed_warns_about_a_faceless_photo_embeds_it_and_counts_it(face_model_path, photos, tmp_path):
    noise, out = write_faceless(tmp_path / "noise.png"), tmp_path / "e.npy"
    result = run("-m", "siamese", "embed", *photos, noise, "--model", face_model_path, "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"siamese: warning: {noise}: no face found" in result.stderr
    assert "faces not found: 1" in result.stdout
    assert np.load(out).shape == (len(photos) + 1, 16)


def test_evaluate_counts_faceless_photos_in_its_report(face_model_path, photos, tmp_path, capsys):
    noise = write_faceless(tmp_path / "noise.png")
    pairs = tmp_path / "pairs.csv"
    lines = [
        f"{photos[0]},{photos[1]},1",
        f"{photos[3]},{photos[4]},1",
        f"{photos[0]},{photos[3]},0",
        f"{noise},{photos[2]},0",
    ]
    pairs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(face_model_path), "--pairs", str(pairs), "--out", str(out)]) == 0
    assert "faces not found: 1" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["faces_not_found"] == 1
    assert "Faces not found (the whole photo taken as the face): `1`" in (out / "report.md").read_text()


def test_enroll_refuses_a_photo_without_a_face_and_identify_answers_with_its_faces(
    face_model_path, photos, tmp_path, capsys
):
    gallery, noise = tmp_path / "g.db", write_faceless(tmp_path / "noise.png")
    model = str(face_model_path)
    result = run("-m", "siamese", "enroll", "--gallery", gallery, "ann", photos[0], noise, "--model", model)
    assert_one_line_error(result, f"{noise}: no face found")  # one of many: refused too, nothing stored
    assert main(["enroll", "--gallery", str(gallery), "ann", str(photos[0]), "--model", model]) == 0
    assert main(["enroll", "--gallery", str(gallery), "bob", str(noise)]) == 2  # one photo, no face: refused
    capsys.readouterr()
    assert main(["identify", "--gallery", str(gallery), str(photos[1]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["faces"]["faces"] == 1
    assert main(["identify", "--gallery", str(gallery), str(noise)]) == 2
    assert main(["identify", "--gallery", str(gallery), str(noise), "--no-detect"]) == 0


def test_calibrate_embeds_a_faceless_photo_whole_and_counts_it(face_model_path, photos, tmp_path, capsys):
    import shutil

    model = tmp_path / "faces.keras"
    shutil.copy(face_model_path, model)  # calibrate writes its threshold back; the shared model stays as it is
    noise, pairs = write_faceless(tmp_path / "noise.png"), tmp_path / "pairs.csv"
    lines = [
        f"{photos[0]},{photos[1]},1",
        f"{photos[3]},{photos[4]},1",
        f"{photos[0]},{photos[3]},0",
        f"{noise},{photos[2]},0",
    ]
    pairs.write_text("\n".join(lines) + "\n")
    assert main(["calibrate", str(model), str(pairs), "--objective", "eer"]) == 0
    assert "faces not found: 1" in capsys.readouterr().out
    assert main(["calibrate", str(model), str(pairs), "--objective", "eer", "--no-detect"]) == 0
    assert "faces not found" not in capsys.readouterr().out
