"""Cancel closes the run's generator in the worker's thread: its clean-up runs at once (e.g.
SAM's automatic mask generator stops decoding), not when the dock is garbage-collected."""

from __future__ import annotations

import threading
import time

import numpy as np
from test_sam_all import SlowGenerator

from napari_microstructure.core.grains.sam_all import automatic_masks
from napari_microstructure.core.progress import Progress


def test_cancel_closes_the_generator_in_the_worker_thread(make_napari_viewer, qtbot, wait_idle):
    from napari_microstructure.widgets.measure import MeasureWidget

    widget = MeasureWidget(make_napari_viewer())
    closed = []

    def endless():
        try:
            while True:
                yield Progress(0, 1, "working")
                time.sleep(0.01)
        finally:
            closed.append(threading.current_thread() is threading.main_thread())

    widget._start(endless, lambda _r: None, "Job")
    qtbot.wait(200)
    widget.cancel()
    wait_idle(widget, 10_000)
    qtbot.waitUntil(lambda: bool(closed), timeout=5000)
    assert closed == [False] and widget.status == "Job: cancelled"


def test_cancelled_sam_segment_all_stops_decoding(make_napari_viewer, qtbot, wait_idle):
    from napari_microstructure.widgets.measure import MeasureWidget

    widget = MeasureWidget(make_napari_viewer())
    gen = SlowGenerator()
    gen.generate = lambda rgb: [gen._process_batch() for _ in range(100)]  # 5 s of batches
    widget._start(
        lambda: automatic_masks(gen, np.zeros((8, 8, 3), np.uint8), 0.01), lambda _r: None, "SAM"
    )
    qtbot.waitUntil(lambda: gen.calls >= 3, timeout=10_000)
    widget.cancel()
    wait_idle(widget, 10_000)
    qtbot.wait(300)
    stopped = gen.calls
    qtbot.wait(500)
    assert gen.calls == stopped < 20
    assert not any(t.name == "sam-automatic-masks" for t in threading.enumerate())
