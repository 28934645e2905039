"""What the Refine dock and Explain's caches keep in memory: a closed image's Refine session is
let go, and Explain's in-memory caches are capped by bytes (a per-object map kept as its tile
window only)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

from napari_microstructure.core.explain import explain_model, object_saliency
from napari_microstructure.core.explain import saliency as S
from napari_microstructure.core.progress import run_to_end

# -- Refine: sessions of closed images -----------------------------------------------------------


@pytest.fixture
def etched():
    from napari_microstructure.core.synthetic import generate

    return generate("etched", shape=(160, 160), seed=3, grain_size_um=15)


def _add(viewer, sample, name: str):
    from napari_microstructure._layers import image_layer_kwargs

    return viewer.add_image(sample.image.copy(), **image_layer_kwargs(sample.pixel_size, name))


def _centre(truth, r, c):
    from scipy import ndimage as ndi

    d = ndi.distance_transform_edt(truth == truth[r, c])
    return np.unravel_index(np.argmax(d), d.shape)


def test_a_closed_image_is_let_go_by_the_sessions(make_napari_viewer, etched):
    """Sessions kept every image they ever had (20 closed 512 x 512 images: 25 MiB)."""
    from napari_microstructure.widgets._refine_session import DOCK_KEY, Sessions

    viewer = make_napari_viewer()
    image, other = _add(viewer, etched, "A"), _add(viewer, etched, "B")
    hooked, unhooked = [], []
    sessions = Sessions(viewer, lambda p, s: hooked.append(p), unhooked.append)
    s = sessions.ensure(image)
    kept = sessions.ensure(other)
    labels, points = s.labels, s.points
    assert hooked == [points, kept.points] and DOCK_KEY in points.metadata
    ref = weakref.ref(image)
    del s
    viewer.layers.remove(image)
    assert unhooked == [points] and DOCK_KEY not in points.metadata  # free for any dock
    assert labels in viewer.layers and points in viewer.layers  # the user's to delete
    del image
    gc.collect()
    assert ref() is None
    # the image still open keeps its session, objects layer and prompts
    assert sessions.get(other) is kept and kept.labels in viewer.layers
    viewer.layers.remove(labels)
    assert sessions.of_image(other) is kept
    sessions.close()


def test_an_image_added_again_finds_its_layers(
    make_napari_viewer, settings_home, wait_idle, etched
):
    """The image closed and added again: the dock works on its objects and prompts layers as
    a dock opened later would; an image still open keeps its undo history meanwhile."""
    from napari_microstructure.widgets._refine_session import DOCK_KEY
    from napari_microstructure.widgets.refine import RefineWidget

    sample = etched
    viewer = make_napari_viewer()
    a, b = _add(viewer, sample, "A"), _add(viewer, sample, "B")
    dock = RefineWidget(viewer)
    dock.image_layer = b
    dock.add_click(*_centre(sample.grains, 40, 40))
    wait_idle(dock)
    b_objects = dock.labels_layer
    dock.image_layer = a
    dock.add_click(*_centre(sample.grains, 40, 40))
    wait_idle(dock)
    objects, prompts = dock.labels_layer, dock.prompts_layer
    assert objects.data.max() == 1
    viewer.layers.remove(a)
    assert dock._on_click not in prompts.mouse_drag_callbacks
    assert DOCK_KEY not in prompts.metadata
    n_layers = len(viewer.layers)
    viewer.add_layer(a)
    dock.image_layer = a
    dock.add_click(*_centre(sample.grains, 120, 120))
    wait_idle(dock)
    assert dock.labels_layer is objects and dock.prompts_layer is prompts
    assert len(viewer.layers) == n_layers + 1  # the image alone: no new layers
    assert len(np.unique(objects.data)) == 3  # background and two objects
    assert dock._on_click in prompts.mouse_drag_callbacks
    # B, open all along, still undoes its object
    dock.image_layer = b
    assert dock.labels_layer is b_objects and b_objects.data.max() == 1
    dock.undo()
    assert b_objects.data.max() == 0
    dock.close()


# -- Explain: caches capped by bytes ---------------------------------------------------------


def test_the_result_cache_is_capped_by_bytes():
    """Twelve 4096 x 4096 maps were kept (768 MiB) whatever their size."""
    from napari_microstructure.core.explain.cache import MEMORY_LIMIT, ResultCache

    big = np.broadcast_to(np.float32(0), (4096, 4096))  # 64 MiB as counted, none allocated
    cache = ResultCache(disk=False)
    for k in "abcdefgh":
        cache.put(k, big)
    assert cache.nbytes <= MEMORY_LIMIT and cache.get("h") is not None
    assert cache.get("a") is None
    small = ResultCache(disk=False, max_bytes=100)
    small.put("a", np.zeros(10, np.float32))
    small.put("b", np.zeros(1000, np.float32))  # over the cap alone: kept, as the newest
    assert small.get("a") is None and small.get("b") is not None and small.nbytes == 4000
    small.put("b", np.zeros(5, np.float32))  # replaced: counted once
    assert small.nbytes == 20
    small.clear()
    assert small.nbytes == 0 and small.get("b") is None


def test_bounded_lru_counts_and_bytes():
    from napari_microstructure.core.explain.cache import BoundedLRU

    lru: BoundedLRU[bytes] = BoundedLRU(3, 10, len)
    for k in "abcd":
        lru.put(k, b"xx")
    assert len(lru) == 3 and lru.get("a") is None and lru.nbytes == 6
    assert lru.get("b") == b"xx"  # now the most recent: c goes first
    lru.put("e", b"xxxxxx")  # 12 bytes: the least recent goes
    assert lru.get("c") is None and lru.get("d") is not None and lru.nbytes == 10
    lru.put("f", b"x" * 20)  # alone over the cap: kept, the others go
    assert len(lru) == 1 and lru.get("f") is not None and lru.nbytes == 20


@pytest.fixture
def random_model():
    from ultralytics.nn.tasks import DetectionModel, yaml_model_load

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = yaml_model_load("yolov8n.yaml")
    cfg["scale"], cfg["scales"] = "n", {"n": [0.33, 0.125, 1024]}
    torch.manual_seed(0)
    em = explain_model(DetectionModel(cfg, nc=3, verbose=False))
    em.imgsz, em.pixel_size, em.names = 160, 0.5, {0: "a", 1: "b", 2: "c"}
    yield em
    torch.set_num_threads(before)


def test_an_object_map_is_kept_as_its_tile_window(random_model, monkeypatch):
    """Each cached per-object map was image-sized (32 of them: 2 GiB at 4096 x 4096)."""
    from napari_microstructure.core.explain.cache import MEMORY_LIMIT, BoundedLRU

    monkeypatch.setattr(S, "_OBJECTS", BoundedLRU(256, MEMORY_LIMIT, S._OBJECTS._size_of))
    rng = np.random.default_rng(0)
    img = rng.integers(60, 200, (450, 450)).astype(np.uint8)
    box = (200, 200, 230, 240)
    first = run_to_end(object_saliency(img, random_model, box, 1, method="layercam"))
    x0, y0, x1, y1 = first.window
    assert S._OBJECTS.nbytes == (x1 - x0) * (y1 - y0) * 4 < img.size * 4
    messages: list[str] = []
    again = run_to_end(
        object_saliency(img, random_model, box, 1, method="layercam"),
        lambda p: messages.append(p.message),
    )
    assert messages == ["object map from cache"]
    assert again.saliency.dtype == first.saliency.dtype
    assert np.array_equal(again.saliency, first.saliency)
    assert (again.score, again.iou, again.window) == (first.score, first.iou, first.window)
    fresh = run_to_end(
        object_saliency(img, random_model, box, 1, None, "layercam", use_cache=False)
    )
    assert np.array_equal(fresh.saliency, first.saliency)
    again.saliency[:] = 7  # a caller's map is its own: the cache is untouched
    first.saliency[:] = 7
    third = run_to_end(object_saliency(img, random_model, box, 1, method="layercam"))
    assert np.array_equal(third.saliency, fresh.saliency)
