"""A lazily loaded image (dask, zarr: seconds a plane) is read by the docks' workers, never on
napari's GUI thread: Explain (whole image, low confidence, one box), Segment (the scribbles'
live re-prediction, the classifier applied elsewhere or taught again, U-Net prediction and
training), and a new scribbles layer reads no pixel at all."""

from __future__ import annotations

import threading
import traceback
from types import SimpleNamespace

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
from _explain_stub import stub_object_saliency
from _notices import captured_messages

import napari_microstructure.widgets._base as base_mod
import napari_microstructure.widgets._scribble as scribble_mod
import napari_microstructure.widgets._segment_unet as unet_mod
from napari_microstructure import _layers as L
from napari_microstructure._layers.segment import image_shape2d
from napari_microstructure.core.synthetic import generate

SIZE = 64


class Reads:
    """Every read of a lazy plane by the plugin's code: ``(tag, on the GUI thread)``. Reads by
    napari's own slicing (to draw the layer) are not the plugin's and are left out."""

    def __init__(self) -> None:
        self.log: list[tuple[str, bool]] = []

    def read(self, tag: str, plane: np.ndarray) -> np.ndarray:
        for frame in reversed(traceback.extract_stack()[:-1]):  # innermost caller first
            path = frame.filename.replace("\\", "/")
            if "/napari_microstructure/" in path:
                on_gui = threading.current_thread() is threading.main_thread()
                self.log.append((tag, on_gui))
                break
            if "/napari/" in path:  # napari drawing the layer
                break
        return plane

    def on_gui(self) -> list[str]:
        return [tag for tag, gui in self.log if gui]

    def in_worker(self) -> set[str]:
        return {tag for tag, gui in self.log if not gui}


@pytest.fixture
def reads():
    # dask's own threads would hide which thread asked: each read runs in the caller's thread
    with dask.config.set(scheduler="synchronous"):
        yield Reads()


def lazy(reads: Reads, name: str, planes: list[np.ndarray]) -> da.Array:
    """A dask stack of ``planes``; reading plane ``k`` logs ``f"{name}{k}"``."""
    return da.stack(
        [
            da.from_delayed(dask.delayed(reads.read)(f"{name}{k}", p), p.shape, p.dtype)
            for k, p in enumerate(planes)
        ]
    )


def fields() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a = generate("ferrite_pearlite", shape=(SIZE, SIZE), seed=3)
    b = generate("ferrite_pearlite", shape=(SIZE, SIZE), seed=8)
    return a.image, b.image, a.phases, b.phases


def strokes(phases: np.ndarray, n: int = 40, seed: int = 0) -> np.ndarray:
    """``n`` painted pixels of each phase (labels 1 and 2)."""
    marks = np.zeros(phases.shape, np.uint8)
    rng = np.random.default_rng(seed)
    for cls in (0, 1):
        rows, cols = np.nonzero(phases == cls)
        k = rng.choice(len(rows), n, replace=False)
        marks[rows[k], cols[k]] = cls + 1
    return marks


def test_a_new_scribbles_layer_reads_no_pixel(make_napari_viewer, settings_home, reads):
    viewer = make_napari_viewer()
    a, b, _, _ = fields()
    stack = viewer.add_image(lazy(reads, "A", [a, b]), name="A")
    viewer.dims.set_current_step(0, 1)
    assert image_shape2d(stack) == (SIZE, SIZE)
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    widget.image_layer = stack
    layer = widget.add_scribbles_layer()
    assert layer.data.shape == (2, SIZE, SIZE)
    assert reads.log == []  # its shape is the image's: nothing read


# -- Explain --------------------------------------------------------------------------------
@pytest.fixture
def explain_dock(make_napari_viewer, settings_home, monkeypatch, reads):
    import napari_microstructure.core.explain as explain_core
    from napari_microstructure.widgets import explain

    stub_object_saliency(monkeypatch)  # no model loaded, a map of the image's size

    def saliency_map(image, det, method, ps, conf=0.25):
        yield from ()
        return np.ones(image.shape[:2], np.float32)

    def class_score_maps(image, det, ps):
        yield from ()
        zeros = np.zeros(image.shape[:2], np.float32)
        return explain_core.ScoreMaps(zeros, zeros.copy())

    monkeypatch.setattr(explain_core, "saliency_map", saliency_map)
    monkeypatch.setattr(explain_core, "class_score_maps", class_score_maps)
    captured_messages(monkeypatch, explain, base_mod)
    viewer = make_napari_viewer()
    a, b, _, _ = fields()
    img = viewer.add_image(lazy(reads, "A", [a, b]), name="A")
    viewer.dims.set_current_step(0, 1)
    box = {"x1": 8.0, "y1": 8.0, "x2": 20.0, "y2": 20.0, "confidence": 0.6}
    rows = pd.DataFrame([{**box, "class_id": 1, "class_name": "pore"}])
    boxes = viewer.add_shapes(**L.detections_layer_kwargs(rows, None, "A boxes", image=img))
    widget = explain.ExplainWidget(viewer)
    widget._on_click.value = False
    widget.image_layer, widget.detections_layer = img, boxes
    yield widget
    widget.close()


@pytest.mark.parametrize("action", ["explain_image", "show_low_confidence", "explain_selected"])
def test_explain_reads_the_plane_in_its_worker(explain_dock, reads, wait_idle, action):
    reads.log.clear()
    args = (0,) if action == "explain_selected" else ()
    assert getattr(explain_dock, action)(*args) is not None
    wait_idle(explain_dock)
    assert reads.on_gui() == [], reads.log
    assert reads.in_worker() == {"A1"}  # the plane on screen, read by the worker


# -- Segment: the pixel classifier ----------------------------------------------------------
def test_scribbles_read_the_planes_in_the_worker(make_napari_viewer, settings_home, qtbot, reads):
    viewer = make_napari_viewer()
    a, b, pa, pb = fields()
    image_a = viewer.add_image(lazy(reads, "A", [a, b]), name="A")
    image_b = viewer.add_image(lazy(reads, "B", [b, a]), name="B")
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    widget.live = False  # each re-prediction asked for below, as the live one asks for it
    widget.image_layer = image_a
    viewer.dims.set_current_step(0, 0)
    scribbles = widget.add_scribbles_layer()
    marks = np.zeros(scribbles.data.shape, np.uint8)
    marks[0] = strokes(pa)

    on_gui, in_worker = {}, {}

    def step(name: str) -> None:
        reads.log.clear()
        assert widget.predict_scribbles(quiet=True) is not None
        qtbot.waitUntil(lambda: not widget.busy, timeout=120_000)
        on_gui[name], in_worker[name] = reads.on_gui(), reads.in_worker()

    scribbles.data = marks.copy()
    step("taught")  # on plane 0
    viewer.dims.set_current_step(0, 1)
    step("applied")  # to plane 1 (no strokes there)
    assert "applied to A (plane 1)" in widget.status
    viewer.dims.set_current_step(0, 0)
    widget.image_layer = image_b
    widget.scribbles_layer = scribbles
    marks[0] |= np.where(marks[0] == 0, strokes(pa, 20, seed=1), 0).astype(np.uint8)
    scribbles.data = marks.copy()  # new strokes on A's plane 0 while B is chosen
    step("taught again")  # on A's plane 0, then applied to B's
    assert "taught on A (plane 0), applied to B (plane 0)" in widget.status
    assert on_gui == {"taught": [], "applied": [], "taught again": []}
    assert in_worker == {"taught": {"A0"}, "applied": {"A1"}, "taught again": {"A0", "B0"}}


# -- Segment: the U-Net ---------------------------------------------------------------------
@pytest.fixture
def unet_dock(make_napari_viewer, settings_home, monkeypatch, tmp_path, reads):
    model = SimpleNamespace(task="phases", classes=["ferrite", "pearlite"], metrics={})
    model.path = tmp_path / "unet.pt"

    def segment_image(image, model, ps, tta=False):
        yield from ()
        zeros = np.zeros(image.shape[:2], np.uint8)
        confidence = zeros.astype(np.float32)
        return SimpleNamespace(
            labels=zeros, confidence=confidence, task="phases", warning=None, classes=model.classes
        )

    def train_model(pairs, cfg, init=None):
        assert pairs[0].image.shape[-2:] == (SIZE, SIZE)
        yield from ()
        return model

    monkeypatch.setattr(unet_mod, "load_model", lambda path: model)
    monkeypatch.setattr(unet_mod, "segment_image", segment_image)
    monkeypatch.setattr(unet_mod, "train_model", train_model)
    monkeypatch.setattr(unet_mod, "save_or_keep", lambda model, out: None)
    captured_messages(monkeypatch, unet_mod, scribble_mod, base_mod)
    viewer = make_napari_viewer()
    a, b, pa, _ = fields()
    image = viewer.add_image(lazy(reads, "A", [a, b]), name="A")
    viewer.dims.set_current_step(0, 1)
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    widget.live = False
    widget.image_layer = image
    widget.model_path = model.path
    widget.output_path = model.path
    widget.annotation_layer = viewer.add_labels(pa.astype(np.uint8) + 1, name="truth")
    return widget


@pytest.mark.parametrize("action", ["predict", "train"])
def test_unet_reads_the_plane_in_its_worker(unet_dock, reads, wait_idle, action):
    reads.log.clear()
    assert getattr(unet_dock, action)() is not None
    wait_idle(unet_dock)
    assert reads.on_gui() == [], reads.log
    assert reads.in_worker() == {"A1"}


def test_unet_predict_loads_its_model_in_the_worker(unet_dock, wait_idle, monkeypatch):
    # (the model file was loaded on the GUI thread before the worker started)
    import threading

    loaded_on = []
    model = unet_mod.load_model(None)  # the fixture's stand-in

    def load_model(path):
        loaded_on.append(threading.current_thread() is threading.main_thread())
        return model

    monkeypatch.setattr(unet_mod, "load_model", load_model)
    assert unet_dock.predict() is not None
    assert loaded_on == []  # not before the worker runs
    wait_idle(unet_dock)
    assert loaded_on == [False] and "ferrite" in unet_dock._model_info.value
