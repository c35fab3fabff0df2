"""ONNX Runtime's intra-op threads come from $SIAMESE_ONNX_THREADS (several server processes share the cores)."""

import pytest

from siamese.errors import ConfigError
from siamese.inference import load_model


@pytest.mark.parametrize("value, threads", [("1", 1), ("3", 3), ("0", 0), ("", 0)])
def test_the_session_takes_the_threads_it_is_given(monkeypatch, value, threads):
    monkeypatch.setenv("SIAMESE_ONNX_THREADS", value)
    model = load_model("omniglot", engine="onnx")
    assert model._engine.session.get_session_options().intra_op_num_threads == threads


def test_a_wrong_number_of_threads_is_one_line(monkeypatch):
    monkeypatch.setenv("SIAMESE_ONNX_THREADS", "many")
    with pytest.raises(ConfigError, match="SIAMESE_ONNX_THREADS must be a whole number of threads .* got 'many'"):
        load_model("omniglot", engine="onnx")
