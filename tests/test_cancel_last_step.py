"""Cancel pressed during a run's last step (after its last yield): superqt then emits neither
``returned`` nor ``aborted``, only ``finished``; the dock must not stay busy for good."""

from __future__ import annotations

import threading

from napari_microstructure.core.progress import Progress
from napari_microstructure.widgets._base import WorkerWidget


def _run_cancelled_in_last_step(dock, qtbot, last_step):
    in_last, release, done = threading.Event(), threading.Event(), []

    def make():
        yield Progress(1, 2, "half")
        in_last.set()  # the last step: no yield after this
        release.wait(10)
        return last_step()

    worker = dock._start(make, done.append, "job")
    qtbot.waitUntil(in_last.is_set, timeout=10_000)
    dock.cancel()  # the user presses Cancel during the last step
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        release.set()
    qtbot.wait(50)
    return done


def test_a_run_that_got_to_its_end_is_shown_and_the_dock_is_free(make_napari_viewer, qtbot):
    dock = WorkerWidget(make_napari_viewer())
    done = _run_cancelled_in_last_step(dock, qtbot, lambda: 42)
    assert done == [42] and not dock.busy and not dock._cancel.enabled
    assert dock.status == "job: done"
    again = dock._start(lambda: (yield Progress(1, 1)) or 1, done.append, "again")
    assert again is not None
    qtbot.waitUntil(lambda: not dock.busy, timeout=10_000)
    assert done == [42, 1]


def test_a_last_step_that_fails_is_reported_and_the_dock_is_free(make_napari_viewer, qtbot):
    dock = WorkerWidget(make_napari_viewer())

    def fail():
        raise ValueError("disk full")

    done = _run_cancelled_in_last_step(dock, qtbot, fail)
    assert done == [] and not dock.busy and dock.status == "job: failed"
