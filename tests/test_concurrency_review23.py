"""Review 23, several docks at once: with the shared thread pool busy, an autosave queued behind
long runs never writes over newer edits, a run still waiting for a thread is cancelled at once,
Measure notices labels edited while it measured, and a closed dock handles no late result."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from qtpy.QtCore import QRunnable, QThreadPool

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.progress import Progress
from napari_microstructure.widgets._worker import MIN_THREADS


class _Hold(QRunnable):
    """Holds one thread of the shared pool until released."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def run(self) -> None:
        self.release.wait(60)


@pytest.fixture
def full_pool():
    """Every thread of the shared pool busy (as with long runs of other docks)."""
    pool = QThreadPool.globalInstance()
    pool.setMaxThreadCount(max(pool.maxThreadCount(), MIN_THREADS))
    release = threading.Event()
    holds = [_Hold(release) for _ in range(pool.maxThreadCount())]
    for hold in holds:
        hold.setAutoDelete(False)
        pool.start(hold)
    yield
    release.set()
    pool.waitForDone(10_000)


def test_closing_keeps_the_newest_edits_when_the_autosave_waited_for_a_thread(
    make_napari_viewer, tmp_path, settings_home, qtbot, full_pool
):
    from napari_microstructure.widgets.curate import CurateWidget

    widget = CurateWidget(make_napari_viewer(), autosave_ms=50)
    widget.open_project(tmp_path / "proj")
    a = widget.add_image(widget.viewer.add_image(np.zeros((32, 32), np.uint8), name="a"))
    labels = widget.layers_of(a)["instances"]
    labels.paint((3, 3), 1)
    qtbot.wait(300)  # the save of object 1 waits for a thread
    labels.paint((20, 20), 2)
    qtbot.wait(300)
    t0 = time.perf_counter()
    widget.flush()  # as on closing the window
    assert time.perf_counter() - t0 < 5  # was 30 s: it waited for the queued save
    QThreadPool.globalInstance().waitForDone(100)  # (the queued save may run now)
    qtbot.wait(300)
    saved = Project.open(tmp_path / "proj").load_labels(a).instances
    assert set(np.unique(saved)) == {0, 1, 2}
    widget.close()


def test_cancel_ends_a_run_that_waits_for_a_thread(
    make_napari_viewer, settings_home, qtbot, full_pool
):
    from napari_microstructure.widgets.detect import DetectWidget

    widget = DetectWidget(make_napari_viewer())

    def work():
        yield Progress(0, 1, "working")
        return "done"

    worker = widget._start(work, lambda _r: None, "Detect")
    qtbot.wait(50)  # (superqt hands the worker to the pool on the next event loop turn)
    widget.cancel()
    assert not widget.busy and widget.status == "Detect: cancelled"  # not after the others
    assert worker not in type(worker)._worker_set  # let go, with the image it holds


def test_labels_edited_while_measured_are_said_to_be(
    make_napari_viewer, settings_home, qtbot, monkeypatch
):
    import napari_microstructure.core.measure as core
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    grains = np.zeros((64, 64), np.uint32)
    grains[:32], grains[32:] = 1, 2
    layer = viewer.add_labels(grains, name="grains", scale=(0.5, 0.5))
    layer.features = {"index": [0, 1, 2], "class_name": ["", "grain", "grain"]}
    widget = MeasureWidget(viewer)
    gate = threading.Event()
    real = core.measure

    def slow(*args, **kwargs):
        gate.wait(10)
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(core, "measure", slow)
    assert widget.run() is not None
    layer.paint((10, 10), 3)  # a new object while it measures
    layer.features = {"index": [0, 1, 2, 3], "class_name": ["", "grain", "grain", "inclusion"]}
    gate.set()
    qtbot.waitUntil(lambda: not widget.busy, timeout=30_000)
    assert "labels changed since measured" in widget._summary_text.value
    assert "inclusion" in list(layer.features["class_name"])  # its class is kept


def test_a_closed_dock_handles_no_late_result(make_napari_viewer, settings_home, qtbot):
    from napari_microstructure.widgets.detect import DetectWidget

    widget = DetectWidget(make_napari_viewer())
    handled = []

    def work():
        yield Progress(0, 1, "working")
        return "result"

    worker = widget._start(work, handled.append, "Detect")
    qtbot.waitUntil(lambda: handled == ["result"], timeout=5000)
    widget.close()
    worker.returned.emit("late")  # a result already queued when the dock closed
    assert "late" not in handled
