"""Streamed images: decoded on demand, equal bit for bit to the decoded array, in a bounded
cache, safe from many threads; zips read from one shared file with a compact index."""

import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

from siamese.data import PairSampler, Preprocessing, add_rotated_classes, load_dataset
from siamese.data.archives import ZipIndex
from siamese.data.streaming import StreamedImages, decode_pairs, streamed_split
from siamese.errors import ImageError
from tests.data.test_datasets import _zip_folder
from tests.data.test_layouts import write_signers

PREP = Preprocessing(image_size=(20, 20), invert=True, crop="ink", contrast="stretch")


@pytest.fixture(scope="module")
def shapes_zip(shapes_dir, tmp_path_factory):
    return _zip_folder(shapes_dir, tmp_path_factory.mktemp("zip") / "shapes.zip")


@pytest.mark.parametrize("where", ["folder", "zip"])
def test_streamed_images_equal_the_decoded_array(where, shapes_dir, shapes_zip):
    dataset = load_dataset(shapes_dir if where == "folder" else shapes_zip)
    decoded = dataset.load(PREP)
    images = StreamedImages(dataset, PREP, cache_size=8)
    assert images.shape == decoded.shape and images.dtype == decoded.dtype and images.decoded == 0
    draws = np.random.default_rng(0).integers(-len(dataset), len(dataset), size=(20, 12))
    for indices in draws:  # repeats and negative indices included
        assert np.array_equal(images[indices], decoded[indices])
    assert np.array_equal(images[5], decoded[5]) and np.array_equal(images[3:40:7], decoded[3:40:7])
    assert images[np.array([], dtype=np.int64)].shape == (0, 20, 20, 1)
    with pytest.raises(IndexError, match="out of range for 96 images"):
        images[[0, 96]]


def test_rotated_classes_stream_as_quarter_turns_of_the_decoded_images(shapes_dir):
    dataset = load_dataset(shapes_dir)
    grown, turned = add_rotated_classes(dataset, dataset.load(PREP))
    (train_set, images, _), (val_set, val_images, _) = streamed_split(dataset, dataset, PREP, rotated_classes=True)
    assert train_set.classes == grown.classes and np.array_equal(train_set.labels, grown.labels)
    assert images.shape == turned.shape and len(val_images) == len(dataset)
    assert np.array_equal(images[np.arange(len(images))], turned)
    assert images.decoded == len(dataset)  # each file decoded once, its four turns from the cache
    wide = StreamedImages(dataset, Preprocessing(image_size=(16, 24)))
    with pytest.raises(ValueError, match="need square images, got 16x24"):
        wide.rotated(1)


def test_forgeries_stream_after_the_images_as_the_batches_index_them(tmp_path):
    dataset = load_dataset(write_signers(tmp_path / "signers", signers=4, genuine=3, forged=2))
    decoded = np.concatenate([dataset.load(PREP), dataset.load_forgeries(PREP)[0]])
    images = StreamedImages(dataset, PREP)
    joined = np.concatenate([images, images.forgeries()])
    assert isinstance(joined, StreamedImages) and joined.shape == decoded.shape == (20, 20, 20, 1)
    assert np.array_equal(joined[np.arange(len(joined))[::-1]], decoded[::-1])
    assert joined.cache_size == images.cache_size  # one cache for both


def test_the_cache_holds_a_fixed_number_of_images(shapes_dir):
    dataset = load_dataset(shapes_dir)
    images = StreamedImages(dataset, PREP, cache_size=10)
    rng = np.random.default_rng(1)
    for _ in range(300):
        images[rng.integers(0, len(dataset), 16)]
        assert images.cached <= 10
    assert images.cached == 10 and images.decoded > 300 * 16 * 0.8  # 96 images, 10 kept: mostly misses
    before = images.decoded
    recent = images._segments[0][0]._cache  # the last images drawn are served from the cache
    rows = [dataset.members.index(entry) for entry in recent]
    images[rows]
    assert images.decoded == before
    nothing = StreamedImages(dataset, PREP, cache_size=0)
    nothing[[1, 1, 1]]
    assert nothing.decoded == 3 and nothing.cached == 0
    assert StreamedImages(dataset, PREP).cache_size == 256 * 2**20 // (20 * 20 * 4)  # default: 256 MiB of images


@pytest.mark.parametrize("where", ["folder", "zip"])
def test_many_threads_index_at_once(where, shapes_dir, shapes_zip):
    dataset = load_dataset(shapes_dir if where == "folder" else shapes_zip)
    decoded = dataset.load(PREP)
    images = StreamedImages(dataset, PREP, cache_size=20)
    draws = np.random.default_rng(2).integers(0, len(dataset), size=(8, 40, 16))
    wrong = []

    def work(mine):
        wrong.extend(i for i, indices in enumerate(mine) if not np.array_equal(images[indices], decoded[indices]))

    threads = [threading.Thread(target=work, args=(mine,)) for mine in draws]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not wrong and images.cached <= 20
    assert np.array_equal(images.take(np.arange(len(dataset)), workers=4), decoded)


def test_decode_pairs_decodes_only_the_images_the_pairs_use(shapes_dir):
    dataset = load_dataset(shapes_dir)
    decoded = dataset.load(PREP)
    pairs = PairSampler(10, seed=3).sample(dataset)
    images = StreamedImages(dataset, PREP)
    used, remapped = decode_pairs(images, pairs, workers=2)
    assert images.decoded == len(used) == len(np.unique(np.concatenate([pairs.first, pairs.second]))) < len(dataset)
    assert np.array_equal(used[remapped.first], decoded[pairs.first]) and np.array_equal(
        used[remapped.second], decoded[pairs.second]
    )
    assert np.array_equal(remapped.same, pairs.same)
    assert decode_pairs(decoded, pairs)[0] is decoded  # a decoded array is used as it is


@pytest.mark.parametrize("where", ["folder", "zip"])
def test_a_corrupt_image_is_named_when_streamed(where, shapes_copy, tmp_path):
    good = (shapes_copy / "lines" / "hline" / "00.png").read_bytes()
    (shapes_copy / "lines" / "hline" / "zz_broken.png").write_bytes(good[: len(good) // 2])
    data = shapes_copy if where == "folder" else _zip_folder(shapes_copy, tmp_path / "broken.zip")
    dataset = load_dataset(data)
    broken = next(i for i in range(len(dataset)) if dataset.name(i).endswith("zz_broken.png"))
    images = StreamedImages(dataset, PREP)
    assert images[[broken - 1]].shape == (1, 20, 20, 1)
    with pytest.raises(ImageError, match=f"{dataset.name(broken)}: truncated or corrupt PNG"):
        images[[broken - 1, broken]]


def test_a_damaged_zip_member_is_named_when_streamed(shapes_dir, tmp_path):
    archive = _zip_folder(shapes_dir, tmp_path / "shapes.zip")
    dataset = load_dataset(archive)
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("top/" + dataset.members[7][1])
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 40] ^= 0xFF  # one byte of the stored PNG flipped: its CRC-32 no longer matches
    archive.write_bytes(bytes(data))
    images = StreamedImages(load_dataset(archive), PREP)
    with pytest.raises(ImageError, match=f"{dataset.name(7)}: cannot be read .bad CRC-32"):
        images[[7]]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_zip_index_reads_what_zipfile_reads(compression, tmp_path):
    path = tmp_path / "a.zip"
    payloads = {f"c{i % 7}/{i:04d}.bin": np.random.default_rng(i).bytes(50 + i) * 3 for i in range(60)}
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("c0/", b"")  # a folder entry, left out
        for name, payload in payloads.items():
            archive.writestr(name, payload)
    index = ZipIndex(path)
    assert index.names == sorted(payloads)
    assert all(index.read(name) == payload for name, payload in payloads.items())
    with pytest.raises(FileNotFoundError, match="no member named 'c9/x.bin'"):
        index.read("c9/x.bin")


def test_zip_members_share_one_open_file_and_keep_little_per_member(tmp_path, monkeypatch):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(5000):
            archive.writestr(f"g{i % 5}/c{i // 10:04d}/{i % 10}.png", b"x" * 20)
    tracemalloc.start()
    try:
        index = ZipIndex(path)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held / len(index) < 250  # the names and a few numbers; zipfile keeps ~600 bytes of ZipInfo each
    import siamese.data.archives as archives

    opened = []
    real_open = archives.os.open
    monkeypatch.setattr(archives.os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    threads = [threading.Thread(target=lambda k=k: [index.read(n) for n in index.names[k::4]]) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert opened == [path]  # 5000 reads in 4 threads, one descriptor
