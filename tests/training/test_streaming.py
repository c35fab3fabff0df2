"""Training on streamed images: the same batches, losses and model as on the decoded array,
from sharded zips, and a bad file met mid-training comes out as the typed error naming it."""

import json
import zipfile

import numpy as np
import pytest

from siamese.data import ClassBatchSampler, Preprocessing, load_dataset, split_by_class
from siamese.data.streaming import StreamedImages, streamed_split
from siamese.errors import ImageError
from siamese.inference import load_model
from siamese.training import TrainConfig, train
from siamese.training.batches import ClassBatches
from tests.data.test_layouts import write_signers

CONFIG = dict(
    image_size=(16, 16),
    filters=(8, 8),
    embedding_dim=8,
    epochs=2,
    steps_per_epoch=4,
    classes_per_batch=4,
    examples_per_class=2,
    validation_pairs=40,
    invert=True,
    split_by_group=False,
    validation_fraction=0.34,
    seed=3,
)


def _shards(folder, tmp_path):
    """The class folders of `folder` in two zips, one dataset when read together."""
    classes = sorted({p.parent for p in folder.rglob("*.png")})
    paths = [tmp_path / "shard-0.zip", tmp_path / "shard-1.zip"]
    for k, path in enumerate(paths):
        with zipfile.ZipFile(path, "w") as archive:
            for image in sorted(p for c in classes[k::2] for p in c.glob("*.png")):
                archive.write(image, image.relative_to(folder).as_posix())
    return paths


def test_streamed_batches_equal_the_decoded_batches(tmp_path):
    dataset = load_dataset(write_signers(tmp_path / "signers", signers=5, genuine=4, forged=2))
    prep = Preprocessing(image_size=(12, 12))
    train_set, val_set = split_by_class(dataset, 0.4, seed=0)
    (_, images, forged), _ = streamed_split(train_set, val_set, prep)
    sampler = ClassBatchSampler(2, 2)
    decoded = ClassBatches(
        train_set.load(prep), train_set, sampler, steps=6, seed=1, forgeries=train_set.load_forgeries(prep)[0]
    )
    streamed = ClassBatches(images, train_set, sampler, steps=6, seed=1, forgeries=forged)
    for _epoch in range(2):
        for index in range(6):
            (a, labels_a), (b, labels_b) = decoded[index], streamed[index]
            assert np.array_equal(a, b) and np.array_equal(labels_a, labels_b)
        decoded.on_epoch_end(), streamed.on_epoch_end()
    assert np.any(labels_b < 0)  # the forgeries were drawn too


def test_streamed_training_trains_and_saves_as_the_decoded_one(shapes_dir, tmp_path):
    shards = _shards(shapes_dir, tmp_path)
    decoded = train(
        shards, model_path=tmp_path / "decoded.keras", config=TrainConfig.from_settings(**CONFIG), verbose=0
    )
    streamed = train(
        shards,
        model_path=tmp_path / "streamed.keras",
        config=TrainConfig.from_settings(**CONFIG, stream=True),
        results_dir=tmp_path / "results",
        verbose=0,
    )
    assert streamed.history["loss"] == decoded.history["loss"]  # the same batches, in the same order
    assert streamed.metrics["val_auc"] == decoded.metrics["val_auc"]  # the same validation pairs
    assert streamed.metrics["validation_pairs"] == 40 and streamed.metrics["training_classes"] == 8
    assert json.loads((tmp_path / "results" / "config.json").read_text())["runtime"]["stream"] is True
    model = load_model(streamed.model_path, engine="keras")
    assert model.preprocessing.image_size == (16, 16) and model.threshold == pytest.approx(
        streamed.metrics["val_threshold"]
    )


def test_a_corrupt_image_met_while_streaming_is_named(shapes_copy, tmp_path):
    config = TrainConfig.from_settings(**CONFIG, stream=True)
    dataset = load_dataset(shapes_copy)
    train_set, _ = split_by_class(dataset, config.validation.validation_fraction, by_group=False, seed=config.seed)
    sampler = ClassBatchSampler(
        config.sampling.classes_per_batch,
        config.sampling.examples_per_class,
        same_group_fraction=config.sampling.same_group_fraction,
    )
    drawn = [set(sampler.sample(train_set, np.random.default_rng((config.seed, 0, i)))[0].tolist()) for i in range(4)]
    late = min(drawn[3] - drawn[0] - drawn[1] - drawn[2])  # first drawn by the fourth batch, after Keras's first looks
    path = train_set.sources[0].root / train_set.members[late][1]
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ImageError, match=f"{path}: truncated or corrupt PNG"):
        train(shapes_copy, model_path=tmp_path / "m.keras", config=config, verbose=0)


def test_streamed_validation_decodes_only_what_it_uses(shapes_dir, tmp_path, monkeypatch):
    made = []
    real_init = StreamedImages.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(StreamedImages, "__init__", init)
    config = TrainConfig.from_settings(
        **{**CONFIG, "validation_pairs": 4, "steps_per_epoch": 10, "classes_per_batch": 2}, stream=True
    )
    train(shapes_dir, model_path=tmp_path / "m.keras", config=config, verbose=0)
    train_images, val_images = made
    assert len(val_images) == 32 and 0 < val_images.decoded < 32  # 4 pairs and 5 batches of 2 classes x 2: not all 32
    assert val_images.decoded == val_images.cached  # each decoded once, epoch after epoch
