"""Writer-dependent verification on a genuine/forged folder: K references per writer against
skilled and random forgeries, scores checked against plain loops, each image embedded once."""

import json

import cv2
import numpy as np
import pytest
from sklearn.svm import SVC

from siamese.cli import main
from siamese.data import load_dataset
from siamese.errors import ConfigError, DatasetError
from siamese.evaluation import WritersStep, euclidean, evaluate, writer_scores


class PixelEmbed:
    """Downsampled pixels as embeddings, counting every image it is handed."""

    def __init__(self):
        self.images = 0

    def __call__(self, images):
        self.images += len(images)
        return np.stack([cv2.resize(np.asarray(i, np.float32).squeeze(), (8, 8)).ravel() / 255 for i in images])


def _loop_scores(table, forged, forgery_labels, order, k, rule):
    """Every writer's questioned images against its first k references, by explicit loops; a
    random forgery is another writer's signature that is not one of its references."""
    found = {"genuine": [], "skilled": [], "random": []}
    enrolled = [w for w, indices in enumerate(order) if len(indices) > k]
    for w in enrolled:
        indices = order[w]
        refs = [table[i] for i in indices[:k]]
        others = [table[i] for v in enrolled if v != w for i in order[v][:k]]
        svm = SVC(gamma="scale", class_weight="balanced").fit(refs + others, [1] * k + [0] * len(others))
        spread = np.mean([np.linalg.norm(a - b) for i, a in enumerate(refs) for b in refs[i + 1 :]]) if k > 1 else 1
        questioned = {
            "genuine": [table[i] for i in indices[k:]],
            "skilled": [f for f, label in zip(forged, forgery_labels) if label == w],
            "random": [table[order[v][-1]] for v in range(len(order)) if v != w],
        }
        assert all(order[v][-1] not in order[v][:k] for v in enrolled)  # never a reference, an svm negative
        for kind, rows in questioned.items():
            for q in rows:
                d = [np.linalg.norm(q - r) for r in refs]
                if rule == "svm":
                    found[kind].append(-svm.decision_function([q])[0])
                else:
                    found[kind].append({"mean": np.mean(d), "min": min(d), "normalized": np.mean(d) / spread}[rule])
    return found


@pytest.mark.parametrize(
    "k, rule", [(1, "mean"), (3, "mean"), (3, "min"), (3, "normalized"), (5, "normalized"), (1, "svm"), (5, "svm")]
)
def test_writer_scores_match_loops(k, rule):
    rng = np.random.default_rng(k)
    table, forged = rng.normal(size=(30, 4)), rng.normal(size=(9, 4))
    forgery_labels = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3])
    order = [rng.permutation(np.arange(w * 7, w * 7 + 7)) for w in range(4)] + [np.array([28, 29])]
    scores = writer_scores(table, forged, forgery_labels, order, k, euclidean)
    expected = _loop_scores(table, forged, forgery_labels, order, k, rule)
    assert set(scores) == ({"mean", "svm"} if k == 1 else {"mean", "min", "normalized", "svm"})
    for kind in ("genuine", "skilled", "random"):
        assert np.allclose(scores[rule][kind], expected[kind]), kind


def test_the_step_pools_every_writer_and_embeds_each_image_once(signers_dir):
    dataset, embed = load_dataset(signers_dir), PixelEmbed()
    result = evaluate(embed, euclidean, [WritersStep(threshold=0.5)], dataset=dataset, resamples=50)
    writers = result.metrics["writers"]
    assert embed.images == len(dataset) + dataset.num_forgeries == 55
    assert list(writers) == ["1", "3", "5"] and all(writers[k]["writers"] == 5 for k in writers)
    assert set(writers["1"]["rules"]) == {"mean", "svm"}
    assert set(writers["5"]["rules"]) == {"mean", "min", "normalized", "svm"}
    mean = writers["3"]["rules"]["mean"]
    assert mean["genuine"] == 5 * (7 - 3) and mean["skilled"]["different_pairs"] == 20
    assert mean["random"]["different_pairs"] == 5 * 4 and mean["skilled"]["threshold"] == 0.5
    assert writers["3"]["rules"]["normalized"]["skilled"]["true_accept_rate"] is None  # no threshold of its own
    assert writers["3"]["rules"]["svm"]["skilled"]["threshold"] == 0.0  # the classifier's own boundary
    assert 0.0 <= mean["skilled"]["eer"]["value"] <= 1.0


def test_no_random_forgery_is_one_of_the_svm_rules_training_points(signers_dir, monkeypatch):
    """The svm rule trains on the other writers' references: a random forgery drawn among them
    would score the classifier on its own training points."""
    from siamese.evaluation import writers

    calls, scores = [], writers.classifier_scores

    def recording(refs, others, rows):
        calls.append((np.asarray(refs), np.asarray(others), np.asarray(rows)))
        return scores(refs, others, rows)

    monkeypatch.setattr(writers, "classifier_scores", recording)
    evaluate(PixelEmbed(), euclidean, [WritersStep()], dataset=load_dataset(signers_dir), resamples=20)
    assert len(calls) == 3 * 5 * 3  # K = 1, 3, 5; five writers; genuine, skilled, random
    for refs, others, rows in calls:
        trained = {row.tobytes() for row in np.concatenate([refs, others])}
        assert not any(row.tobytes() in trained for row in rows)


def test_the_draw_follows_the_seed(signers_dir):
    dataset = load_dataset(signers_dir)
    figures = [
        evaluate(
            PixelEmbed(), euclidean, [WritersStep(references=(3,))], dataset=dataset, resamples=20, seed=s
        ).metrics["writers"]["3"]["rules"]["min"]["skilled"]["auc"]["value"]
        for s in (0, 0, 1, 2)
    ]
    assert figures[0] == figures[1] and len(set(figures)) > 1


@pytest.mark.parametrize(
    "references, error, message",
    [
        (
            (7,),
            DatasetError,
            "7 references need a writer with 8 or more genuine images \\(a questioned one\\), the most is 7",
        ),
        ((0, 1), ConfigError, "references must be counts of 1 or more"),
    ],
)
def test_references_beyond_the_data_are_refused_before_embedding(signers_dir, references, error, message):
    embed = PixelEmbed()
    with pytest.raises(error, match=message):
        evaluate(embed, euclidean, [WritersStep(references=references)], dataset=load_dataset(signers_dir))
    assert embed.images == 0


def test_the_cli_reports_k_references_against_skilled_and_random_forgeries(
    trained_model_path, signers_dir, tmp_path, capsys
):
    out = tmp_path / "evaluation"
    argv = ["evaluate", str(trained_model_path), str(signers_dir), "--out", str(out), "--references", "1,3"]
    assert main([*argv, "--normalized-threshold", "1.2", "--svm-threshold", "-0.5"]) == 0
    printed = capsys.readouterr().out
    assert "K=1 mean (5 writers): EER vs skilled forgeries" in printed and "K=3 normalized (5 writers)" in printed
    assert "FAR vs random forgeries at threshold" in printed
    metrics = json.loads((out / "metrics.json").read_text())["writers"]
    assert list(metrics) == ["1", "3"] and metrics["3"]["rules"]["normalized"]["skilled"]["threshold"] == 1.2
    assert metrics["1"]["rules"]["svm"]["skilled"]["threshold"] == -0.5
    assert "K=3 min" in (out / "report.md").read_text()


def test_one_writer_is_measured_without_the_svm_rule():
    """The classifier needs other writers to tell the references from: alone, the rule is left out."""
    rng = np.random.default_rng(0)
    table = rng.normal(size=(6, 4))
    scores = writer_scores(table, np.zeros((0, 4)), np.zeros(0, np.int64), [np.arange(6)], 3, euclidean)
    assert set(scores) == {"mean", "min", "normalized"} and len(scores["mean"]["genuine"]) == 3
