"""Exported towers: ONNX Runtime agrees with Keras, metadata rides along, stale exports are skipped."""

import logging
import shutil

import keras
import numpy as np
import pytest

from siamese.data import Preprocessing
from siamese.errors import BackendError, ModelFileError
from siamese.files import file_sha256
from siamese.inference import export_model, load_model
from siamese.inference.metadata import read_onnx_metadata
from siamese.model import SiameseNetwork, build_tower, save_network

DISTANCES = ["euclidean", "manhattan", "cosine", "learned"]
IMAGES = np.random.default_rng(1).integers(
    0, 256, size=(7, 20, 20, 1), dtype=np.uint8
)  # resized to 16x16 on the way in


def _network(distance, seed=0):
    """A tiny tower whose batch-norm statistics are far from the defaults, so inference mode matters."""
    keras.utils.set_random_seed(seed)
    tower = build_tower((16, 16, 1), filters=(8, 8), embedding_dim=12)
    rng = np.random.default_rng(seed)
    for layer in tower.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, gamma.shape),
                    rng.normal(size=beta.shape),
                    rng.normal(size=mean.shape),
                    rng.uniform(0.2, 3, variance.shape),
                ]
            )
    network = SiameseNetwork(
        tower, distance, preprocessing={"image_size": [16, 16], "channels": 1, "invert": True}, threshold=0.7
    )
    if distance == "learned":
        network.distance.dense.set_weights([rng.normal(size=(12, 1)).astype("float32"), np.array([0.2], "float32")])
    return network


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{distance: .keras path}, each with an up-to-date .onnx export beside it."""
    root = tmp_path_factory.mktemp("exported")
    paths = {}
    for distance in DISTANCES:
        paths[distance] = save_network(_network(distance), root / f"{distance}.keras")
        export_model(paths[distance])
    return paths


@pytest.fixture
def copy_of(exported, tmp_path):
    def copy(distance):
        for suffix in (".keras", ".onnx"):
            shutil.copy(exported[distance].with_suffix(suffix), tmp_path / f"{distance}{suffix}")
        return tmp_path / f"{distance}.keras"

    return copy


@pytest.mark.parametrize("distance", DISTANCES)
def test_onnx_agrees_with_keras_on_embeddings_and_distances(exported, distance):
    onnx_model = load_model(exported[distance])
    keras_model = load_model(exported[distance], engine="keras")
    assert (onnx_model.engine, keras_model.engine) == ("onnx", "keras")
    a, b = onnx_model.embed(IMAGES), keras_model.embed(IMAGES)
    assert a.shape == b.shape == (7, 12) and a.dtype == np.float32
    assert np.max(np.abs(a - b)) < 1e-4
    assert np.max(np.abs(onnx_model.distances(b[:3], b[3:6]) - keras_model.distances(b[:3], b[3:6]))) < 1e-4
    for first, second in [(0, 1), (2, 2), (3, 6)]:
        mine, reference = (
            onnx_model.verify(IMAGES[first], IMAGES[second]),
            keras_model.verify(IMAGES[first], IMAGES[second]),
        )
        assert mine.distance == pytest.approx(reference.distance, abs=1e-4)
        assert mine.threshold == reference.threshold == 0.7


def test_the_export_carries_what_inference_needs(exported):
    metadata = read_onnx_metadata(exported["learned"].with_suffix(".onnx"))
    assert metadata.preprocessing == Preprocessing(image_size=(16, 16), channels=1, invert=True).to_dict()
    assert metadata.threshold == 0.7 and metadata.embedding_dim == 12
    assert metadata.distance_spec["name"] == "learned" and np.asarray(metadata.distance_spec["kernel"]).shape == (12, 1)
    assert metadata.source_file == "learned.keras" and metadata.source_sha256 == file_sha256(exported["learned"])
    assert 0 <= metadata.max_difference < 1e-4


def test_an_onnx_file_loads_on_its_own(exported, tmp_path):
    alone = shutil.copy(exported["cosine"].with_suffix(".onnx"), tmp_path / "alone.onnx")
    model = load_model(alone)
    assert model.engine == "onnx" and model.path == alone and model.embedding_dim == 12 and model.threshold == 0.7
    assert model.preprocessing.invert is True
    assert np.allclose(model.embed(IMAGES), load_model(exported["cosine"], engine="keras").embed(IMAGES), atol=1e-4)
    with pytest.raises(AttributeError, match="holds no Keras network"):
        _ = model.network
    with pytest.raises(ModelFileError, match="the Keras engine needs the .keras model"):
        load_model(alone, engine="keras")


def test_a_stale_export_is_skipped_with_a_warning(copy_of, exported, caplog):
    path = copy_of("cosine")
    shutil.copy(exported["euclidean"], path)  # the .keras changed after the export was made
    with caplog.at_level(logging.WARNING, logger="siamese.inference.model"):
        model = load_model(path)
    assert model.engine == "keras"
    assert "stale export" in caplog.text and "siamese export" in caplog.text
    with pytest.raises(ModelFileError, match="stale export"):
        load_model(path, engine="onnx")


def test_an_unreadable_export_is_skipped_with_a_warning(copy_of, caplog):
    path = copy_of("manhattan")
    path.with_suffix(".onnx").write_bytes(b"not onnx at all")
    with caplog.at_level(logging.WARNING, logger="siamese.inference.model"):
        assert load_model(path).engine == "keras"
    assert "manhattan.onnx: not a usable ONNX model" in caplog.text


def test_engine_onnx_without_an_export_is_a_one_line_error(exported, tmp_path):
    path = shutil.copy(exported["cosine"], tmp_path / "bare.keras")
    with pytest.raises(ModelFileError, match="bare.onnx: no ONNX export of .*bare.keras; run `siamese export"):
        load_model(path, engine="onnx")
    with pytest.raises(ValueError, match="engine must be one of"):
        load_model(path, engine="tflite")


def test_saving_a_new_threshold_keeps_the_export_current(copy_of):
    path = copy_of("learned")
    model = load_model(path)
    assert model.engine == "onnx"
    model.threshold = 0.25
    assert model.save() == path
    again = load_model(path)
    assert again.engine == "onnx" and again.threshold == 0.25
    assert read_onnx_metadata(path.with_suffix(".onnx")).source_sha256 == file_sha256(path)
    assert load_model(path, engine="keras").threshold == 0.25


def test_saving_from_keras_refreshes_an_export_that_was_current(copy_of):
    path = copy_of("euclidean")
    model = load_model(path, engine="keras")
    model.threshold = 0.5
    model.save()
    assert load_model(path).engine == "onnx" and load_model(path).threshold == 0.5


def test_an_onnx_model_saves_to_onnx(exported, tmp_path):
    model = load_model(exported["cosine"].with_suffix(".onnx"))
    model.threshold = 0.3
    saved = model.save(tmp_path / "copy.onnx")
    assert load_model(saved).threshold == 0.3
    assert read_onnx_metadata(exported["cosine"].with_suffix(".onnx")).threshold == 0.7  # the original is untouched
    with pytest.raises(ModelFileError, match="ONNX files are written by `siamese export`"):
        load_model(exported["cosine"], engine="keras").save(tmp_path / "other.onnx")


def test_the_trained_model_exports_and_agrees(trained_model_path, shapes_dir, tmp_path):
    path = shutil.copy(trained_model_path, tmp_path / "trained.keras")  # never beside the shared fixture
    result = export_model(path)
    assert result.path == tmp_path / "trained.onnx" and result.format == "onnx" and result.max_difference < 1e-4
    images = sorted(shapes_dir.rglob("*.png"))[:40]
    onnx_model, keras_model = load_model(path), load_model(path, engine="keras")
    assert onnx_model.engine == "onnx"
    assert np.max(np.abs(onnx_model.embed(images, batch_size=16) - keras_model.embed(images))) < 1e-4
    assert onnx_model.verify(images[0], images[1]).same == keras_model.verify(images[0], images[1]).same


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
@pytest.mark.parametrize("fmt, name", [("saved_model", "learned_saved_model"), ("litert", "learned.tflite")])
def test_saved_model_and_litert_exports(exported, tmp_path, fmt, name):
    backends = {"litert": ("tensorflow",), "saved_model": ("tensorflow", "jax")}[fmt]
    if keras.backend.backend() not in backends:
        pytest.skip(
            f"{fmt} export needs Keras's {' or '.join(backends)} backend; this run is on {keras.backend.backend()}"
        )
    path = shutil.copy(exported["learned"], tmp_path / "learned.keras")
    result = export_model(path, fmt)
    assert result.path == tmp_path / name and result.path.exists() and result.max_difference < 1e-4
    if fmt == "saved_model":
        assert '"threshold": 0.7' in (result.path / "assets.extra" / "siamese.json").read_text()
    else:
        assert b'"siamese_version"' in result.path.read_bytes()
    # Run the written artifact ourselves, on the model's own preprocessing of IMAGES, and hold
    # it to the Keras network: the exporter's reported difference is not taken on trust.
    import tensorflow as tf

    from siamese.data import load_images

    keras_model = load_model(path, engine="keras")
    batch = load_images(IMAGES, keras_model.preprocessing)
    assert batch.shape == (7, 16, 16, 1) and batch.dtype == np.float32
    expected = keras_model.embed(IMAGES)
    tower = keras.ops.convert_to_numpy(keras_model.network.tower(batch, training=False))
    assert np.max(np.abs(tower - expected)) < 1e-6 and np.min(np.ptp(expected, axis=0)) > 1e-3  # distinct embeddings
    if fmt == "saved_model":
        loaded = tf.saved_model.load(str(result.path))
        got = loaded.serve(tf.constant(batch)).numpy()
    else:
        interpreter = tf.lite.Interpreter(model_path=str(result.path))
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, batch)
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert got.shape == (7, 12)
    assert np.max(np.abs(got - expected)) < 1e-4


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="LiteRT export works on the tensorflow backend")
def test_litert_export_on_another_backend_is_a_one_line_error(exported, tmp_path):
    path = shutil.copy(exported["cosine"], tmp_path / "m.keras")
    with pytest.raises(
        BackendError, match=f"m.tflite: LiteRT export needs Keras's tensorflow backend, not {keras.backend.backend()}"
    ):
        export_model(path, "litert")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_export_refuses_what_it_cannot_do(exported, tmp_path):
    with pytest.raises(ValueError, match=r"format must be one of \['onnx', 'saved_model', 'litert'\], got 'pt'"):
        export_model(exported["cosine"], "pt")
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(ModelFileError, match="notes.keras: not a Keras model file"):
        export_model(text)
    with pytest.raises(ModelFileError, match="out.bin: onnx exports must end in .onnx"):
        export_model(exported["cosine"], out=tmp_path / "out.bin")


def test_an_export_that_disagrees_is_not_written(exported, tmp_path):
    path = shutil.copy(exported["cosine"], tmp_path / "m.keras")
    with pytest.raises(ModelFileError, match="m.onnx: exported tower disagrees with Keras .* nothing written"):
        export_model(path, tolerance=-1.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]
