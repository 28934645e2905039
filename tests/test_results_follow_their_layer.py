"""Review 23: a dock's result belongs to the image (or labels) layer it was made from, not to
its name (a renamed image's name given to the next image opened used to send that image's
result into the first image's layer), and colour-blind-safe prompts and quality colours."""

from __future__ import annotations

import numpy as np
from test_review_detect_refine import fake_detector  # noqa: F401 - a fixture

from napari_microstructure._layers.classes import show_class_map
from napari_microstructure._layers.explain import show_quality_labels


def test_detections_of_a_renamed_image_are_not_overwritten(
    make_napari_viewer,
    settings_home,
    wait_idle,
    fake_detector,  # noqa: F811
):
    viewer = make_napari_viewer()
    first = viewer.add_image(np.zeros((128, 160), np.uint8), name="defects")
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Detect")
    w.conf = 0.1
    w.run()
    wait_idle(w)
    day1 = w.layer
    n = day1.nshapes
    first.name = "day1"
    second = viewer.add_image(np.zeros((128, 160), np.uint8), name="defects")
    w.image_layer = second
    w.conf = 0.6  # fewer boxes: the second image's result differs
    w.run()
    wait_idle(w)
    assert w.layer is not day1 and day1 in viewer.layers and day1.nshapes == n
    w.image_layer = first
    w.conf = 0.1
    w.run()  # the renamed image's own layer again, named after it now
    wait_idle(w)
    assert w.layer is day1 and day1.name == "day1 detections"


def test_a_class_map_follows_its_image_not_the_name(make_napari_viewer):
    viewer = make_napari_viewer()
    a = viewer.add_image(np.zeros((16, 16), np.uint8), name="steel")
    map_a = show_class_map(viewer, np.ones((16, 16), np.uint8), a, ["x"], "steel classes")
    a.name = "day1"
    b = viewer.add_image(np.zeros((16, 16), np.uint8), name="steel")
    map_b = show_class_map(viewer, np.zeros((16, 16), np.uint8), b, ["x"], "steel classes")
    assert map_b is not map_a and int(map_a.data.sum()) == 256
    again = show_class_map(viewer, np.ones((16, 16), np.uint8), a, ["x"], "day1 classes")
    assert again is map_a and map_a.name == "day1 classes"


def test_a_quality_overlay_follows_its_labels_not_the_name(make_napari_viewer):
    viewer = make_napari_viewer()
    a = viewer.add_labels(np.ones((16, 16), np.uint32), name="masks")
    colors = {1: np.array([0.2, 0.2, 0.5, 0.7])}
    over_a = show_quality_labels(viewer, a, colors, "masks quality")
    a.name = "day1"
    b = viewer.add_labels(np.full((16, 16), 2, np.uint32), name="masks")
    over_b = show_quality_labels(viewer, b, {2: colors[1]}, "masks quality")
    assert over_b is not over_a and int(over_a.data.max()) == 1


def test_negative_prompts_differ_in_shape_not_only_colour(make_napari_viewer):
    from napari_microstructure._layers.points import add_prompt, prompt_points_kwargs

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((32, 32), np.uint8))
    points = viewer.add_points(**prompt_points_kwargs(image))
    add_prompt(points, 5, 5, True)
    add_prompt(points, 9, 9, False)
    positive, negative = (str(s) for s in points.symbol)
    assert positive != negative


def test_the_saliency_method_boxes_have_names(make_napari_viewer, settings_home):
    viewer = make_napari_viewer()
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Explain")
    for combo in (w._method, w._obj_method):
        assert combo.native.accessibleName().startswith("saliency method")
        assert combo.native.toolTip()
