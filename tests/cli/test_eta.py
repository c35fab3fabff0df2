"""The line after each training epoch: its time, and the time left from the mean epoch so far."""

import io

from siamese.cli import eta


def test_the_time_left_is_the_mean_epoch_times_the_epochs_left(monkeypatch):
    clock = iter([0.0, 0.0, 30.0, 30.0, 90.0, 90.0, 120.0])  # epochs of 30, 60 and 30 s
    monkeypatch.setattr(eta.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    callback = eta.EpochEta(4, stream=stream)
    callback.on_train_begin()
    for epoch in range(3):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/4 in 30 s; about 1 min 30 s to go (until ")
    assert lines[1].startswith("epoch 2/4 in 1 min 00 s; about 1 min 30 s to go")  # 45 s an epoch x 2 left
    assert lines[2].startswith("epoch 3/4 in 30 s; about 40 s to go")


def test_a_resumed_run_counts_from_the_epoch_it_goes_on_from(monkeypatch):
    clock = iter([0.0, 0.0, 20.0])
    monkeypatch.setattr(eta.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    callback = eta.EpochEta(10, stream=stream)
    callback.on_train_begin()
    callback.on_epoch_begin(8)
    callback.on_epoch_end(8)
    assert stream.getvalue().startswith("epoch 9/10 in 20 s; about 20 s to go")
