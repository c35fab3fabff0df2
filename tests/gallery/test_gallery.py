"""The gallery with the shipped model on the bundled one-shot runs: enrol, identify, forget;
what is stored, what is left after forgetting, and who may use the file. What every gallery
does runs on both stores (`gallery_at`: SQLite and PostgreSQL); the file's own promises on SQLite."""

import os
import re
import sqlite3
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from siamese.cli import main
from siamese.errors import GalleryError, ImageError, UnknownIdentityError
from siamese.gallery import UNKNOWN, Gallery, open_store
from tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def run01(tmp_path_factory):
    """run01 unpacked, and its answers: test item -> the training image (class) of the same character."""
    root = tmp_path_factory.mktemp("run")
    with zipfile.ZipFile(BUNDLED / "all_runs.zip") as archive:
        archive.extractall(root, members=[n for n in archive.namelist() if n.startswith("run01/")])
        lines = archive.read("run01/class_labels.txt").decode().split()
    answers = {root / item: os.path.basename(cls)[:-4] for item, cls in zip(lines[::2], lines[1::2])}
    return root / "run01", answers


def _enrol_half(path, run):
    """Characters class01..class10 enrolled (one drawing each); class11..class20 never."""
    folder, _ = run
    gallery = Gallery.create(path, "omniglot")
    for k in range(1, 11):
        gallery.enroll(f"class{k:02d}", [folder / "training" / f"class{k:02d}.png"])
    return gallery


def test_enrolled_characters_are_found_and_strangers_are_unknown(run01, gallery_at):
    gallery = _enrol_half(gallery_at, run01)
    assert gallery.model.engine == "onnx" and len(gallery.identities()) == 10
    found = strangers = 0
    for item, answer in run01[1].items():
        result = gallery.identify(item, top=3)
        assert len(result.candidates) == 3 and result.candidates[0].distance <= result.candidates[1].distance
        if int(answer[-2:]) <= 10:
            found += result.name == answer
        else:
            strangers += result.name == UNKNOWN and not result.known
    assert found >= 9 and strangers >= 7, (found, strangers)


def test_the_cli_flow_enrol_identify_forget_list(run01, gallery_at, capsys):
    folder, _ = run01
    g = gallery_at
    for k in (6, 18):
        assert main(["enroll", "--gallery", g, f"class{k:02d}", str(folder / "training" / f"class{k:02d}.png")]) == 0
    assert "new gallery" in capsys.readouterr().out
    assert (
        main(["identify", "--gallery", g, str(folder / "test" / "item06.png"), "--top", "2"]) == 0
    )  # item06 is class18's character
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0].startswith("class18 (distance ")
        and lines[1].startswith("  1. class18  ")
        and lines[2].startswith("  2. class06  ")
    )
    assert main(["gallery", "--gallery", g]) == 0
    listing = capsys.readouterr().out
    assert "2 identities, 2 embeddings" in listing and "  class18  1" in listing and "(omniglot)" in listing
    assert main(["forget", "--gallery", g, "class18"]) == 0
    assert "forgot class18: 1 embedding(s) removed" in capsys.readouterr().out
    assert main(["identify", "--gallery", g, str(folder / "test" / "item06.png")]) == 0
    assert capsys.readouterr().out.startswith("unknown (distance ")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["forget", "--gallery", "{g}", "nobody"], "no identity named 'nobody'"),
        (["identify", "--gallery", "{tmp}/none.db", "{image}"], "none.db: no such gallery"),
        (["identify", "--gallery", "{g}", "{tmp}/missing.png"], "missing.png: no such file"),
        (["enroll", "--gallery", "{g}", "unknown", "{image}"], "name 'unknown': must be"),
        (["enroll", "--gallery", "{text}", "x", "{image}"], "not a siamese gallery"),
    ],
)
def test_bad_gallery_input_exits_2_with_one_line(run01, tmp_path, capsys, args, fragment):
    image = run01[0] / "training" / "class01.png"
    g = tmp_path / "g.db"
    Gallery.create(g, "omniglot").enroll("someone", [image])
    (tmp_path / "text.db").write_text("not a database at all, but long enough to be read as one" * 20)
    args = [a.format(g=g, tmp=tmp_path, image=image, text=tmp_path / "text.db") for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("siamese: error: ") and fragment in err


def test_only_embeddings_are_stored_and_an_enrolment_is_all_or_nothing(run01, tmp_path):
    folder, _ = run01
    gallery = Gallery.create(tmp_path / "g.db", "omniglot")
    gallery.enroll("a", [folder / "training" / "class01.png", folder / "training" / "class02.png"])
    with pytest.raises(ImageError):
        gallery.enroll("b", [folder / "training" / "class03.png", tmp_path / "missing.png"])
    assert gallery.identities() == [("a", 2)]
    gallery.close()
    db = sqlite3.connect(tmp_path / "g.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(db.execute("SELECT key, value FROM meta"))["schema_version"] == "1"
    assert [len(v) for (v,) in db.execute("SELECT vector FROM embeddings")] == [
        384 * 4,
        384 * 4,
    ]  # the shipped ensemble: three 128-d towers
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"\x89PNG" not in data and (folder / "training" / "class01.png").read_bytes()[100:140] not in data


def test_forget_leaves_no_bytes_of_the_person_in_any_file(run01, tmp_path):
    folder, _ = run01
    gallery = Gallery.create(tmp_path / "g.db", "omniglot")
    gallery.enroll("kept", [folder / "training" / "class01.png"])
    gallery.enroll("zq-forgotten-person", [folder / "training" / "class02.png", folder / "training" / "class03.png"])
    vectors = gallery.model.embed([folder / "training" / "class02.png", folder / "training" / "class03.png"])
    files = lambda: b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())  # noqa: E731
    assert b"zq-forgotten-person" in files() and vectors[0].tobytes()[:64] in files()
    assert gallery.forget("zq-forgotten-person") == 2
    left = files()
    assert b"zq-forgotten-person" not in left
    for vector in vectors:
        assert vector.tobytes()[:64] not in left
    assert gallery.identify(folder / "training" / "class02.png").candidates[0].name == "kept"


def test_forgetting_an_unknown_name_is_its_own_error(run01, gallery_at):
    """The service answers 404 by this type, not by the words of the message."""
    gallery = Gallery.create(gallery_at, "omniglot")
    gallery.enroll("someone", [run01[0] / "training" / "class01.png"])
    with pytest.raises(UnknownIdentityError, match=re.escape(gallery_at) + r": no identity named 'nobody'"):
        gallery.forget("nobody")
    assert gallery.identities() == [("someone", 1)]


def test_a_gallery_refuses_another_model(run01, gallery_at, trained_model_path):
    gallery = _enrol_half(gallery_at, run01)
    gallery.close()
    with pytest.raises(
        GalleryError,
        match=re.escape(gallery_at)
        + r": holds embeddings of model [0-9a-f]{12} \(omniglot\); .* embeddings of two models do not compare",
    ):
        Gallery.open(gallery_at, trained_model_path)
    assert Gallery.open(gallery_at).model.model_id == open_store(gallery_at).model_id


def test_the_index_follows_the_database_whatever_its_file_says(run01, tmp_path):
    folder, answers = run01
    gallery = _enrol_half(tmp_path / "g.db", run01)
    index_file = tmp_path / "g.db.index.npz"
    item = folder / "test" / "item06.png"
    expected = gallery.identify(item)
    for damage in (lambda: index_file.unlink(), lambda: index_file.write_bytes(b"garbage")):
        damage()
        fresh = Gallery.open(tmp_path / "g.db")
        assert fresh.identify(item) == expected and index_file.is_file()
    stale = index_file.read_bytes()
    gallery.enroll("class11", [folder / "training" / "class11.png"])
    gallery.close()
    index_file.write_bytes(stale)  # an index of an older generation: extended with what came since
    assert Gallery.open(tmp_path / "g.db").identify(folder / "training" / "class11.png").name == "class11"
    reopened = Gallery.open(tmp_path / "g.db")
    reopened.forget("class01")
    index_file.write_bytes(stale)  # an index that still holds someone forgotten: rebuilt without them
    later = Gallery.open(tmp_path / "g.db")
    assert later.identify(folder / "training" / "class01.png").candidates[0].name != "class01"
    assert sorted(later.index.ids.tolist()) == sorted(later.store.vectors()[0].tolist())


def test_two_processes_see_each_others_enrolments(run01, gallery_at):
    folder, _ = run01
    reader = _enrol_half(gallery_at, run01)
    assert reader.identify(folder / "training" / "class15.png").name == UNKNOWN
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    other = subprocess.run(
        [
            sys.executable,
            "-m",
            "siamese",
            "enroll",
            "--gallery",
            gallery_at,
            "class15",
            str(folder / "training" / "class15.png"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 0, other.stderr
    assert reader.identify(folder / "training" / "class15.png").name == "class15"
    reader.forget("class15")
    listing = subprocess.run(
        [sys.executable, "-m", "siamese", "gallery", "--gallery", gallery_at],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "10 identities" in listing.stdout and "class15" not in listing.stdout


def test_several_images_per_person_count_once(run01, gallery_at):
    folder, _ = run01
    gallery = Gallery.create(gallery_at, "omniglot")
    gallery.enroll("many", [folder / "training" / f"class{k:02d}.png" for k in (1, 2, 3)])
    gallery.enroll("one", [folder / "training" / "class04.png"])
    result = gallery.identify(folder / "training" / "class02.png", top=5)
    assert [c.name for c in result.candidates] == ["many", "one"] and result.candidates[0].distance == pytest.approx(
        0.0, abs=1e-5
    )
    assert np.isfinite(result.distance)


def test_a_close_after_another_workers_forget_writes_no_forgotten_embedding_back(run01, tmp_path):
    """Worker 1 extends its index (unsaved); worker 2 forgets someone; worker 1 closes: the file must
    not hold the forgotten person again (it used to: the index was saved as it was in memory)."""
    folder, _ = run01
    first = _enrol_half(tmp_path / "g.db", run01)
    first.close()
    one, two = Gallery.open(tmp_path / "g.db"), Gallery.open(tmp_path / "g.db")
    one.identify(folder / "training" / "class01.png")  # its index loaded
    one.enroll("zq-late", [folder / "training" / "class12.png"])  # extends it, unsaved
    forgotten = one.model.embed(folder / "training" / "class03.png")[0]
    two.forget("class03")
    two.close()
    one.close()
    index_file = (tmp_path / "g.db.index.npz").read_bytes()
    assert forgotten.tobytes()[:64] not in index_file
    assert Gallery.open(tmp_path / "g.db").identify(folder / "training" / "class12.png").name == "zq-late"


def test_a_forget_drops_rows_from_the_indexes_never_reading_every_embedding(run01, tmp_path, monkeypatch):
    """Forgetting one person used to rebuild the index from every stored embedding, under the lock
    every search waits for (minutes at a million): now the forgetting worker and any other drop
    only that person's rows."""
    folder, _ = run01
    one = _enrol_half(tmp_path / "g.db", run01)
    one.close()
    one, two = Gallery.open(tmp_path / "g.db"), Gallery.open(tmp_path / "g.db")
    probe = folder / "training" / "class02.png"
    assert one.identify(probe).name == two.identify(probe).name == "class02"  # both indexes loaded
    for worker in (one, two):
        monkeypatch.setattr(worker.store, "vectors", lambda: pytest.fail("every embedding read to forget one person"))
    assert one.forget("class02") == 1
    for worker in (one, two):
        assert worker.identify(probe).candidates[0].name != "class02" and worker.index.size == 9
    assert two.identify(folder / "training" / "class03.png").name == "class03"


def test_two_first_enrolments_at_once_both_find_the_gallery(run01, gallery_at, monkeypatch):
    """Both looked before either made it: the second to make it opens the first's, no raw database error."""
    import siamese.gallery.gallery as gallery_module

    first = Gallery.open_or_create(gallery_at, "omniglot")
    first.enroll("class01", [run01[0] / "training" / "class01.png"])
    looks, real = [], gallery_module.store_exists

    def store_exists(location):  # the second's first look was taken before the first made it
        looks.append(location)
        return len(looks) > 1 and real(location)

    monkeypatch.setattr(gallery_module, "store_exists", store_exists)
    second = Gallery.open_or_create(gallery_at, "omniglot")
    assert second.identities() == [("class01", 1)] and len(looks) == 2
    first.close()
    second.close()


def test_the_gallery_lock_is_held_to_search_and_write_not_to_embed(run01, tmp_path):
    """With the lock taken elsewhere, an identification embeds its image, then waits for the lock to search."""
    import threading

    folder, _ = run01
    gallery = _enrol_half(tmp_path / "g.db", run01)
    embedded, answers, embed = threading.Event(), [], gallery.model.embed

    def spied(*args, **kwargs):
        result = embed(*args, **kwargs)
        embedded.set()
        return result

    gallery.model.embed = spied
    with gallery.lock:
        worker = threading.Thread(target=lambda: answers.append(gallery.identify(folder / "training" / "class04.png")))
        worker.start()
        assert embedded.wait(timeout=30), "the image was not embedded while another held the lock"
        worker.join(timeout=0.5)
        assert worker.is_alive() and not answers  # the search waits for the lock
    worker.join(timeout=30)
    assert answers and answers[0].name == "class04"


def test_enrolling_from_shards_checks_every_name(run01, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from siamese.inference.shards import write_shard

    folder, _ = run01
    gallery = Gallery.create(tmp_path / "g.db", "omniglot")
    vectors = gallery.model.embed([folder / "training" / "class01.png", folder / "training" / "class02.png"])
    model_id = gallery.model.model_id
    gallery.close()
    shard = tmp_path / "shards" / "part-00000.parquet"
    shard.parent.mkdir()
    names = ["unknown/a.png", "bob/b.png"]  # "unknown" is what identify answers for a stranger: no one's name
    write_shard(shard, names, vectors, model_id=model_id, model="omniglot", images_sha256="0" * 64)
    code = main(["enroll", "--gallery", str(tmp_path / "g.db"), "--shards", str(shard.parent)])
    assert code == 2 and "name 'unknown': must be 1 to 200 printable characters" in capsys.readouterr().err
