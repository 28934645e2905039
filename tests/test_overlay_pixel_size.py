"""Points and shapes laid over an image keep to its pixels when the Pixel size dock changes its
pixel size, and Curate's boxes layer lies on the image whatever its units."""

from __future__ import annotations

import numpy as np
import pytest
from test_review_detect_refine import BOXES, _detect, fake_detector  # noqa: F401

from napari_microstructure._layers import detections_from_layer, image_layer_kwargs
from napari_microstructure._layers.curate import boxes_from_layer
from napari_microstructure._layers.overlay import overlay_placement
from napari_microstructure._layers.points import (
    add_prompt,
    prompt_points_kwargs,
    prompts_from_layer,
)
from napari_microstructure._layers.shapes import edited_since_drawn

XY = BOXES[["x1", "y1", "x2", "y2"]].to_numpy()
CLASSES = ["inclusion", "pore"]
PLACEMENTS = {
    "ps0.5": image_layer_kwargs(0.5, "img"),
    "none": {"name": "img"},
    "mm": {"name": "img", "scale": (0.0005, 0.0005), "units": ("mm", "mm")},
    "translated": image_layer_kwargs(0.5, "img", translate=(10.0, 20.0)),
}


def _image(viewer, placement):
    return viewer.add_image(np.zeros((128, 160), np.uint8), **PLACEMENTS[placement])


def _set_pixel_size(viewer, image, pixel_size):
    from napari_microstructure.widgets.scale import ScaleWidget

    dock = ScaleWidget(viewer)
    dock._image.value = image
    dock.apply(pixel_size)


def _corners(layer, image):
    """Each box's (y1, x1) corner: in the layer's data and in the image's world."""
    data = np.array([np.asarray(v)[np.argmin(np.asarray(v).sum(axis=1))] for v in layer.data])
    world = np.array([layer.data_to_world(p) for p in data])
    # boxes count pixel edges: a box's corner is half a pixel before its first pixel's centre
    truth = np.array([image.data_to_world((y - 0.5, x - 0.5)) for x, y in XY[:, :2]])
    return world, truth


def _check_boxes(layer, image, pixel_size):
    """The box layer marks the same pixels for every reader and on screen."""
    via_image = detections_from_layer(layer, image=image)[["x1", "y1", "x2", "y2"]].to_numpy()
    via_meta = detections_from_layer(layer)[["x1", "y1", "x2", "y2"]].to_numpy()
    curate = [[b[k] for k in ("x1", "y1", "x2", "y2")] for b in boxes_from_layer(layer, CLASSES)]
    assert np.allclose(via_image, XY) and np.allclose(via_meta, XY) and np.allclose(curate, XY)
    world, truth = _corners(layer, image)
    assert np.allclose(world, truth)
    assert layer.metadata["pixel_size_um"] == pixel_size
    placement = overlay_placement(image, pixel_size)
    assert np.allclose(layer.scale, placement["scale"])
    assert np.allclose(layer.translate, placement["translate"])


@pytest.mark.parametrize("placement", ["ps0.5", "none", "mm", "translated"])
def test_detections_keep_their_pixels_when_the_pixel_size_changes(
    make_napari_viewer,
    settings_home,
    wait_idle,
    fake_detector,  # noqa: F811
    placement,
):
    viewer = make_napari_viewer()
    image = _image(viewer, placement)
    det = _detect(viewer, wait_idle, image).layer
    _check_boxes(det, image, det.metadata["pixel_size_um"])
    _set_pixel_size(viewer, image, 0.25)
    _check_boxes(det, image, 0.25)
    assert not edited_since_drawn(det)  # still the dock's boxes as it drew them
    assert np.allclose(det.features["width_um"], (XY[:, 2] - XY[:, 0]) * 0.25)
    assert np.allclose(det.edge_width, 3 * 0.25)  # 3 image pixels wide, as drawn


def test_prompts_keep_their_pixels_when_the_pixel_size_changes(make_napari_viewer):
    viewer = make_napari_viewer()
    image = _image(viewer, "translated")
    prompts = viewer.add_points(**prompt_points_kwargs(image))
    add_prompt(prompts, 30.0, 40.0, True)
    add_prompt(prompts, 50.0, 70.0, False)
    # a layer of points the user put in the image's pixel frame (its scale and offset)
    mine = viewer.add_points(
        np.array([[5.0, 6.0]]), scale=image.scale, translate=image.translate, units=image.units
    )
    _set_pixel_size(viewer, image, 0.25)
    pts, labels = prompts_from_layer(prompts)
    assert np.allclose(pts, [[30, 40], [50, 70]]) and list(labels) == [1, 0]
    world = np.array([prompts.data_to_world(p) for p in prompts.data])
    assert np.allclose(world, [image.data_to_world(p) for p in [(30, 40), (50, 70)]])
    assert np.allclose(prompts.size, 8 * 0.25)
    assert np.allclose(prompts_from_layer(mine)[0], [[5, 6]])
    assert np.allclose(mine.data_to_world(mine.data[0]), image.data_to_world((5, 6)))


def test_unticked_the_overlays_stay(make_napari_viewer):
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    image = _image(viewer, "ps0.5")
    prompts = viewer.add_points(**prompt_points_kwargs(image))
    add_prompt(prompts, 30.0, 40.0, True)
    dock = ScaleWidget(viewer)
    dock._image.value = image
    dock._same_size.value = False
    dock.apply(0.25)
    assert np.allclose(prompts.data, [[15, 20]]) and prompts.metadata["pixel_size_um"] == 0.5


def _curate(viewer, tmp_path, image):
    from napari_microstructure.widgets.curate import CurateWidget

    w = CurateWidget(viewer, autosave_ms=100)
    w._classes.value = "inclusion, pore"
    assert w.open_project(tmp_path / "proj") is not None
    image_id = w.add_image(image)
    return w, image_id, w.layers_of(image_id)["boxes"]


def _draw_and_save(w, qtbot, boxes, image, rows, cols):
    """Draw a box with pixel edges ``rows`` x ``cols`` on screen; the saved boxes."""
    from napari_microstructure.core.curate import Project

    tl = boxes.world_to_data(image.data_to_world((rows[0] - 0.5, cols[0] - 0.5)))
    br = boxes.world_to_data(image.data_to_world((rows[1] - 0.5, cols[1] - 0.5)))
    rev = w.saved_rev
    boxes.add_rectangles(np.array([tl, br]))
    qtbot.waitUntil(lambda: w.saved_rev > rev and not w.unsaved, timeout=10_000)
    saved = Project.open(w.project.root).load_labels(w.current_image_id).boxes
    return [[b[k] for k in ("x1", "y1", "x2", "y2")] for b in saved]


@pytest.mark.parametrize("placement", ["ps0.5", "none", "mm", "translated"])
def test_curate_saves_boxes_drawn_on_screen_in_pixels(
    make_napari_viewer, settings_home, qtbot, tmp_path, placement
):
    viewer = make_napari_viewer()
    image = _image(viewer, placement)
    w, _, boxes = _curate(viewer, tmp_path, image)
    saved = _draw_and_save(w, qtbot, boxes, image, (20, 40), (30, 60))
    assert np.allclose(saved, [[30, 20, 60, 40]]), saved
    w.close()


def test_curate_boxes_keep_their_pixels_when_the_pixel_size_changes(
    make_napari_viewer, settings_home, qtbot, tmp_path
):
    viewer = make_napari_viewer()
    image = _image(viewer, "ps0.5")
    w, _, boxes = _curate(viewer, tmp_path, image)
    first = _draw_and_save(w, qtbot, boxes, image, (20, 40), (30, 60))
    _set_pixel_size(viewer, image, 0.25)
    corner = np.asarray(boxes.data[0]).min(axis=0)
    assert np.allclose(boxes.data_to_world(corner), image.data_to_world((19.5, 29.5)))
    saved = _draw_and_save(w, qtbot, boxes, image, (70, 90), (100, 120))
    assert np.allclose(saved, first + [[100, 70, 120, 90]])
    w.close()


def _pixels(layer, image):
    return detections_from_layer(layer, image=image)[["x1", "y1", "x2", "y2"]].to_numpy()


@pytest.mark.parametrize("size", [(200, 300), (128, 160)])
def test_another_images_overlays_stay_with_it(
    make_napari_viewer,
    settings_home,
    wait_idle,
    fake_detector,  # noqa: F811
    size,
):
    """Only the overlays drawn on an image that changes follow it: B's boxes and clicks keep
    B's pixels when A's pixel size changes (B, even of A's size, keeps its own pixel size)."""
    viewer = make_napari_viewer()
    b = viewer.add_image(np.zeros(size, np.uint8), **image_layer_kwargs(0.25, "B"))
    det = _detect(viewer, wait_idle, b).layer
    prompts = viewer.add_points(**prompt_points_kwargs(b))
    add_prompt(prompts, 30.0, 40.0, True)
    a = viewer.add_image(np.zeros((128, 160), np.uint8), **image_layer_kwargs(0.5, "A"))
    _set_pixel_size(viewer, a, 0.4)
    assert np.allclose(b.scale, 0.25)
    assert np.allclose(_pixels(det, b), XY) and np.allclose(
        detections_from_layer(det)[["x1", "y1", "x2", "y2"]].to_numpy(), XY
    )
    assert np.allclose(prompts_from_layer(prompts)[0], [[30, 40]])


def test_the_confidence_slider_after_a_pixel_size_change(
    make_napari_viewer,
    settings_home,
    wait_idle,
    fake_detector,  # noqa: F811
):
    viewer = make_napari_viewer()
    image = _image(viewer, "ps0.5")
    widget = _detect(viewer, wait_idle, image)
    _set_pixel_size(viewer, image, 0.25)
    widget._show.value = 0.0
    widget._show.value = 0.1
    keep = (BOXES["confidence"] >= 0.1).to_numpy()
    assert np.allclose(_pixels(widget.layer, image), XY[keep])
