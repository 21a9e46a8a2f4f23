"""The sender pool's scheduling (unit: plain threads and callables, no Redis, no HTTP): jobs
run in the order of their slots, none before its slot, whatever order they were submitted in."""

from __future__ import annotations

import threading
import time

import pytest

from whatsapp.services.outbound.pool import SlotPool


def test_jobs_run_by_slot_not_by_submission_order() -> None:
    """Two task threads submit interleaved chunks: a FIFO pool would let a thread sleep on the
    later chunk's slot while an earlier slot waited behind it. Here, with one thread, the
    earlier slots still go first and on time."""
    pool = SlotPool(size=1, name="test-slot-pool")
    started: list[tuple[str, float]] = []
    lock = threading.Lock()
    base = time.monotonic() + 0.2

    def job(name: str):
        def run() -> str:
            with lock:
                started.append((name, time.monotonic()))
            return name

        return run

    late = [pool.submit(base + 0.3 + 0.05 * i, job(f"late{i}")) for i in range(3)]
    early = [pool.submit(base + 0.05 * i, job(f"early{i}")) for i in range(3)]
    assert [f.result(timeout=5) for f in early + late] == [
        "early0", "early1", "early2", "late0", "late1", "late2",
    ]  # fmt: skip
    assert [name for name, _ in started] == [
        "early0", "early1", "early2", "late0", "late1", "late2",
    ]  # fmt: skip
    due = {f"early{i}": base + 0.05 * i for i in range(3)} | {
        f"late{i}": base + 0.3 + 0.05 * i for i in range(3)
    }
    for name, at in started:
        assert at >= due[name]  # never before its slot
        assert at - due[name] < 0.05  # and on time (the thread was free)


def test_a_failing_job_hands_its_exception_to_its_future_only() -> None:
    pool = SlotPool(size=2, name="test-slot-pool")

    def boom() -> None:
        raise ValueError("bad payload")

    failing = pool.submit(time.monotonic(), boom)
    fine = pool.submit(time.monotonic(), lambda: 42)
    with pytest.raises(ValueError, match="bad payload"):
        failing.result(timeout=5)
    assert fine.result(timeout=5) == 42
    assert pool.submit(time.monotonic(), lambda: "still serving").result(timeout=5)


def test_many_submitters_no_job_waits_past_its_slot() -> None:
    """Four task threads submit 100 jobs with shuffled slots over half a second to eight sender
    threads; each job takes 15 ms (a request on the wire), so about three run at once: every
    job runs, none early, and none waits long past its slot while a thread is idle (a lost
    wake-up would leave the jobs to the one thread that happened to be timed)."""
    import random

    pool = SlotPool(size=8, name="test-slot-pool")
    base = time.monotonic() + 0.1
    lateness: list[float] = []
    lock = threading.Lock()

    def job(due: float):
        def run() -> None:
            with lock:
                lateness.append(time.monotonic() - due)
            time.sleep(0.015)

        return run

    def submitter(seed: int) -> list:
        dues = [base + random.Random(seed * 1000 + i).random() * 0.5 for i in range(25)]
        return [pool.submit(due, job(due)) for due in dues]

    futures: list = []
    threads = [threading.Thread(target=lambda s=s: futures.extend(submitter(s))) for s in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in futures:
        future.result(timeout=5)
    assert len(lateness) == 100
    assert min(lateness) >= 0
    assert sorted(lateness)[-2] < 0.1, sorted(lateness)[-10:]
