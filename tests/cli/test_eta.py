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


def test_the_first_steps_give_the_expected_time_of_all_steps_before_the_first_epoch_ends(monkeypatch):
    # Step 1 traces the graph (5 s) and is left out; steps 2-4 take 1.5 s together.
    clock = iter([0.0, 0.0, 5.0, 6.5])
    monkeypatch.setattr(eta.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    callback = eta.EpochEta(2, stream=stream, probe_steps=3)
    callback.set_params({"steps": 10, "epochs": 2})
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    for batch in range(6):
        callback.on_train_batch_end(batch)  # the clock is read after steps 1 and 4 only
    line = stream.getvalue()
    assert line.startswith("expected: about 8 s more of training steps (until ")  # 16 steps to go x 0.5 s
    assert "500 ms a step over the 3 after the first" in line
    assert line.count("\n") == 1  # said once
