"""Embedding a collection into Parquet shards in one process: the same embeddings as `siamese embed
FILE.npy`, a rerun that skips what is written, bad images named and left out, folders, zips and
list files alike, and `siamese enroll --shards` that refuses another model's shards."""

import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from siamese.cli import main
from siamese.inference import load_model
from siamese.inference.shards import iter_shards, read_shard
from tests.conftest import REPO, write_shapes

pytest.importorskip("pyarrow", reason="embedding shards need pyarrow (the ray extra)")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """36 drawings: 12 classes of 3, group/class/NN.png."""
    return write_shapes(tmp_path_factory.mktemp("collection"), per_class=3)


def all_images(root):
    return sorted(str(p) for p in root.rglob("*.png"))


def embed(*args) -> int:
    return main(["embed", *map(str, args), "--model", "omniglot", "--shard-size", "10"])


def read_all(folder):
    shards = list(iter_shards(folder))
    return [n for s in shards for n in s.names], np.concatenate([s.embeddings for s in shards]), shards


def test_shards_hold_what_embed_npy_gives_and_a_rerun_skips_them(shapes, tmp_path, capsys):
    assert embed(shapes, "--out", tmp_path / "shards") == 0
    assert embed(*all_images(shapes), "--out", tmp_path / "all.npy") == 0
    names, embeddings, shards = read_all(tmp_path / "shards")
    assert names == all_images(shapes)
    np.testing.assert_allclose(embeddings, np.load(tmp_path / "all.npy"), atol=1e-6)
    assert [len(s.names) for s in shards] == [10, 10, 10, 6]
    assert {s.model_id for s in shards} == {load_model("omniglot").model_id}
    capsys.readouterr()
    times = [s.path.stat().st_mtime_ns for s in shards]
    assert embed(shapes, "--out", tmp_path / "shards") == 0
    assert "0 embeddings in 0 new shard(s) of 4" in capsys.readouterr().out
    assert [s.path.stat().st_mtime_ns for s in shards] == times


def test_a_shard_whose_images_changed_is_written_again(shapes, tmp_path, capsys):
    data = shutil.copytree(shapes, tmp_path / "data")
    assert embed(data, "--out", tmp_path / "shards") == 0
    os.remove(all_images(data)[-1])  # the last shard loses an image; the others keep theirs
    capsys.readouterr()
    assert embed(data, "--out", tmp_path / "shards") == 0
    assert "5 embeddings in 1 new shard(s) of 4" in capsys.readouterr().out
    assert read_all(tmp_path / "shards")[0] == all_images(data)


def test_bad_images_are_named_and_left_out(shapes, tmp_path, capsys):
    data = shutil.copytree(shapes, tmp_path / "data")
    (data / "lines" / "hline" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (data / "lines" / "hline" / "notes.png").write_text("not an image at all")
    listing = tmp_path / "list.txt"
    listing.write_text("# a list of images\ndata/curves/arc/00.png\n\ndata/curves/arc/missing.png\n")
    assert embed(data, listing, "--out", tmp_path / "shards") == 0
    out = capsys.readouterr().out
    assert "images left out: 3" in out
    problems = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert problems == [
        f"{data}/lines/hline/corrupt.png: truncated or corrupt PNG",
        f"{data}/lines/hline/notes.png: not an image (text)",
        f"{tmp_path}/data/curves/arc/missing.png: cannot be read (No such file or directory)",
    ]
    names, embeddings, shards = read_all(tmp_path / "shards")
    assert len(names) == 37 and not any("corrupt" in n or "notes" in n or "missing" in n for n in names)
    assert sum(len(s.failed) for s in shards) == 3


def test_a_zip_and_a_list_file_give_the_folders_embeddings(shapes, tmp_path):
    archive = tmp_path / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in all_images(shapes):
            out.write(path, "top/" + os.path.relpath(path, shapes))
    listing = shapes.parent / "list.txt"
    listing.write_text("\n".join(os.path.relpath(p, shapes.parent) for p in all_images(shapes)))
    for name, data in (("folder", shapes), ("zip", archive), ("list", listing)):
        assert embed(data, "--out", tmp_path / name) == 0
    folder, zipped, listed = (read_all(tmp_path / name) for name in ("folder", "zip", "list"))
    assert zipped[0][0] == f"{archive}:top/curves/arc/00.png"
    assert listed[0] == folder[0]
    np.testing.assert_allclose(zipped[1], folder[1], atol=1e-6)
    np.testing.assert_allclose(listed[1], folder[1], atol=1e-6)


def test_enroll_from_shards_names_identities_by_folder_and_refuses_another_model(shapes, tmp_path, capsys):
    assert embed(shapes, "--out", tmp_path / "shards") == 0
    assert main(["enroll", "--gallery", str(tmp_path / "g.db"), "--shards", str(tmp_path / "shards")]) == 0
    assert "enrolled 12 identities: 36 embedding(s)" in capsys.readouterr().out
    assert main(["identify", "--gallery", str(tmp_path / "g.db"), str(shapes / "curves" / "wave" / "01.png")]) == 0
    assert capsys.readouterr().out.startswith("wave ")
    other = tmp_path / "other.db"
    assert main(["enroll", "--gallery", str(other), "--model", "signatures", "x", all_images(shapes)[0]]) == 0
    capsys.readouterr()
    assert main(["enroll", "--gallery", str(other), "--shards", str(tmp_path / "shards")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("siamese: error: ") and "\n" not in error
    assert "part-00000.parquet: embeddings of model" in error and "do not compare" in error
    assert main(["gallery", "--gallery", str(other)]) == 0
    assert "1 identities, 1 embeddings" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--model", "signatures"], "part-00000.parquet: embeddings of model"),
        (["--out-npy"], "shards go to a folder, not a .npy file"),
        (["--shard-size", "0"], "shard_size must be at least 1, got 0"),
    ],
)
def test_bad_sharded_runs_exit_2_with_one_line(shapes, tmp_path, capsys, args, fragment):
    assert embed(shapes, "--out", tmp_path / "shards") == 0
    out = tmp_path / ("x.npy" if args == ["--out-npy"] else "shards")
    extra = [] if args == ["--out-npy"] else args
    capsys.readouterr()
    assert main(["embed", str(shapes), "--out", str(out), "--model", "omniglot", *extra]) == 2
    error = capsys.readouterr().err.strip()
    assert fragment in error and "\n" not in error


def test_read_shard_refuses_a_file_that_is_not_one(tmp_path):
    from siamese.errors import ShardError

    (tmp_path / "part-00000.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ShardError, match="not an embedding shard"):
        read_shard(tmp_path / "part-00000.parquet")


def test_sharded_embedding_imports_neither_tensorflow_nor_ray(shapes, tmp_path):
    code = (
        "import sys\nfrom siamese.cli import main\n"
        f"assert main(['embed', {str(shapes)!r}, '--out', {str(tmp_path / 's')!r}, '--model', 'omniglot']) == 0\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'ray') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
