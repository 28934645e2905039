"""Measure and Explain, review 24: a phase map is not measured as grains, the quality overlay
of masks with ids above 65535, a grain painted after "colour by", the sample's phase names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_microstructure.core.measure import summarize
from napari_microstructure.core.measure._checks import not_grain_ids

PLUGIN = "napari-microstructure"


def _blobs(seed: int = 1) -> np.ndarray:
    """A class map: squares of classes 1 and 2 on a 0 matrix, many pieces per class."""
    rng = np.random.default_rng(seed)
    cm = np.zeros((512, 512), np.int32)
    for k in range(60):
        r, c = rng.integers(20, 492, 2)
        cm[r - 12 : r + 12, c - 12 : c + 12] = 1 + k % 2
    return cm


def _measure(viewer, grains, qtbot, phases=None, names=""):
    from napari_microstructure.widgets.measure import MeasureWidget

    w = MeasureWidget(viewer)
    w.labels_layer = grains
    if phases is not None:
        w.phases_layer = phases
    w._phase_names.value = names
    assert w.run() is not None
    qtbot.waitUntil(lambda: not w.busy and w.summary is not None, timeout=120_000)
    return w


# -- 1. a class map of one or two ids gets its note; the sample's phases are not grains -------
@pytest.mark.parametrize("ids", ["0/1", "0/1/2"])
def test_a_class_map_of_one_or_two_ids_is_named_as_one(ids):
    cm = _blobs()
    arr = (cm > 0).astype(np.int32) if ids == "0/1" else cm
    note = summarize(arr, 0.5).get("note")
    assert note is not None and "looks like a grey image or a class map" in note
    one_grain = np.zeros((64, 64), np.uint8)
    one_grain[10:50, 10:50] = 1
    assert not_grain_ids(one_grain) is None  # one grain, one piece: nothing to say


def test_the_two_phase_samples_phase_map_is_not_measured_as_grains(
    make_napari_viewer, qtbot, settings_home
):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "two_phase")
    phases = viewer.layers[-1]
    w = _measure(viewer, phases, qtbot)
    s = w.summary
    assert s["grain_count"] is None and s["astm_g_intercept"] is None  # not "1 grain, G 10.1"
    assert "phase fractions only" in w._summary_text.value
    assert set(s["phase_fractions"]) == {"ferrite", "pearlite"}
    # a fresh dock offers it as the phase map
    from napari_microstructure.widgets.measure import MeasureWidget

    assert MeasureWidget(viewer).phases_layer is phases


# -- 2. Explain's quality overlay on masks with ids above 65535 ------------------------------
def test_quality_overlay_of_ids_above_65535_shows_each_masks_colour(
    make_napari_viewer, settings_home, monkeypatch
):
    import napari_microstructure._layers.explain as explain_layers
    from napari_microstructure.core.explain import quality_colors
    from napari_microstructure.widgets.explain import ExplainWidget

    monkeypatch.setattr(explain_layers, "has_numba", lambda: False, raising=False)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((200, 200), np.float32), name="img")
    lab = np.zeros((200, 200), np.int64)
    ids = [100001, 100002, 200003, 7]
    quality = [0.1, 0.5, 0.95, 0.3]
    for i, k in enumerate(ids):
        lab[20 + 45 * i : 55 + 45 * i, 20:180] = k
    feats = pd.DataFrame({"index": ids, "quality": quality})
    masks = viewer.add_labels(lab, name="masks", features=feats)
    w = ExplainWidget(viewer)
    w.labels_layer = masks
    w._quality_btn.native.click()  # raised (napari: "Please install numba") and showed nothing
    over = [lay for lay in viewer.layers if lay.name == "masks quality"]
    assert len(over) == 1, [lay.name for lay in viewer.layers]
    want = quality_colors(np.array(ids), np.array(quality, float))
    for i, k in enumerate(ids):
        shown = over[0].colormap.map(np.array([over[0].data[30 + 45 * i, 50]]))[0]
        assert np.allclose(shown, want[k], atol=1e-3), (k, shown, want[k])
    assert np.array_equal(masks.data, lab)  # the masks keep their ids
    assert "4 objects" in w._info.value and "numba" in w._info.value
    w.close()


# -- 3. a grain painted after "colour by" shows ----------------------------------------------
def test_a_grain_painted_after_colour_by_is_visible(make_napari_viewer, qtbot, settings_home):
    viewer = make_napari_viewer()
    cells = np.kron(np.arange(1, 17).reshape(4, 4), np.ones((16, 16), np.int32))
    layer = viewer.add_labels(cells.astype(np.int32), name="grains")
    w = _measure(viewer, layer, qtbot)
    w.colour_by = "area"
    new_id = int(layer.data.max()) + 1
    layer.selected_label = new_id
    layer.paint((20, 20), new_id)
    assert (layer.data == new_id).any()
    assert layer.colormap.map(np.array([new_id]))[0][3] > 0.5  # was transparent
    assert layer.colormap.map(np.array([0]))[0][3] == 0  # background stays clear


# -- 4. the two-phase sample's phase names ---------------------------------------------------
def test_the_samples_phase_names_name_the_phase_fractions(
    make_napari_viewer, qtbot, settings_home
):
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "etched")
    grains = viewer.layers[-1]
    viewer.open_sample(PLUGIN, "two_phase")
    phases = viewer.layers[-1]
    grains.data = np.zeros(phases.data.shape, grains.data.dtype)
    grains.data[:, : phases.data.shape[1] // 2] = 1
    grains.data[:, phases.data.shape[1] // 2 :] = 2
    w = _measure(viewer, grains, qtbot, phases=phases)
    fractions = w.summary["phase_fractions"]
    assert set(fractions) == {"ferrite", "pearlite"}, fractions  # was phase_0, phase_1
    truth = phases.metadata["truth"]["phase_fractions"]
    assert all(abs(fractions[k] - truth[k]) < 1e-6 for k in truth)
