"""Explain dock, review 22: a queued box and a closed image, hand-drawn boxes, the threshold of
a low-confidence map, a renamed image's overlays, and edits on the quality layer."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.progress import Progress
from napari_microstructure.core.synthetic import generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _defects(size: int, seed: int) -> np.ndarray:
    img = generate("defects", shape=(size, size), pixel_size=0.5, seed=seed).image
    return img if img.ndim == 2 else img[..., 0]


def _until(event: threading.Event):
    while not event.is_set():
        time.sleep(0.01)
        yield Progress(0, 1, "explaining")


# -- 1. a box queued while busy is never explained on another image ---------------------------
@pytest.fixture
def queued(make_napari_viewer, settings_home):
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "img"))
    rows = [
        {"x1": 4 + 12 * i, "y1": 4, "x2": 12 + 12 * i, "y2": 12, "confidence": 0.5,
         "class_id": 0, "class_name": "pore"}
        for i in range(3)
    ]  # fmt: skip
    boxes = viewer.add_shapes(**detections_layer_kwargs(pd.DataFrame(rows), 0.5, "detections"))
    boxes.mode = "select"
    widget = ExplainWidget(viewer)
    widget.image_layer = image
    calls: list[int | None] = []
    widget.explain_selected = lambda index=None: calls.append(index)
    yield viewer, widget, image, boxes, calls
    widget.close()


@pytest.mark.parametrize("change", ["close the image", "choose another image", "nothing"])
def test_a_queued_box_is_explained_only_on_its_own_image(queued, wait_idle, change):
    viewer, widget, image, boxes, calls = queued
    other = viewer.add_image(np.ones((64, 64), np.uint8), **image_layer_kwargs(0.5, "other"))
    widget.image_layer = image
    done = threading.Event()
    widget._start(lambda: _until(done), lambda _r: None, "Explain image")
    boxes.selected_data = {1}
    assert "box 1" in widget._info.value
    if change == "close the image":
        viewer.layers.remove(image)
    elif change == "choose another image":
        widget.image_layer = other
    done.set()
    wait_idle(widget, 30_000)
    if change == "nothing":
        assert calls == [1]
    else:
        assert calls == []
        assert "box 1 was not explained" in widget._info.value


def test_the_image_box_never_falls_back_to_an_overlay(queued, wait_idle):
    from napari_microstructure._layers.explain import show_overlay

    viewer, widget, image, boxes, calls = queued
    overlay = show_overlay(viewer, np.zeros((64, 64), np.float32), image, "img saliency")
    assert widget.image_layer is image
    done = threading.Event()
    widget._start(lambda: _until(done), lambda _r: None, "Explain image")
    boxes.selected_data = {0}
    viewer.layers.remove(image)
    assert widget.image_layer is None and overlay in viewer.layers  # not the dock's own map
    done.set()
    wait_idle(widget, 30_000)
    assert calls == []


# -- 2. a box drawn by hand is explained as the class that scores highest in it ---------------
def test_a_hand_drawn_box_is_explained_as_its_best_class(make_napari_viewer, settings_home, qtbot):
    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.widgets.explain import ExplainWidget

    img = _defects(320, 71)
    df = run_to_end(detect(img, load_detector(None), 0.5, conf=0.25))
    k = int(np.flatnonzero(df.class_name.to_numpy() == "pore")[0])
    viewer = make_napari_viewer()
    image = viewer.add_image(img, **image_layer_kwargs(0.5, "m"))
    boxes = viewer.add_shapes(**detections_layer_kwargs(df, 0.5, "m detections", image=image))
    widget = ExplainWidget(viewer)
    widget._on_click.value = False
    boxes.add_rectangles(np.array(boxes.data[k], dtype=float))  # the same pore, by hand
    n = len(boxes.data) - 1
    assert boxes.features["class_name"].iloc[n] == ""
    assert widget.explain_selected(n) is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=240_000)
    line = widget._info.value
    assert line.startswith(f"box {n}: pore (no class of its own"), line
    assert widget.object_result.score > 0.5
    # a box of Detect's is explained for its own class, named as the model names it
    assert widget.explain_selected(k) is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=240_000)
    assert widget._info.value.startswith(f"box {k}: pore score"), widget._info.value
    widget.close()


# -- 3. the threshold of a low-confidence map goes with the run's map -------------------------
@pytest.mark.parametrize("change", ["choose another image", "close the image"])
def test_the_threshold_is_recorded_on_the_run_s_map(
    make_napari_viewer, settings_home, qtbot, change
):
    from napari_microstructure.widgets._explain_views import THRESHOLD_KEY
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer = make_napari_viewer()
    a = viewer.add_image(_defects(96, 51), **image_layer_kwargs(0.5, "A"))
    b = viewer.add_image(_defects(96, 52), **image_layer_kwargs(0.5, "B"))
    widget = ExplainWidget(viewer)
    widget.threshold = 0.25
    for lay in (a, b):
        widget.image_layer = lay
        assert widget.show_low_confidence() is not None
        qtbot.waitUntil(lambda: not widget.busy, timeout=240_000)
    widget.threshold = 0.6
    widget.image_layer = a
    assert widget.show_low_confidence() is not None
    if change == "close the image":
        viewer.layers.remove(a)
    else:
        widget.image_layer = b
    qtbot.waitUntil(lambda: not widget.busy, timeout=240_000)
    assert viewer.layers["B low confidence"].metadata[THRESHOLD_KEY] == 0.25
    if change == "choose another image":
        assert viewer.layers["A low confidence"].metadata[THRESHOLD_KEY] == 0.6
    widget.close()


# -- 4. a renamed image keeps one overlay, which the style controls reach ---------------------
def test_a_renamed_image_keeps_one_saliency_overlay(make_napari_viewer, settings_home, qtbot):
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(_defects(96, 3), **image_layer_kwargs(0.5, "sample_001"))
    widget = ExplainWidget(viewer)
    assert widget.explain_image() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=240_000)
    first = viewer.layers["sample_001 saliency"]
    image.name = "steel A"
    assert widget.layer("saliency") is first
    widget.opacity = 0.2  # reaches the overlay of the renamed image
    assert first.opacity == pytest.approx(0.2)
    assert widget.explain_image() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=240_000)
    maps = [lay for lay in viewer.layers if "explains" in lay.metadata]
    assert maps == [first] and first.name == "steel A saliency"
    widget.opacity = 0.4
    assert first.opacity == pytest.approx(0.4)
    widget.close()


# -- 5. edits on the quality layer are the user's ---------------------------------------------
def test_edits_on_the_quality_layer_are_kept(make_napari_viewer, settings_home, monkeypatch):
    import napari.utils.notifications as notifications

    from napari_microstructure.widgets.explain import ExplainWidget

    shown: list[str] = []
    monkeypatch.setattr(notifications, "show_info", shown.append)
    lab = np.zeros((64, 64), np.int32)
    lab[5:20, 5:20], lab[30:50, 30:55] = 1, 2
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="m")
    feats = pd.DataFrame({"index": [1, 2], "quality": [0.3, 0.9]})
    viewer.add_labels(lab, name="m objects", features=feats)
    widget = ExplainWidget(viewer)
    widget.show_quality()
    quality = viewer.layers["m objects quality"]
    widget.show_quality()  # not edited: updated in place
    assert [lay.name for lay in viewer.layers][-1] == "m objects quality" and not shown
    quality.paint((10, 40), 2, refresh=True)  # the user's brush stroke
    painted = np.array(quality.data, copy=True)
    widget.show_quality()
    assert np.array_equal(quality.data, painted)
    new = viewer.layers[-1]
    assert new is not quality and np.array_equal(new.data, lab)
    assert len(shown) == 1 and "holds your edits" in shown[0]
    widget.show_quality()  # the new layer is the dock's: updated, not one more
    assert viewer.layers[-1] is new and len(shown) == 1
    widget.close()
