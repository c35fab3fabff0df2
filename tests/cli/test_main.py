"""The `siamese` entry point itself: what reaches the user as one line, what keeps its traceback,
what goes to stdout, and the version."""

import importlib.metadata
import subprocess
import sys

import pytest

import siamese
from siamese.cli import main
from siamese.service import KeyStore


def test_a_bad_setting_exits_2_with_one_line(shapes_dir, tmp_path, capsys):
    """A setting out of range, caught by the library's check (a ConfigError), not by argparse."""
    image = shapes_dir / "polygons" / "square" / "00.png"
    assert main(["embed", str(image), "--out", str(tmp_path / "e.npy"), "--batch-size", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "siamese: error: batch_size must be at least 1, got 0\n"
    assert not (tmp_path / "e.npy").exists()


def test_an_option_argparse_cannot_read_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["embed", "a.png", "--out", "e.npy", "--batch-size", "many"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("siamese: error: argument --batch-size: invalid int value")


def test_an_error_that_is_not_the_users_keeps_its_traceback(tmp_path, capsys, monkeypatch):
    """A bug in the library (here a ValueError from inside it) must not read as bad input."""
    assert main(["keys", "create", "--gallery", str(tmp_path / "g.db"), "someone"]) == 0

    def broken(self):
        raise ValueError("a bug deep in the key store")

    monkeypatch.setattr(KeyStore, "list", broken)
    capsys.readouterr()
    with pytest.raises(ValueError, match="a bug deep in the key store"):
        main(["keys", "list", "--gallery", str(tmp_path / "g.db")])
    assert "siamese: error" not in capsys.readouterr().err


def test_keys_create_puts_the_key_alone_on_stdout(tmp_path, capsys):
    """So that KEY=$(siamese keys create ...) captures the key and nothing else; the note goes to stderr."""
    gallery = tmp_path / "g.db"
    assert main(["keys", "create", "--gallery", str(gallery), "reader"]) == 0
    captured = capsys.readouterr()
    key = captured.out.removesuffix("\n")
    assert "\n" not in key and key.strip() == key and len(key) >= 32
    assert "'reader', read only; shown once" in captured.err
    store = KeyStore(gallery)
    try:
        assert store.check(key).name == "reader" and store.check(key + "x") is None
    finally:
        store.close()


def test_version_prints_the_package_version():
    result = subprocess.run([sys.executable, "-m", "siamese", "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == f"siamese {siamese.__version__}\n"
    assert siamese.__version__ == importlib.metadata.version("siamese")  # the package's own, stated once
