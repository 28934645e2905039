"""Refine dock: one objects and prompts layer per image, failed clicks, add mode, image edits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks
from scipy import ndimage as ndi

import napari_microstructure.widgets._base as base
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure._layers.image import PIXEL_SIZE_KEY
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


def _centre_of(truth, gid):
    d = ndi.distance_transform_edt(truth == gid)
    return np.unravel_index(np.argmax(d), d.shape)


def _grain_near(truth, r, c):
    return _centre_of(truth, int(truth[r, c]))


@pytest.fixture
def two_images(make_napari_viewer, settings_home):
    a = generate("etched", shape=(256, 256), seed=1, grain_size_um=15)
    b = generate("etched", shape=(160, 200), seed=2, grain_size_um=15)
    viewer = make_napari_viewer()
    img_a = viewer.add_image(a.image, **image_layer_kwargs(a.pixel_size, "A"))
    img_b = viewer.add_image(b.image, **image_layer_kwargs(2 * b.pixel_size, "B"))
    w = RefineWidget(viewer)
    w.image_layer = img_a
    return SimpleNamespace(a=a, b=b, viewer=viewer, img_a=img_a, img_b=img_b, w=w)


def test_each_image_keeps_its_own_objects_prompts_and_undo(two_images, wait_idle, monkeypatch):
    import napari_microstructure.widgets.refine as refine_module

    t = two_images
    w, viewer = t.w, t.viewer
    w.add_click(*_grain_near(t.a.grains, 128, 128))
    wait_idle(w)
    a_objects, a_prompts = w.labels_layer, w.prompts_layer
    assert a_objects.name == "A objects" and a_objects.data.max() == 1
    a_data, a_features = a_objects.data.copy(), a_objects.features.copy()

    w.image_layer = t.img_b  # another image, another size and pixel size
    assert w.labels_layer is None and w.prompts_layer is None  # none made for B yet
    rb, cb = _grain_near(t.b.grains, 80, 100)
    w.add_click(rb, cb)
    wait_idle(w)
    b_objects, b_prompts = w.labels_layer, w.prompts_layer
    assert b_objects is not a_objects and b_prompts is not a_prompts
    assert b_objects.name == "B objects" and b_objects.data.shape == (160, 200)
    assert b_objects.data[rb, cb] == 1 and w.ready
    assert b_prompts.metadata[PIXEL_SIZE_KEY] == pytest.approx(2 * t.b.pixel_size)
    assert a_prompts.metadata[PIXEL_SIZE_KEY] == pytest.approx(t.a.pixel_size)
    assert np.array_equal(a_objects.data, a_data)

    w.segment_all()  # replaces B's objects only
    warnings: list[str] = []
    monkeypatch.setattr(refine_module, "show_warning", warnings.append)
    w.image_layer = t.img_a
    n_prompts = len(a_prompts.data)
    w.add_click(60, 60)  # A is not prepared and nothing would prepare it meanwhile: refused
    assert len(a_prompts.data) == n_prompts and "busy (segmenting all grains" in warnings[0]
    wait_idle(w)
    assert b_objects.data.max() > 10
    assert np.array_equal(a_objects.data, a_data) and a_objects.features.equals(a_features)

    # back to A: its layers, its open object and its undo history
    w.image_layer = t.img_a
    assert w.labels_layer is a_objects and w.prompts_layer is a_prompts
    w.new_object()
    w.add_click(*_grain_near(t.a.grains, 60, 60))
    wait_idle(w)
    assert set(np.unique(a_objects.data)) == {0, 1, 2}
    b_data = b_objects.data.copy()
    w.undo()
    w.undo()
    assert not a_objects.data.any() and np.array_equal(b_objects.data, b_data)

    # a dock opened later finds the layers of each image again
    n_layers = len(viewer.layers)
    w.close()
    again = RefineWidget(viewer)
    again.image_layer = t.img_b
    again.add_click(rb, cb)
    wait_idle(again)
    assert again.labels_layer is b_objects and len(viewer.layers) == n_layers


class _MouseEvent:
    """A stand-in for the event napari's canvas hands to mouse callbacks (a proxy whose target
    is replaced by each later event of the same drag)."""

    def __init__(self, **fields):
        self.__dict__["__wrapped__"] = SimpleNamespace(handled=False, **fields)

    def __getattr__(self, name):
        return getattr(self.__dict__["__wrapped__"], name)

    def __setattr__(self, name, value):
        if name == "__wrapped__":
            self.__dict__[name] = value
        else:
            setattr(self.__dict__["__wrapped__"], name, value)


def _click(layer, world, modifiers=()):
    fields = {"position": world, "pos": np.array([10.0, 10.0]), "modifiers": modifiers}
    press = _MouseEvent(type="mouse_press", button=1, **fields)
    mouse_press_callbacks(layer, press)
    mouse_release_callbacks(layer, SimpleNamespace(type="mouse_release", button=1, **fields))


@pytest.mark.parametrize("mode", ["pan_zoom", "add"])
def test_one_prompt_per_click_whatever_the_layer_mode(two_images, wait_idle, mode):
    t = two_images
    w, ps = t.w, t.a.pixel_size
    r, c = _grain_near(t.a.grains, 128, 128)
    w.add_click(r, c)
    wait_idle(w)
    prompts = w.prompts_layer
    prompts.mode = mode
    r2, c2 = _grain_near(t.a.grains, 60, 60)
    _click(prompts, (r2 * ps, c2 * ps), modifiers=("Shift",))
    assert len(prompts.data) == 2  # napari's own point in "add" mode is not a second prompt
    assert np.allclose(prompts.data[-1], [r2 * ps, c2 * ps])
    assert prompts.features["positive"].tolist() == [True, False]
    # a click on A's prompts while the dock shows B works on A
    w.new_object()
    w.image_layer = t.img_b
    _click(prompts, (r2 * ps, c2 * ps))
    wait_idle(w)
    assert w.image_layer is t.img_a and len(prompts.data) == 1
    assert w.labels_layer.data[r2, c2] == 2


def test_a_failed_or_cancelled_preparation_leaves_no_empty_object(
    two_images, wait_idle, tmp_path, monkeypatch
):
    from napari_microstructure.core.progress import Progress
    from napari_microstructure.core.refine.classical import ClassicalEngine

    t = two_images
    w = t.w
    errors: list[str] = []
    monkeypatch.setattr(base, "show_error", errors.append)
    w.add_click(*_grain_near(t.a.grains, 128, 128))
    wait_idle(w)
    w.new_object()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    w.engine_name = "model"
    w._engines.model.value = str(bad)
    w.add_click(*_grain_near(t.a.grains, 60, 60))  # its preparation fails
    wait_idle(w)
    assert errors and len(w.prompts_layer.data) == 0  # the click's prompt went with it

    def endless(self, image, pixel_size=None):
        while True:  # until cancelled
            yield Progress(0, 1, "never done")

    monkeypatch.setattr(ClassicalEngine, "set_image", endless)
    w.engine_name = "classical"
    w.add_click(*_grain_near(t.a.grains, 60, 60))
    w.cancel()  # and this preparation is cancelled
    wait_idle(w)
    monkeypatch.undo()
    w.new_object()
    w.add_click(*_grain_near(t.a.grains, 200, 200))
    wait_idle(w)
    assert set(np.unique(w.labels_layer.data)) == {0, 1, 2}  # no id skipped
    w.undo()
    assert set(np.unique(w.labels_layer.data)) == {0, 1}
    w.undo()  # the first object, not an empty step
    assert not w.labels_layer.data.any()


def test_editing_the_image_in_place_prepares_it_again(two_images, wait_idle):
    t = two_images
    w, img = t.w, t.img_a
    w.add_click(*_grain_near(t.a.grains, 128, 128))
    wait_idle(w)
    first = w.engine
    img.refresh()  # redrawn, pixels unchanged: still ready
    assert w.ready
    img.data[:] = np.flipud(img.data)
    img.refresh()
    assert not w.ready
    flipped = np.flipud(t.a.grains)
    w.new_object()
    r, c = _grain_near(flipped, 40, 180)
    w.add_click(r, c)
    wait_idle(w)
    assert w.ready and w.engine is not first
    got, truth = w.labels_layer.data == 2, flipped == flipped[r, c]
    assert (got & truth).sum() / (got | truth).sum() > 0.7
