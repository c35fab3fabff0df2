"""`siamese serve --workers 2`: two processes on one port and one gallery answer as one, and one of
them killed mid-load leaves the other answering and the gallery whole. Real processes, real HTTP."""

import os
import signal
import threading
import time

import pytest

from siamese.gallery import Gallery, Store
from tests.service.conftest import Server, exchange, keys_create, request

DEADLINE = 120  # seconds for each wait below (a few on 2 idle cores)


def png(run01, k: int) -> tuple:
    return ("image", f"class{k:02d}.png", "image/png", (run01 / "training" / f"class{k:02d}.png").read_bytes())


@pytest.fixture
def two_workers(tmp_path):
    gallery_path = tmp_path / "g.db"
    Gallery.create(gallery_path, "omniglot").close()
    key = keys_create(gallery_path, "writer", "--write")
    server = Server(gallery_path, "--workers", "2").start()
    yield server, key
    server.stop()


def workers_seen(server, count: int = 2) -> set:
    """The pids of the workers, once `count` of them have answered /health."""
    seen, deadline = set(), time.monotonic() + DEADLINE
    while len(seen) < count and time.monotonic() < deadline:
        seen.add(request(server.url + "/health")[1]["worker"])
    assert len(seen) == count, f"only workers {seen} answered within {DEADLINE} s"
    return seen


def test_an_enrolment_answered_by_one_worker_is_found_at_once_by_the_other(two_workers, run01):
    server, key = two_workers
    workers_seen(server)
    identified = 0
    for k in range(1, 7):
        status, answer, headers = exchange(
            server.url + "/enroll", "POST", fields={"name": f"class{k:02d}"}, files=[png(run01, k)], key=key
        )
        assert status == 200, answer
        enrolled_by, others = headers["siamese-worker"], 0
        for _ in range(200):  # until another worker has answered (which one answers is the kernel's choice)
            status, answer, headers = exchange(server.url + "/identify", "POST", files=[png(run01, k)], key=key)
            assert status == 200 and answer["name"] == f"class{k:02d}", (k, headers["siamese-worker"], answer)
            identified += 1
            others += headers["siamese-worker"] != enrolled_by
            if others >= 2:
                break
        assert others >= 2, f"no other worker than {enrolled_by} answered 200 identifications"
    status, _, headers = exchange(server.url + "/identities/class03", "DELETE", key=key)
    assert status == 200
    forgotten_by, others = headers["siamese-worker"], 0
    for _ in range(200):
        status, answer, headers = exchange(server.url + "/identify", "POST", files=[png(run01, 3)], key=key)
        assert status == 200 and answer["name"] != "class03"
        identified += 1
        others += headers["siamese-worker"] != forgotten_by
        if others >= 2:
            break
    assert others >= 2
    for _ in range(4):  # whichever worker answers /metrics, it counts every worker's answers
        text = request(server.url + "/metrics")[1]
        assert f'siamese_requests_total{{method="POST",route="/identify",status="200"}} {identified}.0' in text


def test_a_worker_killed_mid_load_leaves_the_other_answering_and_no_enrolment_half_written(two_workers, run01):
    server, key = two_workers
    victim = sorted(workers_seen(server))[0]
    images = [png(run01, k) for k in (1, 2, 3)]
    answered, lost, news, stop = {}, [0], threading.Condition(), threading.Event()

    def client(worker):
        for i in range(10_000):
            if stop.is_set():
                return
            name, sent = f"w{worker}-{i:05d}", time.monotonic()
            try:
                status, _, headers = exchange(
                    server.url + "/enroll", "POST", fields={"name": name}, files=images, key=key, timeout=30
                )
            except OSError:  # the connection was the killed worker's
                with news:
                    lost[0] += 1
                continue
            with news:
                # when the request was sent: an answer read just after the kill may be one the victim gave before it
                answered[name] = (status, headers.get("siamese-worker"), sent)
                news.notify_all()

    def confirmed(after=float("-inf")):
        return [name for name, (status, _, when) in answered.items() if status == 200 and when > after]

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    try:
        with news:
            assert news.wait_for(lambda: len(confirmed()) >= 10, timeout=DEADLINE), "no load before the kill"
        os.kill(int(victim), signal.SIGKILL)
        killed_at = time.monotonic()
        with news:
            assert news.wait_for(lambda: len(confirmed(killed_at)) >= 20, timeout=DEADLINE), (
                f"only {len(confirmed(killed_at))} enrolments sent after the kill answered 200"
            )
        after = {worker for status, worker, when in answered.values() if when > killed_at}
        assert str(victim) not in after  # the requests sent after the kill were answered by the others
        assert all(status == 200 for status, _, _ in answered.values())  # every answer given was a 200
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert lost[0] <= 4  # at most the requests in flight on the killed worker, one per client
    counts = dict(Store(server.gallery).identities())
    assert all(counts.get(name) == 3 for name in confirmed())  # every enrolment answered 200 is there, whole
    assert set(counts.values()) == {3}  # nothing half-written: 3 embeddings or none
