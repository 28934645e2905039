"""A finished worker lets go of its run's data; closing the window stops a Curate training.

napari lists every worker it makes in its window's task list and never drops it: what the
worker's function, arguments and handlers refer to must not stay in memory with it (4 MiB of
labels per autosave of a 1024 x 1024 image, a Segment Anything engine per image clicked).
"""

from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest

from napari_microstructure.core.progress import Progress


class Payload:
    """Stands for what a run's handlers hold (a layer and its pixels)."""


def _gone(ref: weakref.ref) -> bool:
    gc.collect()
    return ref() is None


@pytest.mark.parametrize("end", ["done", "failed", "cancelled"])
def test_a_finished_run_lets_go_of_its_data(make_napari_viewer, qtbot, wait_idle, end):
    from napari_microstructure.widgets.measure import MeasureWidget

    widget = MeasureWidget(make_napari_viewer())
    payload, results = Payload(), []

    def steps(held=payload):
        for _ in range(200 if end == "cancelled" else 1):
            yield Progress(0, 1, "working")
            time.sleep(0.01)
        if end == "failed":
            raise ValueError("no")
        return held  # the result is the payload too

    worker = widget._start(steps, lambda r, held=payload: results.append(r is held), "Job")
    if end == "cancelled":
        qtbot.wait(50)
        widget.cancel()
    wait_idle(widget, 10_000)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=5000)
    qtbot.wait(50)  # the finished signal's handlers
    assert results == ([True] if end == "done" else [])
    ref = weakref.ref(payload)
    del payload, steps
    assert _gone(ref)  # was held by the handlers of the worker napari keeps


def test_autosave_lets_go_of_the_labels_it_wrote(
    make_napari_viewer, tmp_path, settings_home, qtbot, monkeypatch
):
    from napari_microstructure.core.curate import Project
    from napari_microstructure.widgets.curate import CurateWidget

    written: list[weakref.ref] = []
    real_save = Project.save_labels

    def save(self, image_id, **changes):
        written.extend(weakref.ref(v) for v in changes.values() if isinstance(v, np.ndarray))
        return real_save(self, image_id, **changes)

    monkeypatch.setattr(Project, "save_labels", save)
    widget = CurateWidget(make_napari_viewer(), autosave_ms=50)
    widget.open_project(tmp_path / "proj")
    a = widget.add_image(widget.viewer.add_image(np.zeros((64, 64), np.uint8), name="a"))
    layer = widget.layers_of(a)["instances"]
    for i in range(3):
        rev = widget.saved_rev
        layer.paint((10 + 10 * i, 10), i + 1)
        qtbot.waitUntil(
            lambda rev=rev: widget.saved_rev > rev and not widget.unsaved, timeout=10_000
        )
    qtbot.wait(50)
    assert len(written) == 3
    gc.collect()
    kept = sum(r() is not None for r in written)
    assert kept == 0, kept  # the copies the writes took, each kept by its worker before
    widget.close()


def test_a_click_prediction_lets_go_of_its_engine(make_napari_viewer, qtbot):
    from napari_microstructure.widgets._refine_clicks import ClickQueue, ClickRequest

    make_napari_viewer()  # napari lists the workers of the current viewer's window
    got: list[int] = []

    class Engine:
        def predict(self, points, labels):
            return np.ones((1, 4, 4), bool), np.ones(1)

    queue = ClickQueue(lambda r, masks, scores: got.append(r.label), lambda r, e: None)
    engine = Engine()
    empty = np.zeros((0, 2)), np.zeros(0)
    for label in (1, 2):
        queue.submit(engine, ClickRequest(label, object(), *empty, "grain", engine=engine))
    qtbot.waitUntil(lambda: not queue.busy, timeout=10_000)
    qtbot.wait(50)
    assert got == [1, 2]
    ref = weakref.ref(engine)
    del engine
    assert _gone(ref)  # each image's engine (its embedding) was kept by its click's worker


def test_train_job_yields_while_waiting(tmp_path):
    """A step at least every 0.2 s, so that a worker's quit takes effect mid-epoch."""
    from napari_microstructure.core.curate import train as T

    data = tmp_path / "data.yaml"
    data.write_text("path: .\n", encoding="utf-8")
    job = T.TrainJob(data, tmp_path / "run", epochs=1)
    started = threading.Event()

    def train():  # an epoch of 3 s, with no news until it ends or is cancelled
        started.set()
        end = time.monotonic() + 3
        while not job.cancelled and time.monotonic() < end:
            time.sleep(0.01)
        job._events.put(("cancelled", None))

    job._train = train
    gen = job.run()
    assert isinstance(next(gen), Progress)
    t0 = time.monotonic()
    assert next(gen, "ended") is None and started.is_set()  # was: nothing until the epoch ended
    assert time.monotonic() - t0 < 1
    gen.close()  # stops and joins the training thread
    assert job.cancelled


BATCHES, BATCH_S = 40, 0.1
LOG: list[float] = []


def _fake_train(self):
    """An epoch of 40 batches (ultralytics' loop with the dock's batch callback)."""
    from napari_microstructure.core.curate import train as T

    try:
        for epoch in range(self.epochs):
            for _ in range(BATCHES):
                time.sleep(BATCH_S)
                LOG.append(time.monotonic())
                self._on_batch_end(None)  # raises TrainingCancelled once cancelled
            self._events.put(("epoch", {"epoch": epoch + 1, "final": False}))
        self._events.put(("cancelled", None))
    except T.TrainingCancelled:
        self._events.put(("cancelled", None))


def test_closing_the_window_stops_a_training_at_once(
    make_napari_viewer, tmp_path, settings_home, qtbot, monkeypatch
):
    from _curate_helpers import synthetic_project

    from napari_microstructure.core.curate import train as T
    from napari_microstructure.widgets.curate import CurateWidget

    monkeypatch.setattr(T.TrainJob, "_train", _fake_train)
    project = synthetic_project(tmp_path / "proj", n=2)
    for image_id in project.image_ids:
        project.set_done(image_id, True)
    viewer = make_napari_viewer()
    widget = CurateWidget(viewer, autosave_ms=600_000)
    viewer.window.add_dock_widget(widget, name="Curate")
    widget.open_project(tmp_path / "proj")
    LOG.clear()
    worker = widget.train_panel.train(epochs=3)
    assert worker is not None
    qtbot.waitUntil(lambda: len(LOG) >= 2, timeout=60_000)  # in the first epoch
    t0 = time.monotonic()
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        viewer.close()
    more = [t for t in LOG if t > t0]
    assert len(more) <= 3, len(more)  # was the rest of the epoch (39 batches)
