"""Data safety review: corrected class maps, Features-table edits, duplicated objects layers,
stack rows under Measure and renamed detections are never lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from napari_microstructure._layers import image_layer_kwargs


def test_a_corrected_class_map_is_kept_when_classify_runs_again(
    make_napari_viewer, qtbot, settings_home, monkeypatch
):
    import napari.utils.notifications as notes
    from _classify_data import trained

    from napari_microstructure.widgets.classify import ClassifyWidget

    shown: list[str] = []
    monkeypatch.setattr(notes, "show_info", shown.append)
    _, path, test, _ = trained()
    sample = next(s for s in test if s.label == "porous")
    viewer = make_napari_viewer()
    viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "porous"))
    w = ClassifyWidget(viewer)
    w.model_path = path
    w.n_crops = 8
    w.set_options(class_map=True, gradcam=False)
    w.classify()
    qtbot.waitUntil(lambda: not w.busy, timeout=300_000)
    first = w.class_map_layer
    first.paint((30, 30), 1)  # the expert corrects it with napari's brush
    corrected = np.array(first.data, copy=True)
    w.classify()
    qtbot.waitUntil(lambda: not w.busy, timeout=300_000)
    assert first in viewer.layers and np.array_equal(first.data, corrected)
    assert w.class_map_layer is not first  # the new map went to a new layer
    assert any("holds your corrections" in m for m in shown)
    # an uncorrected map is simply updated in place
    again = w.class_map_layer
    w.classify()
    qtbot.waitUntil(lambda: not w.busy, timeout=300_000)
    assert w.class_map_layer is again


def test_a_class_changed_in_the_features_table_is_autosaved(
    make_napari_viewer, tmp_path, settings_home, qtbot
):
    from napari_microstructure.core.curate import Project
    from napari_microstructure.widgets.curate import CurateWidget

    viewer = make_napari_viewer()
    w = CurateWidget(viewer, autosave_ms=100)
    w._classes.value = "inclusion, pore"
    assert w.open_project(tmp_path / "p") is not None
    image_id = w.add_image(viewer.add_image(np.zeros((32, 32), np.uint8), name="f"))
    boxes = w.layers_of(image_id)["boxes"]
    boxes.add_rectangles(np.array([[2.0, 2.0], [8.0, 8.0]]))
    qtbot.waitUntil(lambda: not w.unsaved, timeout=10_000)

    def saved_class() -> int:
        return Project.open(tmp_path / "p").load_labels(image_id).boxes[0]["class_id"]

    assert saved_class() == 0
    # napari's Features table writes the cell in place: no layer event
    boxes.features.loc[0, "class_name"] = "pore"
    assert w.unsaved  # the dock does not claim it is saved
    qtbot.waitUntil(lambda: saved_class() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: not w.unsaved, timeout=10_000)
    w.close()


def test_a_duplicated_objects_layer_is_never_painted(make_napari_viewer, qtbot, settings_home):
    from napari.layers._layer_actions import _duplicate_layer

    from napari_microstructure.core.synthetic import generate
    from napari_microstructure.widgets.refine import RefineWidget

    m = generate("etched", shape=(192, 192), seed=1, grain_size_um=15)
    viewer = make_napari_viewer()
    viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    w = RefineWidget(viewer)

    def centre(gid):
        d = ndi.distance_transform_edt(m.grains == gid)
        return np.unravel_index(np.argmax(d), d.shape)

    ids = np.unique(m.grains[60:130, 60:130])[:2]
    w.add_click(*centre(ids[0]))
    qtbot.waitUntil(lambda: not w.busy, timeout=120_000)
    w.new_object()
    objects = w.labels_layer
    viewer.layers.selection.active = objects
    _duplicate_layer(viewer.layers)
    copy = viewer.layers[f"{objects.name} copy"]
    kept = np.array(copy.data, copy=True)
    viewer.layers.remove(objects)  # start over; the copy is the user's backup
    w.add_click(*centre(ids[1]))
    qtbot.waitUntil(lambda: not w.busy, timeout=120_000)
    assert w.labels_layer is not copy and np.array_equal(copy.data, kept)
    assert (w.labels_layer.data > 0).any()


def test_measuring_one_plane_keeps_the_rows_of_the_other_planes(
    make_napari_viewer, qtbot, settings_home
):
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    data = np.zeros((2, 64, 64), np.uint32)
    data[0, 4:30, 4:30], data[0, 34:60, 34:60] = 1, 2
    data[1, 4:30, 34:60], data[1, 34:60, 4:30] = 3, 4
    feats = pd.DataFrame(
        {
            "index": [1, 2, 3, 4, 5],  # 5: an object deleted since: its row may go
            "class_name": ["ferrite", "pearlite", "inclusion", "pore", "gone"],
            "note": ["", "", "checked", "checked", ""],
        }
    )
    layer = viewer.add_labels(data, name="objects", scale=(1, 0.5, 0.5), features=feats)
    viewer.dims.set_point(0, 0)
    w = MeasureWidget(viewer)
    w.labels_layer = layer
    assert w.run() is not None
    qtbot.waitUntil(lambda: not w.busy, timeout=60_000)
    after = layer.features.set_index("index")
    assert sorted(after.index) == [1, 2, 3, 4]
    assert after.loc[3, "class_name"] == "inclusion" and after.loc[4, "note"] == "checked"
    assert np.isfinite(after.loc[1, "area"]) and np.isnan(after.loc[3, "area"])
    assert after.loc[2, "class_name"] == "pearlite"


def test_a_renamed_detections_layer_is_not_redrawn_by_the_slider(
    make_napari_viewer, qtbot, settings_home
):
    from _detect_data import defects_image

    from napari_microstructure.widgets.detect import DetectWidget

    img, _ = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(0.5, "defects"))
    w = DetectWidget(viewer)
    w.conf = 0.1
    assert w.run() is not None
    qtbot.waitUntil(lambda: not w.busy and w.layer is not None, timeout=120_000)
    layer = w.layer
    layer.name = "defects detections - kept at 0.1"  # the user keeps this result
    n0 = layer.nshapes
    w.show_conf = 0.8
    assert layer.nshapes == n0
    assert w.summary["count"].sum() < n0  # the table follows the slider
