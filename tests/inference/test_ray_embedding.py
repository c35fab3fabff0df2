"""`siamese embed DATA --ray 127.0.0.1:PORT` on a real Ray cluster of two nodes on this machine (a
head and a worker, one CPU each): the same shards, to 1e-6, as the one-process run and as `siamese
embed FILE.npy`; a corrupt image named and left out; a rerun that embeds nothing; an address where
no cluster answers refused in one line at once."""

import shutil
import socket

import numpy as np
import pytest

from siamese.cli import main
from siamese.inference.shards import iter_shards
from tests.conftest import write_shapes

ray = pytest.importorskip("ray", reason="Ray embedding needs ray[data] (the ray extra)")
pytest.importorskip("pyarrow", reason="embedding shards need pyarrow (the ray extra)")


@pytest.fixture(scope="module")
def cluster():
    """A head and a second worker node on this machine, one CPU each; torn down after."""
    from ray.cluster_utils import Cluster

    local = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    local.add_node(num_cpus=1)
    local.wait_for_nodes()
    yield local
    local.shutdown()


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """36 drawings and one corrupt PNG."""
    root = write_shapes(tmp_path_factory.mktemp("collection"), per_class=3)
    (root / "lines" / "hline" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return root


def loopback(cluster) -> str:
    """The head's address as a user on this machine types it."""
    return "127.0.0.1:" + cluster.address.rsplit(":", 1)[1]


def embed(*args) -> int:
    return main(["embed", *map(str, args), "--model", "omniglot", "--shard-size", "8", "--batch-size", "4"])


def read_all(folder):
    shards = list(iter_shards(folder))
    return [n for s in shards for n in s.names], np.concatenate([s.embeddings for s in shards])


def test_two_ray_workers_give_the_one_process_shards(cluster, collection, tmp_path, capsys):
    # Ray takes 127.0.0.1 for this machine's own address (and nodes bound to the loopback alone
    # cannot be joined by address), so the two nodes listen on it and the driver is given 127.0.0.1.
    head, second = cluster.list_all_nodes()
    assert head.node_ip_address == second.node_ip_address and head.unique_id != second.unique_id
    address = loopback(cluster)
    # one CPU each: the two actors of one CPU each run one on each node
    assert embed(collection, "--out", tmp_path / "ray", "--ray", address, "--actors", "2") == 0
    out = capsys.readouterr().out
    assert f"36 embeddings in 5 new shard(s) of 5 written to {tmp_path / 'ray'} on Ray ({address})" in out
    assert f"images left out: 1 (cannot be read or decoded)\n  {collection}/lines/hline/corrupt.png: truncated" in out
    assert embed(collection, "--out", tmp_path / "plain") == 0
    images = sorted(str(p) for p in collection.rglob("*.png") if p.name != "corrupt.png")
    assert embed(*images, "--out", tmp_path / "all.npy") == 0
    ray_names, ray_embeddings = read_all(tmp_path / "ray")
    plain_names, plain_embeddings = read_all(tmp_path / "plain")
    assert ray_names == plain_names == images
    np.testing.assert_allclose(ray_embeddings, plain_embeddings, atol=1e-6)
    np.testing.assert_allclose(ray_embeddings, np.load(tmp_path / "all.npy"), atol=1e-6)
    capsys.readouterr()
    assert embed(collection, "--out", tmp_path / "ray", "--ray", address) == 0
    assert "0 embeddings in 0 new shard(s) of 5" in capsys.readouterr().out


def test_a_rerun_on_ray_writes_only_the_shards_missing(cluster, collection, tmp_path, capsys):
    assert embed(collection, "--out", tmp_path / "shards") == 0
    (tmp_path / "shards" / "part-00001.parquet").unlink()
    shutil.copy(tmp_path / "shards" / "part-00002.parquet", tmp_path / "kept.parquet")
    capsys.readouterr()
    assert embed(collection, "--out", tmp_path / "shards", "--ray", loopback(cluster)) == 0
    assert "8 embeddings in 1 new shard(s) of 5" in capsys.readouterr().out
    assert (tmp_path / "shards" / "part-00002.parquet").read_bytes() == (tmp_path / "kept.parquet").read_bytes()
    assert len(read_all(tmp_path / "shards")[0]) == 36


def test_an_address_where_no_cluster_answers_is_one_line_at_once(collection, tmp_path, capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert embed(collection, "--out", tmp_path / "shards", "--ray", f"127.0.0.1:{port}") == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"siamese: error: --ray 127.0.0.1:{port}: no Ray cluster answers there (Connection refused); "
        "start one with `ray start --head`"
    )
