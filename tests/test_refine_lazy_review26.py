"""Refine on a lazy (dask) image (review 26): *prepare image*, *segment all grains* and clicks
read its chunks in the worker, never on napari's GUI thread, also for level 0 of a multiscale
image, and give the same objects as on the same image in memory."""

from __future__ import annotations

import threading

import dask
import dask.array as da
import numpy as np
import pytest
from test_review_refine_ui import _centre, _grains

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


class Reads:
    """The threads that read a chunk of level 0, noted by the chunk loader."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def load(self, block: np.ndarray) -> np.ndarray:
        self.threads.append(threading.current_thread())
        return block

    def on_gui(self) -> int:
        return sum(t is threading.main_thread() for t in self.threads)

    def in_worker(self) -> int:
        return sum(t is not threading.main_thread() for t in self.threads)


@pytest.fixture
def micrograph():
    return generate("etched", shape=(192, 192), seed=3, grain_size_um=15)


def _layer_data(kind: str, image: np.ndarray, reads: Reads) -> tuple[object, bool]:
    if kind == "numpy":
        return image, False
    lazy = da.from_array(image, chunks=(96, 96)).map_blocks(reads.load, dtype=image.dtype)
    if kind == "dask":
        return lazy, False
    return [lazy, da.from_array(image[::2, ::2], chunks=(48, 48))], True  # level 1 in memory


def _run(viewer, qtbot, wait_idle, m, kind: str) -> tuple[list, Reads]:
    """A first click (prepares the image), a click after napari redrew the image, *prepare
    image* and *segment all grains*: the objects after each, and the chunk reads."""
    reads = Reads()
    data, multiscale = _layer_data(kind, m.image, reads)
    kw = image_layer_kwargs(m.pixel_size, kind)
    img = viewer.add_image(data, multiscale=multiscale, **kw)
    w = RefineWidget(viewer)
    w.image_layer, w.engine_name = img, "classical"
    first, second = (_centre(m.grains, g) for g in _grains(m.grains, 2))
    out, gui = [], []

    def step(action, then=None) -> None:
        qtbot.wait(20)  # napari's own redraws done
        reads.threads.clear()
        action()
        gui.append(reads.on_gui())  # read on the GUI thread by the dock's call itself
        wait_idle(w)
        if then is not None:
            then()
        out.append(np.array(w.labels_layer.data))

    step(lambda: w.add_click(*first))  # prepares the image, then predicts
    assert kind == "numpy" or reads.in_worker() > 0
    w.new_object()
    img.refresh()  # napari redraws it (as for new contrast limits): were its pixels edited?
    step(lambda: w.add_click(*second))
    assert not w.busy and w.ready  # no new preparation: the same pixels
    step(w.prepare)
    assert kind == "numpy" or reads.in_worker() > 0
    step(w.segment_all)
    assert kind == "numpy" or reads.in_worker() > 0
    assert gui == [0, 0, 0, 0]
    w.close()
    return out, reads


@pytest.mark.parametrize("kind", ["dask", "multiscale"])
def test_lazy_image_read_in_worker_same_objects(
    make_napari_viewer, settings_home, qtbot, wait_idle, micrograph, kind
):
    with dask.config.set(scheduler="synchronous"):  # chunks read in the thread computing them
        lazy, _ = _run(make_napari_viewer(), qtbot, wait_idle, micrograph, kind)
    in_memory, _ = _run(make_napari_viewer(), qtbot, wait_idle, micrograph, "numpy")
    assert lazy[0].max() == 1 and lazy[1].max() == 2  # one object per click
    assert lazy[3].max() > 10  # segment all
    for a, b in zip(lazy, in_memory, strict=True):
        np.testing.assert_array_equal(a, b)


def test_numpy_image_edited_in_place_is_prepared_again(
    make_napari_viewer, settings_home, wait_idle, micrograph
):
    """An image in memory is still checked pixel by pixel: an edit in place is seen."""
    viewer = make_napari_viewer()
    kw = image_layer_kwargs(micrograph.pixel_size, "mem")
    img = viewer.add_image(micrograph.image.copy(), **kw)
    w = RefineWidget(viewer)
    w.image_layer, w.engine_name = img, "classical"
    w.prepare()
    wait_idle(w)
    assert w.ready
    img.refresh()
    assert w.ready  # redrawn, same pixels
    img.data[:10] = 0
    img.refresh()
    assert not w.ready
    w.close()
