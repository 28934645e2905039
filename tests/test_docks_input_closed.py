"""An image closed while a dock worked on it: its result is not added as a layer of nothing,
and the user is told."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import napari_microstructure.widgets._base as base
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.progress import Progress


@pytest.fixture
def told(monkeypatch):
    said: list[str] = []
    monkeypatch.setattr(base, "show_info", said.append)
    return said


def _held(result, gate: threading.Event):
    def gen():
        yield Progress(0, 1, "working")
        gate.wait(30)
        return result

    return gen


def test_detect_result_of_a_closed_image_is_dropped(make_napari_viewer, settings_home, told,
                                                    wait_idle, monkeypatch):  # fmt: skip
    from napari_microstructure.core.detect import empty_detections
    from napari_microstructure.widgets.detect import DetectWidget

    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "gone"))
    widget = DetectWidget(viewer)
    gate = threading.Event()
    monkeypatch.setattr(DetectWidget, "_work", lambda self, *a: _held(empty_detections(), gate)())
    assert widget.run() is not None
    viewer.layers.remove(img)
    gate.set()
    wait_idle(widget, 30_000)
    assert [lay.name for lay in viewer.layers] == []
    assert any("gone was closed during the run" in t for t in told)
    assert widget.status == "Detect: its image was closed"


def test_explain_result_of_a_closed_image_is_dropped(
    make_napari_viewer, settings_home, told, wait_idle
):
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "gone"))
    keep = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "kept"))
    widget = ExplainWidget(viewer)
    gate = threading.Event()
    saliency = np.ones((64, 64), np.float32)
    widget._start(_held(saliency, gate), lambda r: widget._show(r, img, "saliency"), "Explain")
    viewer.layers.remove(img)
    gate.set()
    wait_idle(widget, 30_000)
    assert [lay.name for lay in viewer.layers] == ["kept"]
    assert any("gone was closed" in t for t in told)
    widget._show(saliency, keep, "saliency")  # an open image still gets its overlay
    assert "kept saliency" in [lay.name for lay in viewer.layers]
