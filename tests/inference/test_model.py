"""The inference API: load, embed paths and arrays, verify, save thresholds atomically."""

import numpy as np
import pytest

import siamese
from siamese.data import read_image
from siamese.errors import ImageError, ModelFileError
from siamese.inference import Verification, load_model


@pytest.fixture
def images(shapes_dir):
    return {
        "square_a": shapes_dir / "polygons" / "square" / "00.png",
        "square_b": shapes_dir / "polygons" / "square" / "01.png",
        "circle": shapes_dir / "curves" / "circle" / "00.png",
    }


def test_embed_takes_paths_arrays_and_single_images(trained_model_path, images):
    model = load_model(trained_model_path)
    from_paths = model.embed([images["square_a"], images["circle"]])
    from_arrays = model.embed([read_image(images["square_a"]), read_image(images["circle"])])
    assert from_paths.shape == (2, model.embedding_dim) and from_paths.dtype == np.float32
    assert np.allclose(from_paths, from_arrays, atol=1e-6)
    assert np.allclose(model.embed(images["square_a"]), from_paths[:1], atol=1e-6)
    assert np.allclose(model.embed(str(images["square_a"])), from_paths[:1], atol=1e-6)


def test_embed_in_batches_matches_one_batch(trained_model_path, shapes_dir):
    model = load_model(trained_model_path)
    paths = sorted(shapes_dir.rglob("*.png"))[:10]
    assert np.allclose(model.embed(paths, batch_size=3), model.embed(paths), atol=1e-5)


def test_verify_is_one_comparison_over_the_distance(trained_model_path, images):
    model = load_model(trained_model_path)
    result = model.verify(images["square_a"], images["square_b"])
    assert isinstance(result, Verification)
    assert result.threshold == model.threshold
    assert result.distance == pytest.approx(model.distance(images["square_a"], images["square_b"]))
    assert result.same == (result.distance <= result.threshold)
    assert model.verify(images["square_a"], images["circle"], threshold=-1.0).same is False
    assert model.verify(images["square_a"], images["circle"], threshold=10.0).same is True


def test_top_level_verify_uses_the_given_model(trained_model_path, images):
    result = siamese.verify(images["square_a"], images["square_b"], model=trained_model_path)
    assert result == load_model(trained_model_path).verify(images["square_a"], images["square_b"])


def test_threshold_can_be_changed_and_saved(trained_model_path, tmp_path):
    model = load_model(trained_model_path)
    model.network.threshold = 0.123
    saved = model.save(tmp_path / "copy.keras")
    assert load_model(saved).threshold == 0.123


def test_default_model_comes_from_the_environment(trained_model_path, monkeypatch, tmp_path):
    monkeypatch.setenv("SIAMESE_MODEL", str(trained_model_path))
    assert load_model().path == trained_model_path
    monkeypatch.setenv("SIAMESE_MODEL", str(tmp_path / "gone.keras"))
    with pytest.raises(ModelFileError, match="gone.keras: no such model file"):
        load_model()


def test_bad_images_raise_typed_errors(trained_model_path, images, tmp_path):
    model = load_model(trained_model_path)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ImageError, match=f"{text}: not an image \\(text\\)"):
        model.verify(images["square_a"], text)
    with pytest.raises(ImageError, match="missing.png: no such file"):
        model.embed([tmp_path / "missing.png"])


def test_threshold_setter_is_saved(trained_model_path, tmp_path):
    model = load_model(trained_model_path)
    model.threshold = 0.321
    assert model.threshold == 0.321
    assert load_model(model.save(tmp_path / "copy.keras")).threshold == 0.321


def test_embed_reports_progress_after_each_batch(trained_model_path, shapes_dir):
    model = load_model(trained_model_path)
    calls = []
    paths = sorted(shapes_dir.rglob("*.png"))[:10]
    embeddings = model.embed(paths, batch_size=4, workers=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 10), (8, 10), (10, 10)]
    assert np.allclose(embeddings, model.embed(paths, workers=1), atol=1e-5)
