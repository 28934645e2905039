"""Layer adapters (review): results go only into the layers a dock made for them, one pixel-size
rule for every dock, curation layers over a translated image, the Pixel size dock on a stack."""

from __future__ import annotations

import numpy as np
import pytest
from napari.layers import Image, Labels, Shapes

from napari_microstructure import _layers as L
from napari_microstructure._layers.curate import (
    boxes_from_layer,
    boxes_layer_kwargs,
    labels_layer_kwargs,
)


def _grey(h: int = 64, w: int = 64) -> np.ndarray:
    g = np.zeros((h, w), np.uint8)
    g[:, w // 2 :] = 200
    return g


# -- results never overwrite another tool's layer of the same name ------------------------------
def test_a_phases_prediction_leaves_the_curated_phases_alone(
    make_napari_viewer, tmp_path, wait_idle, settings_home
):
    from napari_microstructure.core.segment import new_model
    from napari_microstructure.widgets.segment import SegmentWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(_grey(), name="a")
    curated = np.zeros((64, 64), np.uint8)
    curated[:8, :8] = 2  # the expert's annotation
    # the Curate dock's phases layer of project image "a"
    kw = labels_layer_kwargs(curated, None, "a phases", "a", "phases")
    mine = viewer.add_labels(**kw)
    widget = SegmentWidget(viewer)
    widget.image_layer = image
    widget.model_path = new_model("phases", ["ferrite", "pearlite"], base=4, depth=2).save(
        tmp_path / "p.pt"
    )
    assert widget.predict() is not None
    wait_idle(widget, 120_000)
    first = widget.prediction_layer
    assert first is not mine and first.name != "a phases"
    assert (np.asarray(mine.data) == curated).all() and mine.metadata["curate_image"] == "a"
    assert widget.predict() is not None  # predicting again updates the dock's own layer
    wait_idle(widget, 120_000)
    assert widget.prediction_layer is first
    assert sum(isinstance(lay, Labels) for lay in viewer.layers) == 2
    assert (np.asarray(mine.data) == curated).all()


@pytest.mark.parametrize("helper", ["labels", "confidence", "class map", "overlay"])
def test_show_helpers_write_only_their_own_layer(make_napari_viewer, helper):
    viewer = make_napari_viewer()
    image = viewer.add_image(_grey(), name="img")
    kind = Labels if helper in ("labels", "class map") else Image
    other_data = np.full((64, 64), 3, np.uint8)
    other = (viewer.add_labels if kind is Labels else viewer.add_image)(other_data, name="res")
    data = np.ones((64, 64), np.uint8) if kind is Labels else np.full((64, 64), 0.5)

    def show():
        if helper == "labels":
            return L.show_labels(viewer, "res", data, image, "phases")
        if helper == "confidence":
            return L.show_confidence(viewer, "res", data, image)
        if helper == "class map":
            return L.show_class_map(viewer, data, image, ["x", "y"], "res")
        return L.show_overlay(viewer, data, image, "res")

    made = show()
    assert made is not other and isinstance(made, kind)
    assert (np.asarray(other.data) == other_data).all()
    assert show() is made and len(viewer.layers) == 3  # reused, not one more each time


def test_scale_line_is_not_another_layer_of_that_name(make_napari_viewer):
    from napari_microstructure.widgets.scale import SCALE_LINE_LAYER, ScaleWidget

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((40, 60), np.uint8), name="img")
    clicks = viewer.add_points(np.array([[5.0, 5.0]]), name=SCALE_LINE_LAYER)
    widget = ScaleWidget(viewer)
    widget._on_draw()
    lines = viewer.layers.selection.active
    assert isinstance(lines, Shapes) and lines is not clicks and len(clicks.data) == 1


# -- one pixel-size rule -------------------------------------------------------------------------
RULE = [
    ({"metadata": {"pixel_size_um": 0.25}, "scale": (0.25, 0.25)}, 0.25),
    ({"scale": (0.5, 0.5)}, 0.5),  # another reader: scale only
    ({}, None),  # napari's default scale: unknown, not 1 µm
    ({"scale": (0.5, 0.7)}, None),  # not square
    ({"scale": (500.0, 500.0), "units": ("nm", "nm")}, 0.5),
    ({"scale": (1.0, 1.0), "units": ("µm", "µm")}, 1.0),
    ({"scale": (2.0, 0.5, 0.5)}, 0.5),  # a stack: rows and columns only
]


def test_one_pixel_size_rule_for_images_and_labels():
    for kwargs, expected in RULE:
        ndim = len(kwargs.get("scale", (1, 1)))
        image = Image(np.zeros((4,) * ndim), **kwargs)
        labels = Labels(np.zeros((4,) * ndim, np.uint8), **kwargs)
        assert L.layer_pixel_size(image) == pytest.approx(expected), kwargs
        assert L.layer_pixel_size(labels) == pytest.approx(expected), kwargs


def test_scale_only_pixel_size_in_pixel_size_and_classify_docks(make_napari_viewer, settings_home):
    from napari_microstructure.widgets.classify import ClassifyWidget
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(_grey(), name="calibrated", scale=(0.5, 0.5))
    scale = ScaleWidget(viewer)
    assert scale.pixel_size == 0.5 and scale._found.value.startswith("0.5 µm/px")
    classify = ClassifyWidget(viewer)
    classify.image_layer = image
    assert classify.add_image("ferrite")
    assert classify.extra_samples[0].pixel_size == 0.5


# -- curation layers lie over a translated image -------------------------------------------------
def test_curation_layers_lie_over_a_translated_image(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(
        np.zeros((32, 40), np.uint8),
        name="a",
        scale=(0.5, 0.5),
        translate=(50.0, 60.0),
        metadata={"pixel_size_um": 0.5},
    )
    inst = viewer.add_labels(
        **labels_layer_kwargs(
            np.zeros((32, 40), np.uint32), 0.5, "a labels", "a", "instances", like=image
        )
    )
    pixel = (10.0, 20.0)
    assert np.allclose(inst.data_to_world(pixel), image.data_to_world(pixel))
    box = {"x1": 4.0, "y1": 2.0, "x2": 12.0, "y2": 9.0, "class_id": 0, "confidence": 1.0}
    boxes = viewer.add_shapes(
        **boxes_layer_kwargs([box], 0.5, ["pore"], "a boxes", "a", like=image)
    )
    corner = boxes.data_to_world(np.asarray(boxes.data[0])[0])  # (y1, x1): pixel edges
    assert np.allclose(corner, image.data_to_world((1.5, 3.5)))
    assert boxes_from_layer(boxes, ["pore"]) == [box]  # read back in pixels
    # a box drawn by hand with pixel edges rows 20..30, columns 8..16, given in world µm
    edges = [(20, 8), (20, 16), (30, 16), (30, 8)]
    world = np.array([image.data_to_world((r - 0.5, c - 0.5)) for r, c in edges])
    boxes.add_rectangles(np.array([boxes.world_to_data(w) for w in world]))
    drawn = boxes_from_layer(boxes, ["pore"])[1]
    assert [drawn[k] for k in ("x1", "y1", "x2", "y2")] == pytest.approx([8, 20, 16, 30])
    # without an image layer: at the pixel size from the origin, as before
    kw = labels_layer_kwargs(np.zeros((4, 4), np.uint32), 0.5, "a labels", "a", "instances")
    assert kw["scale"] == (0.5, 0.5) and "translate" not in kw
    assert "translate" not in boxes_layer_kwargs([], 0.5, ["pore"], "a boxes", "a")


# -- the Pixel size dock on a stack ---------------------------------------------------------------
def test_pixel_size_reaches_the_layers_over_a_stack(make_napari_viewer):
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((3, 64, 80), np.uint8), name="stack", scale=(3, 1, 1))
    labels = viewer.add_labels(np.zeros((3, 64, 80), np.int32), name="stack labels")
    plane = viewer.add_labels(np.zeros((64, 80), np.uint8), name="one plane's prediction")
    other = viewer.add_labels(np.zeros((3, 64, 64), np.int32), name="another size")
    widget = ScaleWidget(viewer)
    widget._image.value = stack
    widget.apply(0.5)
    assert tuple(stack.scale) == pytest.approx((3, 0.5, 0.5))  # the z step stays
    assert tuple(labels.scale) == pytest.approx((1, 0.5, 0.5))
    assert tuple(plane.scale) == pytest.approx((0.5, 0.5))
    assert tuple(other.scale) == pytest.approx((1, 1, 1))
