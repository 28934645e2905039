"""Refine dock (review): clicks and boxes on a translated image, objects of a stack stay on their
plane, undo keeps what was painted by hand, and an image that changes size gets a new layer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


@pytest.fixture(scope="module")
def etched():
    return generate("etched", shape=(256, 256), seed=1, grain_size_um=15)


def _centre_of(truth, gid):
    d = ndi.distance_transform_edt(truth == gid)
    return tuple(int(i) for i in np.unravel_index(np.argmax(d), d.shape))


def _click(w, layer, world):
    """A mouse click (press and release) at a world position on a prompts layer."""
    ev = SimpleNamespace(type="mouse_press", position=tuple(world), modifiers=(), button=1)
    gen = w._on_click(layer, ev)
    next(gen)
    ev.type = "mouse_release"
    with pytest.raises(StopIteration):
        next(gen)


def _iou(a, b) -> float:
    return (a & b).sum() / max((a | b).sum(), 1)


def test_clicks_on_a_translated_image(make_napari_viewer, settings_home, wait_idle, etched):
    m = etched
    viewer = make_napari_viewer()
    kwargs = image_layer_kwargs(m.pixel_size, "etched", translate=(50.0, 80.0))
    image = viewer.add_image(m.image, **kwargs)
    w = RefineWidget(viewer)
    w.prepare()
    wait_idle(w)
    objects, prompts = w.labels_layer, w.prompts_layer
    on_screen = image.data_to_world((7.0, 11.0))  # both layers lie on the image
    assert np.allclose(objects.world_to_data(on_screen), (7.0, 11.0))
    assert np.allclose(prompts.world_to_data(on_screen), np.multiply((7.0, 11.0), m.pixel_size))
    gid = int(m.grains[128, 128])
    r, c = _centre_of(m.grains, gid)
    _click(w, prompts, image.data_to_world((r, c)))
    wait_idle(w)
    assert objects.data[r, c] == 1
    assert _iou(objects.data == 1, m.grains == gid) > 0.7
    assert np.allclose(prompts.data_to_world(prompts.data[0]), image.data_to_world((r, c)))


def test_boxes_on_a_translated_image(make_napari_viewer, settings_home, wait_idle, etched):
    m = etched
    viewer = make_napari_viewer()
    kwargs = image_layer_kwargs(m.pixel_size, "etched", translate=(30.0, 40.0))
    image = viewer.add_image(m.image, **kwargs)
    gid = int(m.grains[128, 128])
    rows, cols = np.nonzero(m.grains == gid)
    # the user draws a box around the grain on screen, in a Shapes layer of their own
    corners = [
        image.data_to_world((rows.min() - 1, cols.min() - 1)),
        image.data_to_world((rows.max() + 1, cols.max() + 1)),
    ]
    boxes = viewer.add_shapes(np.array(corners), shape_type="rectangle", name="my boxes")
    w = RefineWidget(viewer)
    w._boxes.value = boxes
    w.refine_boxes()
    wait_idle(w)
    wait_idle(w)
    assert _iou(w.labels_layer.data > 0, m.grains == gid) > 0.7


def test_objects_of_a_stack_stay_on_their_plane(make_napari_viewer, settings_home, wait_idle):
    a = generate("etched", shape=(192, 192), seed=1, grain_size_um=15)
    b = generate("etched", shape=(192, 192), seed=2, grain_size_um=15)
    viewer = make_napari_viewer()
    image = viewer.add_image(
        np.stack([a.image, b.image]), name="stack", scale=(2.0, 0.5, 0.5), translate=(0, 5, 7)
    )
    viewer.dims.set_current_step(0, 0)
    w = RefineWidget(viewer)
    r, c = _centre_of(a.grains, int(a.grains[96, 96]))
    w.add_click(r, c)
    wait_idle(w)
    objects = w.labels_layer
    assert objects.data.shape == (2, 192, 192)
    assert np.allclose(objects.data_to_world((1, r, c)), image.data_to_world((1, r, c)))
    on_plane_0 = objects.data[0].copy()
    assert on_plane_0[r, c] == 1 and not objects.data[1].any()
    # the same spot on plane 1 (other grains): a click there is a new object on that plane
    viewer.dims.set_current_step(0, 1)
    w.add_click(r, c)
    wait_idle(w)
    assert np.array_equal(objects.data[0], on_plane_0)
    gid = int(b.grains[r, c])
    assert objects.data[1, r, c] == 2 and _iou(objects.data[1] == 2, b.grains == gid) > 0.7
    w.undo()
    assert np.array_equal(objects.data[0], on_plane_0) and not objects.data[1].any()
    # segment-all on plane 1 keeps the objects of plane 0 and their ids
    w.segment_all()
    wait_idle(w)
    assert np.array_equal(objects.data[0], on_plane_0)
    assert objects.data[1].max() > 10 and 1 not in set(np.unique(objects.data[1]))
    assert 1 in set(objects.features["index"])


def test_undo_keeps_pixels_painted_by_hand(make_napari_viewer, settings_home, wait_idle, etched):
    m = etched
    viewer = make_napari_viewer()
    viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    w = RefineWidget(viewer)
    r, c = _centre_of(m.grains, int(m.grains[128, 128]))
    w.add_click(r, c)
    wait_idle(w)
    objects = w.labels_layer
    rows, cols = np.nonzero(objects.data == 1)
    w.new_object()
    # the user paints an object of their own (7) on background inside object 1's box
    window = np.zeros(objects.data.shape, bool)
    window[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
    by_hand = np.nonzero(window & (objects.data == 0))
    by_hand = (by_hand[0][:20], by_hand[1][:20])
    objects.data[by_hand] = 7
    # ... and paints over a part of object 1 by hand (8)
    over = (rows[:5], cols[:5])
    objects.data[over] = 8
    w.undo()
    assert (objects.data[by_hand] == 7).all() and (objects.data[over] == 8).all()
    assert not (objects.data == 1).any()


def test_image_replaced_by_another_size(make_napari_viewer, settings_home, wait_idle, etched):
    m = etched
    other = generate("etched", shape=(200, 240), seed=2, grain_size_um=15)
    viewer = make_napari_viewer()
    image = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    w = RefineWidget(viewer)
    w.add_click(*_centre_of(m.grains, int(m.grains[128, 128])))
    wait_idle(w)
    w.new_object()
    old = w.labels_layer
    kept = old.data.copy()
    image.data = other.image  # cropped, reloaded or replaced by a script
    r, c = _centre_of(other.grains, int(other.grains[150, 200]))
    w.add_click(r, c)
    wait_idle(w)
    new = w.labels_layer
    assert new is not old and new.data.shape == (200, 240) and new.data[r, c] == 1
    assert old in viewer.layers and np.array_equal(old.data, kept)
