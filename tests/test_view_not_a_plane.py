"""A stack shown in napari's 3-D view or with transposed axes (a page axis on screen): the docks
worked on the rows x columns plane at the hidden slider's position, which the user cannot see
(a click at z=2 made an object on another plane, in other rows). They now refuse and say so;
rows and columns swapped on screen are still the plane, and a 2-D layer works in any view."""

from __future__ import annotations

import numpy as np
import pytest
from _clicks import click
from _notices import captured_messages

import napari_microstructure  # noqa: F401
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets import _base

HIDDEN = "shows other axes than its rows and columns"


def _hidden(shown: list[str]) -> list[str]:
    return [s for s in shown if HIDDEN in s]


@pytest.fixture
def etched():
    return generate("etched", shape=(96, 96), seed=3, grain_size_um=15)


def test_a_refine_click_in_a_transposed_view_paints_nothing_and_says_why(
    make_napari_viewer, settings_home, wait_idle, etched, monkeypatch
):
    from napari_microstructure.widgets.refine import RefineWidget

    viewer = make_napari_viewer()
    stack = viewer.add_image(np.stack([etched.image] * 4), name="S")
    w = RefineWidget(viewer)
    w.engine_name, w.image_layer = "classical", stack
    shown = captured_messages(monkeypatch, _base)
    viewer.dims.set_point(0, 3)
    viewer.dims.order = (1, 0, 2)  # napari's transpose: Z x X on screen, Y on the slider
    viewer.layers.selection.active = stack
    click(stack, (1.0, 40.0, 50.0))  # the first click, on the image
    wait_idle(w)
    assert w.labels_layer is None or not np.asarray(w.labels_layer.data).any()
    assert len(_hidden(shown)) == 1 and shown[0].startswith("Refine: S ")
    # a click on its prompts layer (made in the 2-D view) is refused the same way
    viewer.dims.order = (0, 1, 2)
    w.prepare()
    wait_idle(w, 120_000)
    prompts = w.prompts_layer
    viewer.dims.order = (1, 0, 2)
    click(prompts, (1.0, 40.0, 50.0))
    wait_idle(w)
    assert len(prompts.data) == 0 and not np.asarray(w.labels_layer.data).any()
    assert len(_hidden(shown)) == 2
    # rows and columns swapped on screen are still the plane: the click makes an object there
    viewer.dims.order = (0, 2, 1)
    click(prompts, (3.0, 40.0, 50.0))
    wait_idle(w, 120_000)
    painted = np.asarray(w.labels_layer.data)
    assert painted[3].any() and not painted[[0, 1, 2]].any()
    assert len(_hidden(shown)) == 2


def _stub_detect(monkeypatch) -> list[object]:
    from napari_microstructure.core.detect import empty_detections
    from napari_microstructure.widgets.detect import DetectWidget

    ran: list[object] = []

    def work(self, *args):
        ran.append(args)
        yield from ()
        return empty_detections()

    monkeypatch.setattr(DetectWidget, "_work", work)
    return ran


@pytest.mark.parametrize("view", ["transposed", "3-D"])
def test_detect_refuses_a_stack_whose_plane_is_not_on_screen(
    make_napari_viewer, settings_home, wait_idle, monkeypatch, view
):
    from napari_microstructure.widgets.detect import DetectWidget

    ran = _stub_detect(monkeypatch)
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((4, 64, 64), np.uint8), name="S")
    widget = DetectWidget(viewer)
    widget.image_layer = stack
    shown = captured_messages(monkeypatch, _base)
    if view == "3-D":
        viewer.dims.ndisplay = 3
    else:
        viewer.dims.order = (1, 0, 2)
    assert widget.run() is None
    assert ran == [] and widget.layer is None
    assert len(_hidden(shown)) == 1 and shown[0].startswith("Detect: S ")
    # back to the 2-D view with the axes in order: it searches the plane on screen
    viewer.dims.ndisplay, viewer.dims.order = 2, (0, 1, 2)
    assert widget.run() is not None
    wait_idle(widget)
    assert len(ran) == 1 and len(_hidden(shown)) == 1


def test_a_2d_image_or_swapped_rows_and_columns_are_not_refused(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    from napari_microstructure.widgets.detect import DetectWidget

    ran = _stub_detect(monkeypatch)
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((4, 64, 64), np.uint8), name="S")
    flat = viewer.add_image(np.zeros((64, 64), np.uint8), name="F")
    widget = DetectWidget(viewer)
    shown = captured_messages(monkeypatch, _base)
    viewer.dims.order = (1, 0, 2)  # the stack's Z x X on screen
    widget.image_layer = flat
    assert widget.run() is not None
    wait_idle(widget)
    viewer.dims.order = (0, 2, 1)  # the stack's columns x rows: its plane, transposed
    widget.image_layer = stack
    assert widget.run() is not None
    wait_idle(widget)
    viewer.dims.ndisplay = 3  # a 2-D image in the 3-D view is still its plane
    widget.image_layer = flat
    assert widget.run() is not None
    wait_idle(widget)
    assert len(ran) == 3 and _hidden(shown) == []


def test_measure_explain_and_classify_refuse_a_stack_in_the_3d_view(
    make_napari_viewer, settings_home, monkeypatch
):
    from napari_microstructure.widgets import classify
    from napari_microstructure.widgets.classify import ClassifyWidget
    from napari_microstructure.widgets.explain import ExplainWidget
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((3, 32, 32), np.uint8), name="S")
    grains = viewer.add_labels(np.ones((3, 32, 32), np.int32), name="G")
    measure, explain, clf = MeasureWidget(viewer), ExplainWidget(viewer), ClassifyWidget(viewer)
    measure.labels_layer, explain.image_layer, clf.image_layer = grains, stack, stack
    shown = captured_messages(monkeypatch, _base, classify)
    viewer.dims.ndisplay = 3
    assert measure.run() is None and measure.table is None
    assert explain.explain_image() is None and explain.show_low_confidence() is None
    assert clf.add_image("ferrite") is False and clf.extra_samples == []
    docks = [s.split(":")[0] for s in _hidden(shown)]
    assert docks == ["Measure", "Explain", "Explain", "Classify"]


def test_live_scribbles_in_the_3d_view_are_told_once(
    make_napari_viewer, settings_home, monkeypatch
):
    from napari_microstructure.widgets.segment import SegmentWidget

    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((3, 32, 32), np.uint8), name="S")
    widget = SegmentWidget(viewer)
    widget.image_layer = stack
    widget.add_scribbles_layer()
    shown = captured_messages(monkeypatch, _base)
    viewer.dims.ndisplay = 3
    for _ in range(3):  # strokes painted as it re-predicts: one warning, not one per stroke
        assert widget.predict_scribbles(quiet=True) is None
    assert len(_hidden(shown)) == 1
    assert widget.predict_scribbles() is None  # the button: told each time
    assert len(_hidden(shown)) == 2


def test_curate_does_not_add_a_stack_shown_in_the_3d_view(curate_dock, tmp_path, monkeypatch):
    from napari_microstructure.widgets import curate

    widget = curate_dock(tmp_path / "proj")
    viewer = widget.viewer
    stack = viewer.add_image(np.zeros((3, 32, 32), np.uint8), name="S")
    shown = captured_messages(monkeypatch, curate)
    viewer.dims.ndisplay = 3
    assert widget.add_image(stack) is None
    assert len(_hidden(shown)) == 1 and shown[0].startswith("Cannot add the image: S ")
    viewer.dims.ndisplay = 2  # its plane on screen: added
    assert widget.add_image(stack) is not None


def test_refused_segment_all_and_unet_training_change_nothing(
    make_napari_viewer, settings_home, monkeypatch
):
    # (review of this session: segment all made the objects and prompts layers before it was
    # refused, and Measure's box moved to the empty objects; U-Net Train took the hidden plane)
    from napari_microstructure.widgets import _segment_unet
    from napari_microstructure.widgets.refine import RefineWidget
    from napari_microstructure.widgets.segment import SegmentWidget

    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((3, 32, 32), np.uint8), name="S")
    marks = viewer.add_labels(np.ones((3, 32, 32), np.uint8), name="marks")
    refine, segment = RefineWidget(viewer), SegmentWidget(viewer)
    refine.engine_name, refine.image_layer = "classical", stack
    segment.image_layer, segment.annotation_layer = stack, marks
    shown = captured_messages(monkeypatch, _base, _segment_unet)
    viewer.dims.ndisplay = 3
    before = [layer.name for layer in viewer.layers]
    assert refine.segment_all() is None
    assert [layer.name for layer in viewer.layers] == before
    assert segment.train() is None and not segment.busy
    assert len(_hidden(shown)) == 2 and shown[0].startswith("Refine: S ")
