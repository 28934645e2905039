"""Explain dock (review): its quality layer is a copy of the plane on screen, its style controls
touch only its own overlays, and a box drawn by hand is explained where it was drawn."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs

ROWS = pd.DataFrame(
    {
        "x1": [52.0, 168.0],
        "y1": [42.0, 58.0],
        "x2": [69.0, 193.0],
        "y2": [59.0, 83.0],
        "confidence": [0.4, 0.8],
        "class_id": [0, 1],
        "class_name": ["inclusion", "pore"],
    }
)


def _objects(viewer, data, name="refined"):
    ids = np.unique(data)
    ids = ids[ids > 0]
    features = pd.DataFrame({"index": ids, "score": np.linspace(0.2, 0.95, len(ids))})
    return viewer.add_labels(data, name=name, features=features)


def _explain(viewer):
    from napari_microstructure.widgets.explain import ExplainWidget

    return ExplainWidget(viewer)


def test_quality_layer_is_a_copy(make_napari_viewer, settings_home):
    viewer = make_napari_viewer()
    labels = np.zeros((64, 64), np.uint32)
    labels[5:20, 5:20], labels[30:50, 30:60] = 1, 2
    objects = _objects(viewer, labels)
    mine = viewer.add_labels(np.full((8, 8), 3, np.uint32), name="refined score")
    w = _explain(viewer)
    w.labels_layer = objects
    w.show_quality()
    quality = viewer.layers[-1]
    assert quality is not mine and np.array_equal(quality.data, labels)
    assert (mine.data == 3).all() and mine.data.shape == (8, 8)  # the user's layer of that name
    assert not np.shares_memory(quality.data, objects.data)
    quality.data[60:64, 60:64] = 5  # painting the overlay leaves the objects alone
    assert not (objects.data == 5).any()
    objects.data[0:2, 0:2] = 2
    w.show_quality()  # again: the painted quality layer is the user's now, a new one is made
    fresh = viewer.layers[-1]
    assert fresh is not quality and (fresh.data[0:2, 0:2] == 2).all()
    assert (quality.data[60:64, 60:64] == 5).all()
    objects.data[2:4, 2:4] = 2
    w.show_quality()  # an unpainted quality layer is updated in place
    assert viewer.layers[-1] is fresh and (fresh.data[2:4, 2:4] == 2).all()


def test_quality_of_a_stack_shows_the_plane_on_screen(make_napari_viewer, settings_home):
    viewer = make_napari_viewer()
    labels = np.zeros((3, 64, 64), np.uint32)
    labels[0, 5:20, 5:20], labels[1, 30:50, 30:60] = 1, 2
    objects = _objects(viewer, labels, "stack objects")
    viewer.dims.set_current_step(0, 1)
    w = _explain(viewer)
    w.labels_layer = objects
    w.show_quality()
    quality = viewer.layers[-1]
    assert quality.ndim == 2 and np.array_equal(quality.data, labels[1])


@pytest.mark.parametrize("kind", ["image", "labels"])
def test_style_controls_leave_a_users_layer_alone(make_napari_viewer, settings_home, kind):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "defects"))
    if kind == "image":
        mine = viewer.add_image(np.ones((64, 64)), name="defects saliency", colormap="gray")
    else:
        mine = viewer.add_labels(np.ones((64, 64), np.uint32), name="defects saliency")
    before = (mine.colormap.name, mine.opacity, mine.blending)
    w = _explain(viewer)
    assert w.layer("saliency") is None
    w.opacity, w.blending = 0.3, "translucent"
    assert (mine.colormap.name, mine.opacity, mine.blending) == before


def test_a_hand_drawn_box_is_explained_where_it_was_drawn(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    import napari_microstructure.core.detect as detect_core
    import napari_microstructure.core.explain as explain_core

    explained: list[tuple] = []

    def object_saliency(image, det, box, cls, ps, method, confidence=None):
        explained.append(tuple(float(v) for v in box))
        yield from ()
        return SimpleNamespace(saliency=np.zeros(image.shape[:2], np.float32), score=0.5, iou=1.0)

    monkeypatch.setattr(detect_core, "load_detector", lambda path=None: SimpleNamespace())
    monkeypatch.setattr(explain_core, "object_saliency", object_saliency)
    viewer = make_napari_viewer()
    kwargs = image_layer_kwargs(0.5, "defects", translate=(40.0, 60.0))
    image = viewer.add_image(np.zeros((128, 256), np.uint8), **kwargs)
    boxes = viewer.add_shapes(
        **detections_layer_kwargs(ROWS, 0.5, "defects detections", image=image)
    )
    w = _explain(viewer)
    w.detections_layer = boxes
    w.explain_selected(1)
    wait_idle(w)
    assert np.allclose(explained[-1], [168, 58, 193, 83])
    # a missed defect boxed by hand: pixel edges rows 10..30, columns 100..120
    top_left = image.data_to_world((9.5, 99.5))
    bottom_right = image.data_to_world((29.5, 119.5))
    boxes.add_rectangles(
        np.array([boxes.world_to_data(top_left), boxes.world_to_data(bottom_right)])
    )
    w.explain_selected(2)
    wait_idle(w)
    assert np.allclose(explained[-1], [100, 10, 120, 30])
    drawn = viewer.add_shapes(np.array([top_left, bottom_right]), shape_type="rectangle")
    w.detections_layer = drawn  # ... or in a Shapes layer of the user's own
    w.explain_selected(0)
    wait_idle(w)
    assert np.allclose(explained[-1], [100, 10, 120, 30])
    w.detections_layer = boxes
    w.style_boxes()  # the hand-drawn box has no confidence: styled as certain
    assert np.isfinite(np.asarray(boxes.edge_color)).all()
    w.close()
