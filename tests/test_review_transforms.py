"""Layer geometry review: hand-drawn boxes into a project, the Pixel size dock on other images
and on affine images, and stacks whose rotation turns the planes into the rows."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure._layers import image_layer_kwargs


@pytest.mark.parametrize("translate", [(0.0, 0.0), (10.0, 20.0)])
def test_curate_takes_hand_drawn_boxes_at_their_pixels(
    make_napari_viewer, settings_home, tmp_path, translate
):
    from napari_microstructure.widgets.curate import CurateWidget

    viewer = make_napari_viewer()
    img = (np.random.default_rng(0).random((128, 128)) * 255).astype(np.uint8)
    image = viewer.add_image(img, **image_layer_kwargs(0.5, "steel", translate=translate))
    # a box with pixel edges rows 40..80, columns 20..60, drawn with napari's own tools
    corners = np.array([[40, 20], [40, 60], [80, 60], [80, 20]], float) - 0.5
    boxes = viewer.add_shapes(
        [np.array([image.data_to_world(p) for p in corners])], shape_type="rectangle"
    )
    w = CurateWidget(viewer, autosave_ms=100)
    w.open_project(tmp_path / "proj")
    w._boxes_from.value = boxes
    image_id = w.add_image(image)
    saved = w.project.load_labels(image_id).boxes
    assert [[b[k] for k in ("x1", "y1", "x2", "y2")] for b in saved] == [[20, 40, 60, 80]]
    w.close()


def _scale_dock(viewer, image):
    from napari_microstructure.widgets.scale import ScaleWidget

    dock = ScaleWidget(viewer)
    dock._image.value = image
    return dock


def test_pixel_size_leaves_the_outline_drawn_on_another_image(make_napari_viewer, monkeypatch):
    from _notices import captured_messages

    import napari_microstructure.widgets.scale as scale_mod

    viewer = make_napari_viewer()
    a = viewer.add_image(np.zeros((256, 256), np.uint8), name="A")
    b = viewer.add_image(np.zeros((600, 800), np.uint8), name="B")
    on_b = viewer.add_shapes(
        [np.array([[400, 600], [400, 700], [500, 700], [500, 600]], float)], name="on B"
    )
    both = viewer.add_points(np.array([[100.0, 100.0]]), name="on both")
    shown = captured_messages(monkeypatch, scale_mod)
    _scale_dock(viewer, a).apply(0.5)
    assert tuple(a.scale) == (0.5, 0.5) and tuple(b.scale) == (1.0, 1.0)
    assert tuple(on_b.scale) == (1.0, 1.0)  # drawn beyond A: B's, untouched
    assert tuple(both.scale) == (1.0, 1.0)  # on both: left, and the user is told
    assert any("'on both' left as it is" in m for m in shown)


@pytest.mark.parametrize("placement", [{"affine": np.diag([2.0, 2.0, 1.0])}, {"shear": [0.5]}, {}])
def test_scale_bar_is_measured_in_the_images_pixels(make_napari_viewer, placement):
    from napari_microstructure._layers import layer_pixel_size

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((256, 256), np.uint8), name="im", **placement)
    dock = _scale_dock(viewer, image)
    dock._on_draw()
    lines = dock._line_layer()
    # a line over a 100-pixel scale bar: pixel (200, 50) to (200, 150)
    ends = [lines.world_to_data(image.data_to_world(p)) for p in ((200, 50), (200, 150))]
    lines.add_lines(np.array(ends))
    dock._bar_length.value = "50 µm"
    dock._on_from_line()
    assert layer_pixel_size(image) == pytest.approx(0.5)


def test_a_stack_turned_into_its_planes_is_told(make_napari_viewer, monkeypatch):
    import napari.utils.notifications as notes

    from napari_microstructure._layers import image as image_mod
    from napari_microstructure._layers import placement_like

    shown: list[str] = []
    monkeypatch.setattr(notes, "show_warning", shown.append)
    monkeypatch.setattr(image_mod, "_TOLD_MIXED", set())
    viewer = make_napari_viewer()
    a = np.deg2rad(20)
    turn = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    tilted = viewer.add_image(np.zeros((3, 64, 64), np.uint8), name="tilted", rotate=turn)
    flat = viewer.add_image(np.zeros((3, 64, 64), np.uint8), name="flat")
    placement_like(flat)
    assert shown == []
    placement_like(tilted)
    placement_like(tilted)  # once per layer
    assert len(shown) == 1 and "'tilted'" in shown[0]


def test_with_one_image_an_overhanging_drawing_follows_it(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    past = viewer.add_shapes(
        [np.array([[50, 50], [50, 66], [66, 66], [66, 50]], float)], name="past the edge"
    )
    line = viewer.add_shapes([np.array([[32, -1.0], [32, 64.0]])], shape_type="line")
    _scale_dock(viewer, image).apply(0.5)
    assert tuple(past.scale) == (0.5, 0.5) and tuple(line.scale) == (0.5, 0.5)
