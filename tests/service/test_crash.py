"""Crash safety: the server killed with SIGKILL in the middle of enrolments, then started again."""

import threading

from siamese.gallery import Gallery, Store
from tests.service.conftest import Server, keys_create, request


def test_every_enrolment_is_whole_or_absent_after_a_kill(tmp_path, run01):
    gallery_path = tmp_path / "g.db"
    Gallery.create(gallery_path, "omniglot").close()
    key = keys_create(gallery_path, "writer", "--write")
    server = Server(gallery_path).start()
    images = [
        ("image", f"{k}.png", "image/png", (run01 / "training" / f"class{k:02d}.png").read_bytes()) for k in (1, 2, 3)
    ]
    answered, stop = {}, threading.Event()

    def client(worker):
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
            answered[name] = status

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    while sum(status == 200 for status in answered.values()) < 20:
        threading.Event().wait(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    counts = dict(Store(gallery_path).identities())
    confirmed = [name for name, status in answered.items() if status == 200]
    assert len(confirmed) >= 20
    assert all(counts.get(name) == 3 for name in confirmed)  # every enrolment answered 200 is there, whole
    assert set(counts.values()) == {3}  # nothing half-written: 3 embeddings or none
    restarted = Server(gallery_path).start()
    try:
        status, answer = request(restarted.url + "/identify", "POST", files=images[:1], key=key)
        assert status == 200 and answer["name"] in counts and answer["known"]
        assert request(restarted.url + "/health")[1]["identities"] == len(counts)
    finally:
        restarted.stop()
