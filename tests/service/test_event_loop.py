"""The event loop stays free: `/health` answers at once while every request in the service is busy
decoding and embedding large uploads. A real server on 127.0.0.1, real HTTP clients."""

import threading
import time

import cv2
import numpy as np

from siamese.gallery import Gallery
from tests.service.conftest import Server, keys_create, request

CLIENTS = 24  # each sends a 2000 x 2000 PNG (about 50 ms to decode) as soon as the last is answered
HEALTH_BOUND = 0.25  # seconds; with the work on the loop /health waits for the requests queued before it


def large_png() -> bytes:
    rng = np.random.default_rng(0)
    ramp = (np.add.outer(np.arange(2000), np.arange(2000)) % 256).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", ramp + rng.integers(0, 8, ramp.shape, dtype=np.uint8))
    return encoded.tobytes()


def test_health_answers_within_a_bound_while_the_service_is_saturated(tmp_path, run01):
    gallery_path = tmp_path / "g.db"
    gallery = Gallery.create(gallery_path, "omniglot")
    gallery.enroll("class01", [run01 / "training" / "class01.png"])
    gallery.close()
    key = keys_create(gallery_path, "reader")
    server = Server(gallery_path).start()
    upload = [("image", "large.png", "image/png", large_png())]
    slow, stop, busy, in_flight = [], threading.Event(), threading.Condition(), [0]

    def client():
        while not stop.is_set():
            start = time.perf_counter()
            with busy:
                in_flight[0] += 1
                busy.notify_all()
            status, answer = request(server.url + "/identify", "POST", files=upload, key=key)
            with busy:
                in_flight[0] -= 1
            assert status == 200, answer
            slow.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        with busy:  # every client has a request out, and the first answers have come back
            assert busy.wait_for(lambda: in_flight[0] == CLIENTS and len(slow) >= 2 * CLIENTS // 3, timeout=120)
        health, waiting = [], []
        for _ in range(10):
            waiting.append(in_flight[0])  # requests out as /health is asked
            start = time.perf_counter()
            status, answer = request(server.url + "/health", timeout=30)
            health.append(time.perf_counter() - start)
            assert status == 200 and answer["identities"] == 1
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert min(waiting) >= CLIENTS - 4, f"the service was not saturated: {waiting} requests out"
    assert len(slow) >= CLIENTS and np.median(slow) > HEALTH_BOUND, "the service was not saturated"
    assert max(health) < HEALTH_BOUND, f"/health took {max(health):.2f} s under load (bound {HEALTH_BOUND} s)"
