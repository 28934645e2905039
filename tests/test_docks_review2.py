"""Docks found wrong in the second review: a RuntimeError in a run (torch's out-of-memory, a
failed torch.save), the Segment dock's save on a full disk, and the box Explain queues while
busy."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch
from _notices import captured_messages

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.progress import Progress
from napari_microstructure.core.synthetic import generate

TINY = {"steps_per_epoch": 1, "batch_size": 2, "crop": 64, "base": 4, "depth": 2}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- 1. a RuntimeError in a run is reported and the dock becomes idle ------------------------
# (superqt only warns of it: pytest's 'error' filter would turn that into an error it reports)
@pytest.mark.filterwarnings("default::RuntimeWarning")
def test_a_runtimeerror_in_a_run_is_shown_and_the_dock_is_idle(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    import napari_microstructure.widgets._base as base
    from napari_microstructure.widgets.segment import SegmentWidget

    shown = captured_messages(monkeypatch, base)
    widget = SegmentWidget(make_napari_viewer())

    def out_of_memory():
        yield Progress(0, 1, "training")
        raise RuntimeError("DefaultCPUAllocator: not enough memory")

    assert widget._start(out_of_memory, lambda _r: None, "training") is not None
    wait_idle(widget, 10_000)
    assert shown == ["training failed: DefaultCPUAllocator: not enough memory"]
    assert widget.status == "training: failed"
    assert widget._start(out_of_memory, lambda _r: None, "training") is not None  # not stuck
    wait_idle(widget, 10_000)
    shown.clear()
    widget.cancel()  # nothing runs: nothing to cancel and nothing said
    assert shown == [] and widget.status == "training: failed"


# -- 2. Segment: torch.save's RuntimeError (full disk) saves in the cache folder instead ------
def test_a_full_disk_keeps_the_trained_model_in_the_cache(
    make_napari_viewer, settings_home, tmp_path, wait_idle, monkeypatch
):
    import napari_microstructure.widgets._base as base
    import napari_microstructure.widgets._segment_unet as unet
    from napari_microstructure.widgets.segment import SegmentWidget

    cache = tmp_path / "cache"
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(cache))
    full = tmp_path / "full"
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        if str(getattr(f, "name", f)).startswith(str(full)):  # what a full disk raises
            raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 64 vs 0")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    shown = captured_messages(monkeypatch, base, unet)
    viewer = make_napari_viewer()
    m = generate("ferrite_pearlite", shape=(128, 128), seed=3)
    widget = SegmentWidget(viewer)
    widget.image_layer = viewer.add_image(m.image, name="steel")
    widget.annotation_layer = viewer.add_labels(m.phases.astype(np.uint8), name="phases")
    widget.epochs = 1
    widget.training_options = TINY
    widget.output_path = full / "phases.pt"
    assert widget.train() is not None
    wait_idle(widget, 120_000)
    assert widget.last_model is not None
    saved = widget.last_model.path
    assert saved is not None and saved.is_file() and cache in saved.parents
    assert widget.model_path == saved
    assert (
        len(shown) == 1
        and "could not save the model" in shown[0]
        and "unexpected pos" in (shown[0])
    )
    assert not (full / "phases.pt").exists()


# -- 3. Explain: the box queued while busy -----------------------------------------------------
@pytest.fixture
def explain(make_napari_viewer):
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "img"))
    rows = [
        {"x1": 4 + 12 * i, "y1": 4, "x2": 12 + 12 * i, "y2": 12, "confidence": 0.5,
         "class_id": 0, "class_name": "pore"}
        for i in range(4)
    ]  # fmt: skip
    boxes = viewer.add_shapes(**detections_layer_kwargs(pd.DataFrame(rows), 0.5, "detections"))
    boxes.mode = "select"
    widget = ExplainWidget(viewer)
    calls: list[int | None] = []
    widget.explain_selected = lambda index=None: calls.append(index)
    return widget, boxes, calls


def _until(event: threading.Event):
    while not event.is_set():
        time.sleep(0.01)
        yield Progress(0, 1, "explaining")


def test_cancel_forgets_the_box_selected_while_busy(explain, wait_idle):
    widget, boxes, calls = explain
    widget._start(lambda: _until(threading.Event()), lambda _r: None, "Explain image")
    boxes.selected_data = {2}
    assert "box 2" in widget._info.value
    widget.cancel()
    wait_idle(widget, 30_000)
    assert calls == []


def test_a_deletion_drops_the_queued_box(explain, wait_idle):
    widget, boxes, calls = explain
    done = threading.Event()
    widget._start(lambda: _until(done), lambda _r: None, "Explain image")
    boxes.selected_data = {1}
    boxes.remove_selected()  # box 2 is box 1 now
    done.set()
    wait_idle(widget, 30_000)
    assert calls == []
    # a box selected after the change is still explained when the run ends
    done.clear()
    widget._start(lambda: _until(done), lambda _r: None, "Explain image")
    boxes.selected_data = {0}
    done.set()
    wait_idle(widget, 30_000)
    assert calls == [0]
