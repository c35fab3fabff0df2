"""The gallery's lock is granted in the order it was asked for, and is a lock."""

import threading
import time

from siamese.service.turns import TurnLock


def test_waiters_get_the_lock_in_the_order_they_asked():
    lock, order = TurnLock(), []

    def worker(k):
        with lock:
            order.append(k)
            time.sleep(0.001)  # a while with the lock: the others queue behind

    lock.acquire()
    threads = []
    for k in range(20):
        threads.append(threading.Thread(target=worker, args=(k,)))
        threads[-1].start()
        while len(lock._waiting) < k + 1:  # this one is in line before the next asks
            time.sleep(0.0005)
    lock.release()
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(20))


def test_one_holder_at_a_time_and_a_try_that_does_not_wait():
    """Each holder lets the others run while it holds the lock (a sleep gives up the GIL): without a
    lock, or with one that lets two in, `most` passes 1 at once."""
    lock, inside, most = TurnLock(), [0], [0]

    def worker():
        for _ in range(25):
            with lock:
                inside[0] += 1
                time.sleep(0.0002)  # the other threads run now: any that got in too is counted
                most[0] = max(most[0], inside[0])
                inside[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most[0] == 1
    assert lock.acquire(blocking=False) and not lock.acquire(blocking=False)
    lock.release()
    assert lock.acquire(blocking=False)


def test_with_two_holders_two_are_in_at_once_never_three_and_the_rest_in_order():
    lock, inside, most, order = TurnLock(holders=2), [0], [0], []
    count = threading.Lock()

    def worker(k):
        with lock:
            with count:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                order.append(k)
            time.sleep(0.002)
            with count:
                inside[0] -= 1

    lock.acquire()
    lock.acquire()
    threads = []
    for k in range(12):
        threads.append(threading.Thread(target=worker, args=(k,)))
        threads[-1].start()
        while len(lock._waiting) < k + 1:
            time.sleep(0.0005)
    lock.release()
    lock.release()
    for thread in threads:
        thread.join(timeout=10)
    assert most[0] == 2 and sorted(order) == list(range(12))
    assert all(abs(position - k) <= 1 for position, k in enumerate(order))  # in turn (two at once may swap)
