"""Light paths stay light by construction: what needs no network imports no Keras or TensorFlow.

Each check runs in a fresh interpreter and looks at `sys.modules` after the work is done:
the calibrator (numpy and scikit-learn), the evaluation package with a numpy model, the
CLI's argument checks, and verification with the shipped model on ONNX Runtime.
"""

import os
import subprocess
import sys

import pytest

from tests.conftest import BUNDLED, REPO

HEAVY = "heavy = sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules); print('HEAVY', heavy)"


def _run(code: str, cwd=REPO):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\n{HEAVY}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


CASES = {
    "calibrator": "from siamese.training import ThresholdCalibrator\n"
    "print(ThresholdCalibrator('eer').fit([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]).threshold_)",
    "train config": "from siamese.training import RunFolder, TrainConfig\nprint(TrainConfig.from_settings(epochs=3).schedule.epochs, RunFolder.named('r').history)",
    "evaluation": "import numpy as np\nfrom siamese.evaluation import evaluate, PairsStep, FilePairs\nfrom siamese.data import PairList\n"
    f"runs = {str(BUNDLED / 'all_runs.zip')!r}\n"
    "from siamese.evaluation import RunsStep, read_oneshot_runs\n"
    "r = evaluate(lambda images: np.stack([np.asarray(i, np.float32).ravel()[:50] for i in images]), "
    "steps=[RunsStep(read_oneshot_runs(runs))])\nprint(r.metrics['oneshot_runs']['trials'])",
    "calibrate's checks": "from siamese.cli import main\n"
    "print(main(['calibrate', 'omniglot', 'missing.csv']), main(['calibrate', 'omniglot', 'x', '--target-far', '2']))",
    "parser": "from siamese.cli.arguments import build_parser\nprint(build_parser().parse_args(['verify', 'a', 'b']).command)",
    "gallery on ONNX": "from siamese.gallery import Gallery\n"
    f"g = Gallery.create('g.db', 'omniglot'); g.enroll('a', [{str(REPO / 'notebooks' / 'a.png')!r}])\n"
    f"print(g.identify({str(REPO / 'notebooks' / 'a.png')!r}).name)",
    "service on ONNX": "from fastapi.testclient import TestClient\nfrom siamese.gallery import Gallery\n"
    "from siamese.service import KeyStore, create_app\ng = Gallery.create('s.db', 'omniglot')\n"
    "print(TestClient(create_app(g, KeyStore('s.db'))).get('/health').json()['engine'])",
    "verify on ONNX": "import siamese\nm = siamese.load_model('omniglot')\n"
    f"print(m.engine, m.verify({str(REPO / 'notebooks' / 'a.png')!r}, {str(REPO / 'notebooks' / 'a.png')!r}).same)",
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Two images of the runs on disk, for the verification case."""
    import zipfile

    folder = tmp_path_factory.mktemp("light")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        (folder / "a.png").write_bytes(archive.read("run01/test/item06.png"))
    return folder


@pytest.mark.parametrize("case", list(CASES))
def test_light_paths_import_no_keras_or_tensorflow(case, images, tmp_path):
    code = CASES[case].replace(str(REPO / "notebooks" / "a.png"), str(images / "a.png"))
    out = _run(code, cwd=tmp_path)
    assert out.strip().splitlines()[-1] == "HEAVY []", out


def test_the_check_sees_keras_when_it_is_imported(tmp_path):
    """The same check fails where Keras comes in: training proper."""
    out = _run("from siamese.training import train", cwd=tmp_path)
    assert "'keras'" in out.strip().splitlines()[-1]


@pytest.mark.parametrize("model, template", [("faces", "dlib"), ("faces-mobilefacenet", "arcface")])
def test_the_face_models_find_align_and_verify_without_keras_or_tensorflow(model, template, shared_data, tmp_path):
    """Each shipped face model: detection and alignment (dlib, OpenCV) to its own chip (dlib's, or
    MobileFaceNet's 112x112 arcface frame) and its tower on ONNX Runtime tell one person's two
    photos from another person's; nothing heavy comes in."""
    pytest.importorskip("dlib", reason="face crops need dlib (the faces extra)")
    a, b = sorted((shared_data / "celeba-faces-dev" / "10001").glob("*.jpg"))[:2]
    other = sorted((shared_data / "celeba-faces-dev" / "10006").glob("*.jpg"))[0]
    code = (
        "import siamese\nfrom siamese.data.faces import FaceLog\n"
        f"m = siamese.load_model({model!r}); log = FaceLog(keep_faceless=False)\n"
        f"print(m.engine, m.preprocessing.face_template, m.verify({str(a)!r}, {str(b)!r}, faces=log).same, "
        f"m.verify({str(a)!r}, {str(other)!r}, faces=log).same, len(log.found))"
    )
    lines = _run(code, cwd=tmp_path).strip().splitlines()

    assert lines[-2] == f"onnx {template} True False 3" and lines[-1] == "HEAVY []", lines


def test_liveness_judges_a_frame_and_refuses_an_attack_without_keras_or_tensorflow(liveness_samples, tmp_path):
    """The shipped liveness model on ONNX Runtime, the face found by dlib, an enrolment refused: nothing heavy."""
    attack, live = liveness_samples / "image_F1.jpg", liveness_samples / "image_T1.jpg"
    code = (
        "import siamese\nfrom siamese.gallery import Gallery\nfrom siamese.inference import load_liveness\n"
        f"r = siamese.liveness({str(attack)!r}); g = Gallery.create('g.db', 'faces')\n"
        f"print(r.live, round(r.score, 3), g.enroll('ann', [{str(live)!r}], liveness=load_liveness()))"
    )
    lines = _run(code, cwd=tmp_path).strip().splitlines()
    assert lines[-2] == "False 0.196 1" and lines[-1] == "HEAVY []", lines
