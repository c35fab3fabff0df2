"""Crash safety: the server killed with SIGKILL in the middle of enrolments, then started again."""

import threading

from siamese.gallery import Gallery, Store
from tests.service.conftest import Server, keys_create, request

DEADLINE = 120  # seconds for 20 enrolments (a few seconds on 2 cores)


def test_every_enrolment_is_whole_or_absent_after_a_kill(tmp_path, run01):
    gallery_path = tmp_path / "g.db"
    Gallery.create(gallery_path, "omniglot").close()
    key = keys_create(gallery_path, "writer", "--write")
    server = Server(gallery_path).start()
    images = [
        ("image", f"{k}.png", "image/png", (run01 / "training" / f"class{k:02d}.png").read_bytes()) for k in (1, 2, 3)
    ]
    # The clients write `answered` and `finished` under `news`, which also wakes the test: at the
    # 20th enrolment answered 200, when every client has given up, or at the deadline (a server
    # that hangs or fails then fails the test instead of hanging the suite).
    answered, finished, news, stop = {}, [], threading.Condition(), threading.Event()

    def client(worker):
        try:
            for i in range(1000):
                if stop.is_set():
                    return
                name = f"w{worker}-{i:04d}"
                try:
                    status, _ = request(
                        server.url + "/enroll", "POST", fields={"name": name}, files=images, key=key, timeout=10
                    )
                except OSError:  # the server went away mid-request
                    return
                with news:
                    answered[name] = status
                    news.notify_all()
        finally:
            with news:
                finished.append(worker)
                news.notify_all()

    def confirmed():
        return [name for name, status in answered.items() if status == 200]

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    try:
        with news:
            news.wait_for(lambda: len(confirmed()) >= 20 or len(finished) == len(threads), timeout=DEADLINE)
            statuses = sorted(set(answered.values()))
            assert len(confirmed()) >= 20, (
                f"only {len(confirmed())} enrolments answered 200 (answers seen: {statuses}; waited {DEADLINE} s at most)"
            )
    finally:
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    counts = dict(Store(gallery_path).identities())
    assert all(counts.get(name) == 3 for name in confirmed())  # every enrolment answered 200 is there, whole
    assert set(counts.values()) == {3}  # nothing half-written: 3 embeddings or none
    restarted = Server(gallery_path).start()
    try:
        status, answer = request(restarted.url + "/identify", "POST", files=images[:1], key=key)
        assert status == 200 and answer["name"] in counts and answer["known"]
        assert request(restarted.url + "/health")[1]["identities"] == len(counts)
    finally:
        restarted.stop()
