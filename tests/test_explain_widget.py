"""Explain dock with a viewer: saliency overlay, per-box Grad-CAM, confidence view, quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def scene(make_napari_viewer, settings_home):
    import cv2

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(120, 200, (256, 256)).astype(np.uint8), (0, 0), 1.5)
    objects = []
    for i, (x, y, r) in enumerate([(60, 50, 8), (180, 70, 12), (90, 190, 6), (200, 200, 10)]):
        cv2.circle(img, (x, y), r, 25, -1)
        objects.append(
            {
                "bbox": (x - r, y - r, x + r + 1, y + r + 1),
                "class_id": i % 2,
                "cls": ["inclusion", "pore"][i % 2],
            }
        )
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(0.5, "defects"))
    rows = [
        {
            "x1": o["bbox"][0],
            "y1": o["bbox"][1],
            "x2": o["bbox"][2],
            "y2": o["bbox"][3],
            "confidence": 0.3 + 0.6 * i / len(objects),
            "class_id": o["class_id"],
            "class_name": o["cls"],
        }
        for i, o in enumerate(objects)
    ]
    viewer.add_shapes(**detections_layer_kwargs(pd.DataFrame(rows), 0.5, "defects detections"))
    labels = np.zeros(img.shape, np.uint32)
    labels[10:40, 10:40], labels[100:150, 60:90] = 1, 2
    viewer.add_labels(
        labels,
        scale=(0.5, 0.5),
        units=("µm", "µm"),
        name="refined",
        features=pd.DataFrame({"index": [2, 1], "score": [0.95, 0.2]}),  # as Refine writes
    )
    return viewer, img, rows


def _wait(qtbot, widget, worker):
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=120_000)


def test_explain_widget_overlays(scene, qtbot):
    from napari.layers import Image, Labels

    from napari_microstructure.widgets.explain import ExplainWidget

    viewer, img, rows = scene
    n = len(viewer.layers)
    widget = ExplainWidget(viewer)
    assert len(viewer.layers) == n  # nothing added at construction
    assert widget.image_layer.name == "defects"
    assert widget.detections_layer.name == "defects detections"
    assert widget.histogram is not None and widget.histogram[0].sum() == len(rows)

    _wait(qtbot, widget, widget.explain_image())  # EigenCAM of the whole image
    sal = widget.layer("saliency")
    assert isinstance(sal, Image) and sal.data.shape == img.shape
    assert sal.data.dtype == np.float32 and 0 <= sal.data.min() and sal.data.max() <= 1
    assert tuple(sal.scale) == (0.5, 0.5)  # on the micrograph in µm
    assert sal.colormap.name == "inferno" and sal.blending == "additive"
    widget.opacity, widget.blending = 0.3, "translucent"
    assert sal.opacity == pytest.approx(0.3) and sal.blending == "translucent"
    assert sal.colormap.map(np.array([0.0]))[0, 3] == 0  # fades in: zero saliency is clear

    boxes = widget.detections_layer
    boxes.selected_data = {1}  # clicking a box explains it (auto mode on by default)
    qtbot.waitUntil(lambda: widget.worker is not None and not widget.busy, timeout=120_000)
    qtbot.waitUntil(lambda: widget.layer("object saliency") is not None, timeout=60_000)
    obj = widget.layer("object saliency")
    assert obj.data.shape == img.shape and widget.object_result is not None
    assert np.isfinite(widget.object_result.score)

    widget.style_boxes()  # colour ramp + opacity by confidence
    colors = np.asarray(boxes.edge_color)
    assert colors.shape == (len(rows), 4) and colors[-1, 3] > colors[0, 3]
    widget.class_colours()
    assert np.allclose(np.asarray(boxes.edge_color)[:, 3], 1.0)

    _wait(qtbot, widget, widget.show_low_confidence())
    low = widget.layer("low confidence")
    assert low is not None and low.data.shape == img.shape and tuple(low.scale) == (0.5, 0.5)

    widget.show_quality()
    q = next(lay for lay in viewer.layers if lay.name == "refined score")
    assert isinstance(q, Labels)
    c1, c2 = q.colormap.map(np.array([1, 2]))
    # poor mask dark, good mask light (viridis: lightness tells them apart to any eye)
    assert c1[:3].sum() < 0.6 * c2[:3].sum()
    widget.close()


def test_explain_widget_messages(make_napari_viewer, settings_home, monkeypatch):
    from napari_microstructure.widgets import explain as mod

    errors: list[str] = []
    from napari_microstructure.widgets import _explain_views as views

    monkeypatch.setattr(mod, "show_error", errors.append)
    monkeypatch.setattr(views, "show_error", errors.append)
    viewer = make_napari_viewer()
    widget = mod.ExplainWidget(viewer)
    assert widget.explain_image() is None and "open a micrograph" in errors[-1]
    viewer.add_image(np.zeros((64, 64), np.uint8), name="blank")
    assert widget.explain_selected() is None and "run Detect first" in errors[-1]
    widget.show_quality()
    assert "quality" in errors[-1]
    widget.close()


def test_a_new_threshold_recolours_the_boxes_and_flags_the_low_confidence_map(scene, qtbot):
    """The box colours and the 'within 0.15' count stayed at the threshold they were drawn at."""
    from napari_microstructure.core.explain import box_styles
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer, img, rows = scene
    widget = ExplainWidget(viewer)
    conf = np.array([r["confidence"] for r in rows])  # 0.3, 0.45, 0.6, 0.75
    widget.threshold = 0.25
    widget.style_boxes()
    assert widget._info.value == "4 boxes; 1 within 0.15 of the threshold"  # 0.3 above 0.25
    widget.threshold = 0.8
    assert widget._info.value == "4 boxes; 0 within 0.15 of the threshold"  # none 0.8-0.95
    widget.threshold = 0.25
    _wait(qtbot, widget, widget.show_low_confidence())
    widget.threshold = 0.7
    boxes = widget.detections_layer
    assert np.allclose(boxes.edge_color, box_styles(conf, 0.7).edge_color)
    info = widget._info.value  # 0.75 is within 0.15 above 0.7; then the map drawn at 0.25
    assert info.startswith("4 boxes; 1 within 0.15 of the threshold. The low-confidence map")
    assert "shows threshold 0.25: press Low-confidence map to draw it at 0.70" in info
    widget.threshold = 0.55
    widget.class_colours()  # per-class colours stay when the threshold moves again
    colours = np.asarray(boxes.edge_color).copy()
    widget.threshold = 0.6
    assert np.allclose(boxes.edge_color, colours)
    widget.close()


def test_the_stale_map_line_goes_when_the_threshold_is_back(scene, qtbot):
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer, _, _ = scene
    widget = ExplainWidget(viewer)
    widget.threshold = 0.25
    _wait(qtbot, widget, widget.show_low_confidence())
    widget.class_colours()  # the boxes are not re-coloured by the threshold
    widget.threshold = 0.6
    assert "shows threshold 0.25" in widget._info.value
    widget.threshold = 0.25  # the map's own threshold again: the line stayed
    assert "shows threshold" not in widget._info.value
    widget.close()
