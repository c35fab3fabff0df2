"""Claim (1:1) verification in a real gallery (SQLite and PostgreSQL) over a tiny model trained on the shapes:
the score of each rule against a brute-force numpy computation, the decision, bad claims."""

import itertools
import json
import re

import numpy as np
import pytest

from siamese.cli import main
from siamese.errors import ConfigError, GalleryError, UnknownIdentityError
from siamese.gallery import ClaimVerification, Gallery


def _cosine(a, b):
    return 1.0 - float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def gallery(trained_model_path, shapes_dir, gallery_at):
    """square: 3 references; circle: 1."""
    gallery = Gallery.create(gallery_at, trained_model_path)
    gallery.enroll("square", [shapes_dir / "polygons" / "square" / f"0{i}.png" for i in range(3)])
    gallery.enroll("circle", [shapes_dir / "curves" / "circle" / "00.png"])
    yield gallery
    gallery.close()


@pytest.mark.parametrize("rule", ["mean", "min", "normalized"])
def test_each_rule_scores_as_a_brute_force_computation(gallery, shapes_dir, rule):
    references = gallery.model.embed([shapes_dir / "polygons" / "square" / f"0{i}.png" for i in range(3)])
    questioned = shapes_dir / "polygons" / "square" / "05.png"
    query = gallery.model.embed(questioned)[0]
    assert gallery.model.distance_name == "cosine"
    d = [_cosine(query, r) for r in references]
    spread = np.mean([_cosine(references[i], references[j]) for i, j in itertools.combinations(range(3), 2)])
    expected = {"mean": np.mean(d), "min": min(d), "normalized": np.mean(d) / spread}[rule]
    result = gallery.verify_claim("square", questioned, rule=rule, threshold=0.5 if rule != "normalized" else 2.0)
    assert isinstance(result, ClaimVerification) and result.rule == rule and result.references == 3
    assert result.score == pytest.approx(expected, abs=1e-5) and np.allclose(result.distances, d, atol=1e-5)
    assert result.accepted == (result.score <= result.threshold) and result.same == result.accepted


def test_the_claimed_shape_is_accepted_and_another_rejected_at_the_models_threshold(gallery, shapes_dir):
    threshold = gallery.model.threshold
    own = gallery.verify_claim("square", shapes_dir / "polygons" / "square" / "06.png")
    other = gallery.verify_claim("square", shapes_dir / "lines" / "vline" / "00.png", rule="min")
    assert own.threshold == other.threshold == threshold
    assert own.accepted and not other.accepted and own.score < other.score


def test_a_single_reference_serves_mean_and_min(gallery, shapes_dir):
    image = shapes_dir / "curves" / "circle" / "03.png"
    mean, least = (gallery.verify_claim("circle", image, rule=rule) for rule in ("mean", "min"))
    assert mean.references == least.references == 1 and mean.score == pytest.approx(least.score)


@pytest.mark.parametrize(
    "name, rule, threshold, error, message",
    [
        ("nobody", "mean", None, UnknownIdentityError, "{g}: no identity named 'nobody'"),
        ("circle", "normalized", 1.5, GalleryError, r"'circle' has 1 reference\(s\); the normalized rule needs 2"),
        ("square", "normalized", None, ConfigError, "the normalized rule needs its own threshold"),
        ("square", "median", None, ConfigError, "claim rule must be one of"),
    ],
)
def test_bad_claims_are_typed_errors(gallery, shapes_dir, name, rule, threshold, error, message):
    with pytest.raises(error, match=message.format(g=re.escape(str(gallery.store.path)))):
        gallery.verify_claim(name, shapes_dir / "polygons" / "square" / "07.png", rule=rule, threshold=threshold)


def test_the_svm_rule_fits_the_claimed_references_against_the_other_identities(gallery, shapes_dir):
    """The classifier's negatives are every other identity's embeddings: its score is the one
    `classifier_scores` gives on them, the claimed shape is accepted at the boundary (0) and
    shapes never enrolled rejected; with no other identity the rule is refused in one line."""
    from siamese.claims import classifier_scores

    for shape in ("hline", "diag", "cross"):
        gallery.enroll(shape, [shapes_dir / "lines" / shape / f"0{i}.png" for i in range(2)])
    own_image, others = shapes_dir / "polygons" / "square" / "06.png", shapes_dir / "lines" / "vline"
    images = [own_image, *sorted(others.iterdir())]
    answers = [gallery.verify_claim("square", image, rule="svm") for image in images]
    negatives = np.concatenate([gallery.store.vectors_of(n) for n in ("circle", "cross", "diag", "hline")])
    expected = classifier_scores(gallery.store.vectors_of("square"), negatives, gallery.model.embed(images))
    assert answers[0].threshold == 0.0 and np.allclose([a.score for a in answers], expected, atol=1e-6)
    assert answers[0].accepted and not any(a.accepted for a in answers[1:]) and answers[0].references == 3
    for name in ("circle", "cross", "diag", "hline"):
        gallery.forget(name)
    with pytest.raises(GalleryError, match="the svm rule needs other identities enrolled beside 'square'"):
        gallery.verify_claim("square", own_image, rule="svm")


def test_an_svm_claim_reads_the_other_identities_at_once_not_one_by_one(gallery, shapes_dir, monkeypatch):
    """Under the gallery's lock: it read each of up to 2,000 other identities in its own query."""
    for shape in ("hline", "diag", "cross"):
        gallery.enroll(shape, [shapes_dir / "lines" / shape / "00.png"])
    asked, real = [], gallery.store.vectors_of
    monkeypatch.setattr(gallery.store, "vectors_of", lambda name: asked.append(name) or real(name))
    assert gallery.verify_claim("square", shapes_dir / "polygons" / "square" / "06.png", rule="svm").accepted
    assert asked == ["square"]


def test_the_cli_answers_a_claim_in_words_and_in_json(gallery, shapes_dir, capsys):
    g, image = str(gallery.store.path), str(shapes_dir / "polygons" / "square" / "06.png")
    gallery.close()
    assert main(["verify", "--gallery", g, "--claim", "square", image]) == 0
    assert capsys.readouterr().out.startswith("accepted: square (mean score ")
    assert (
        main(["verify", "--gallery", g, "--claim", "square", image, "--rule", "normalized", "--threshold", "0.01"]) == 0
    )
    assert capsys.readouterr().out.startswith("rejected: square (normalized score ")
    assert main(["verify", "--gallery", g, "--claim", "square", image, "--rule", "min", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["rule"] == "min" and answer["references"] == 3 and answer["same"] is answer["accepted"] is True
    assert answer["distance"] == answer["score"] == pytest.approx(min(answer["distances"]))
    assert main(["verify", "--gallery", g, "--claim", "square", image, "--rule", "svm", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["rule"] == "svm" and answer["threshold"] == 0.0 and answer["accepted"] is (answer["score"] <= 0.0)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--gallery", "{g}", "--claim", "nobody", "{image}"], "no identity named 'nobody'"),
        (["--gallery", "{g}", "--claim", "circle", "--rule", "normalized", "--threshold", "1", "{image}"], "needs 2"),
        (["--gallery", "{g}", "--claim", "square", "--rule", "normalized", "{image}"], "needs its own threshold"),
        (["--gallery", "{g}", "--claim", "square", "--rule", "median", "{image}"], "invalid choice: 'median'"),
        (["--claim", "square", "{image}"], "--claim NAME takes --gallery G and one image"),
        (["--gallery", "{g}", "--claim", "square", "{image}", "{image}"], "--claim NAME takes --gallery G and one"),
        (["--gallery", "{g}", "{image}", "{image}"], "verify takes two images"),
        (["{image}"], "verify takes two images"),
        (["{image}", "{image}", "--rule", "min"], "verify takes two images"),
    ],
)
def test_bad_claims_on_the_command_line_exit_2_with_one_line(gallery, shapes_dir, capsys, args, fragment):
    g, image = gallery.store.path, shapes_dir / "polygons" / "square" / "06.png"
    gallery.close()
    try:
        status = main(["verify", *[a.format(g=g, image=image) for a in args]])
    except SystemExit as stop:  # argparse's refusals
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("siamese: error: ") and fragment in err
