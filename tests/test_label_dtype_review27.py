"""Review 27: the empty Labels layers the docks make for a montage hold uint16 ids (napari
shows uint32 ids of a large plane slowly, on the GUI thread), and every id the plugin writes
into such a layer arrives exactly (the layer is widened first, never wrapped around)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from napari.layers import Labels

from napari_microstructure._layers import labels_edit as LE
from napari_microstructure.core.curate import Project

BIG = (4096, 4097)  # just above the threshold (4096 x 4096 px): light enough for a test
SMALL = (256, 256)


def _objects(shape=(64, 64), dtype=np.uint16) -> Labels:
    features = pd.DataFrame({c: pd.Series(dtype=object) for c in LE.COLUMNS})
    return Labels(np.zeros(shape, dtype), features=features, scale=(0.5, 0.5), name="objects")


def test_labels_dtype_threshold():
    from napari_microstructure._layers.label_dtype import LARGE_PLANE, labels_dtype, shown_labels

    assert BIG[0] * BIG[1] > LARGE_PLANE >= 4096 * 4096
    assert labels_dtype(BIG) == np.uint16
    assert labels_dtype((3, *BIG)) == np.uint16  # a stack: by its plane
    assert labels_dtype(BIG, 65535) == np.uint16
    assert labels_dtype(BIG, 65536) == np.uint32  # its ids do not fit
    assert labels_dtype((2048, 2048)) == np.uint32  # ordinary sizes: as before
    assert labels_dtype((50, 2048, 2048)) == np.uint32
    big = np.zeros(BIG, np.uint32)
    big[5, 5] = 65535
    assert shown_labels(big).dtype == np.uint16 and shown_labels(big)[5, 5] == 65535
    big[6, 6] = 70000
    assert shown_labels(big) is big  # kept: 70000 would wrap
    small = np.ones(SMALL, np.uint32)
    assert shown_labels(small) is small


def test_curate_montage_instances_are_uint16(curate_dock, tmp_path, qtbot):
    w = curate_dock(tmp_path / "proj")
    image = np.zeros(BIG, np.uint8)
    image[100:200, 100:200] = 200
    big = w.viewer.add_image(image, name="montage", scale=(0.5, 0.5))
    iid = w.add_image(big)
    layer = w.layers_of(iid)["instances"]
    assert layer.data.dtype == np.uint16 and layer.data.shape == BIG
    # napari's brush: an id near the top of uint16, saved exactly (stored as uint32)
    layer.paint((150, 150), 65535)
    w.flush()
    assert not w.unsaved
    saved = Project.open(w.project.root).load_labels(iid).instances
    assert saved.dtype == np.uint32 and saved[150, 150] == 65535
    np.testing.assert_array_equal(saved, layer.data)
    # shown again from the saved labels: uint16 while they fit ...
    w.open_image(iid)
    assert w.layers_of(iid)["instances"].data.dtype == np.uint16
    assert not w.unsaved  # the same ids: nothing to save
    # ... uint32 when the saved ids need it, exactly
    ids = saved.copy()
    ids[300, 300] = 70000
    w.project.save_labels(iid, instances=ids)
    w.open_image(iid)
    layer = w.layers_of(iid)["instances"]
    assert layer.data.dtype == np.uint32 and layer.data[300, 300] == 70000
    # an image of ordinary size: uint32 as before
    small = w.viewer.add_image(np.zeros(SMALL, np.uint8), name="small")
    sid = w.add_image(small)
    assert w.layers_of(sid)["instances"].data.dtype == np.uint32


def test_refine_montage_objects_layer_is_uint16(make_napari_viewer):
    from napari_microstructure.widgets._refine_session import Sessions

    viewer = make_napari_viewer()
    sessions = Sessions(viewer, lambda points, s: None, lambda points: None)
    big = viewer.add_image(np.zeros(BIG, np.uint8), name="montage", scale=(0.5, 0.5))
    s = sessions.ensure(big)
    assert s.labels.data.dtype == np.uint16 and s.labels.data.shape == BIG
    small = viewer.add_image(np.zeros(SMALL, np.uint8), name="small")
    assert sessions.ensure(small).labels.data.dtype == np.uint32  # as before
    sessions.close()


def test_fit_label_widens_and_keeps_the_layer_state():
    from napari_microstructure._layers.label_dtype import fit_label

    layer = _objects()
    layer.data[1, 1] = 3
    layer.features = pd.DataFrame(
        {"index": [3], "class_name": ["grain"], "score": [0.5], "engine": ["sam"]}
    )
    layer.selected_label = 7
    assert not fit_label(layer, 65535)  # it fits: nothing changes
    assert layer.data.dtype == np.uint16
    assert fit_label(layer, 70000)
    assert layer.data.dtype == np.uint32 and layer.data[1, 1] == 3
    assert list(layer.features["index"]) == [3] and layer.features["class_name"][0] == "grain"
    assert layer.selected_label == 7 and tuple(layer.scale) == (0.5, 0.5)
    assert layer.name == "objects"
    assert not fit_label(layer, 70000)


def test_paint_object_70000_into_uint16_is_exact():
    layer = _objects()
    mask = np.zeros((64, 64), bool)
    mask[10:20, 10:20] = True
    rec = LE.paint_object(layer, mask, 70000, "grain", 0.9, "sam")
    assert rec is not None
    assert np.all(layer.data[mask] == 70000) and not (layer.data == 70000 % 65536).any()
    assert layer.data.dtype == np.uint32
    assert list(layer.features["index"]) == [70000]
    LE.undo_paint(layer, rec)
    assert not layer.data.any() and not len(layer.features)


def test_paint_new_objects_and_segment_all_beyond_uint16():
    layer = _objects()
    one = np.ones((4, 4), bool)
    pieces = [((slice(0, 4), slice(0, 4)), one), ((slice(10, 14), slice(10, 14)), one)]
    vals = [{"class_name": "grain", "score": 1.0, "engine": "sam"}] * 2
    LE.paint_new_objects(layer, pieces, 65535, vals)
    assert layer.data[0, 0] == 65535 and layer.data[10, 10] == 65536
    assert list(layer.features["index"]) == [65535, 65536]
    # segment-all with more ids than uint16 holds, on a uint16 layer
    layer = _objects()
    labels = np.zeros((64, 64), np.uint32)
    labels[5, 5], labels[6, 6] = 1, 70000
    rec = LE.set_all_labels(layer, labels, "grain", "classical")
    assert layer.data[6, 6] == 70000 and layer.data[5, 5] == 1
    LE.undo_paint(layer, rec)
    assert not layer.data.any()


def test_segment_all_on_a_large_plane_keeps_it_uint16():
    layer = _objects(BIG, np.uint32)  # e.g. widened once: its ids fit again after
    labels = np.zeros(BIG, np.uint16)
    labels[1, 1], labels[2, 2] = 1, 2
    LE.set_all_labels(layer, labels, "grain", "classical")
    assert layer.data.dtype == np.uint16 and layer.data[2, 2] == 2


def test_new_object_at_the_top_of_uint16_moves_no_brush_past_it():
    from napari_microstructure.widgets._refine_objects import ObjectEditor

    editor = ObjectEditor()
    editor.labels = _objects()
    editor.labels.data[0, 0] = 65534
    editor.labels.selected_label = 65535
    assert editor.begin(30, 30) == 65535  # napari refuses a brush on 65536 of a uint16 layer
    mask = np.zeros((64, 64), bool)
    mask[30:33, 30:33] = True
    editor.paint(editor.entry, mask, "grain", 1.0, "sam")
    editor.close()
    assert editor.begin(50, 50) == 65536
    editor.paint(editor.entry, np.roll(mask, 20, axis=0), "grain", 1.0, "sam")
    assert editor.labels.data[50, 31] == 65536 and editor.labels.data[31, 31] == 65535
    assert editor.undo() and not (editor.labels.data == 65536).any()


def test_measure_reads_uint16_labels_as_uint32():
    from napari_microstructure.core.measure import measure
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.synthetic import generate

    m = generate("etched", shape=(128, 128), seed=1, grain_size_um=15)
    wide = m.grains.astype(np.uint32)
    s32, t32 = run_to_end(measure(wide, m.pixel_size))
    s16, t16 = run_to_end(measure(wide.astype(np.uint16), m.pixel_size))
    pd.testing.assert_frame_equal(t16, t32)
    assert s16 == s32


def test_ids_are_checked_without_a_copy_where_the_type_holds_them(monkeypatch):
    """Autosave checks a montage's uint16 instances on every save: no min/max, no copy."""
    from napari_microstructure.core.curate import manifest

    calls = []
    monkeypatch.setattr(manifest.np, "ascontiguousarray", lambda *a, **k: calls.append(a))
    manifest.refuse_bad_ids(np.full((4, 4), 65535, np.uint16))
    manifest.refuse_bad_ids(np.ones((4, 4), bool), "phases")
    assert calls == []
    for bad, role in ((np.full((2, 2), -1, np.int16), "instances"), (np.full(2, 300), "phases")):
        with pytest.raises(ValueError, match="whole numbers"):
            manifest.refuse_bad_ids(bad, role)
    monkeypatch.undo()
    stored = manifest.check_label_ids(np.full((2, 2), 65535, np.uint16))
    assert stored.dtype == np.uint32 and int(stored.max()) == 65535


def test_a_montage_sized_result_is_shown_as_uint16(make_napari_viewer):
    """Segment's grains and other label outputs of a montage: napari shows uint32 slowly."""
    from napari_microstructure._layers.output import OUTPUT_KEY, show_output

    viewer = make_napari_viewer()
    grains = np.zeros((4096, 4097), np.uint32)
    grains[:10, :10], grains[-1, -1] = 7, 65535
    kw = {"metadata": {OUTPUT_KEY: "grains"}, "scale": (1.0, 1.0), "name": "grains"}
    layer = show_output(viewer, Labels, grains, dict(kw))
    assert layer.data.dtype == np.uint16 and int(layer.data[-1, -1]) == 65535
    assert int(layer.data[0, 0]) == 7
    grains[-1, -1] = 70000  # ids above 65535 stay uint32
    layer = show_output(viewer, Labels, grains, dict(kw))
    assert layer.data.dtype == np.uint32 and int(layer.data[-1, -1]) == 70000
    small = np.full((64, 64), 3, np.uint32)
    kw["metadata"] = {OUTPUT_KEY: "small"}
    assert show_output(viewer, Labels, small, dict(kw)).data.dtype == np.uint32


def test_a_layer_narrowed_keeps_the_brush_on_an_id_it_holds(make_napari_viewer):
    """A result with over 65535 ids, the brush on a new id, then a run with fewer ids."""
    from napari_microstructure._layers.output import OUTPUT_KEY, show_output

    viewer = make_napari_viewer()
    many = np.zeros((4096, 4096), np.uint32)
    many.flat[: 70000 * 16 : 16] = np.arange(1, 70001)
    kw = {"metadata": {OUTPUT_KEY: "grains"}, "scale": (1.0, 1.0), "name": "grains"}
    layer = show_output(viewer, Labels, many, dict(kw))
    layer.selected_label = 70001  # napari's "new label"
    few = np.zeros_like(many)
    few.flat[: 300 * 16 : 16] = np.arange(1, 301)
    assert show_output(viewer, Labels, few, dict(kw)) is layer
    assert layer.data.dtype == np.uint16 and layer.selected_label == 301
    layer.paint((5, 5), layer.selected_label)  # a stroke, not WrongSelectedLabelError
    assert int(layer.data[5, 5]) == 301
