"""Curate dock: correct a mask and see it saved, export, the queue, start and cancel a training."""

from __future__ import annotations

import numpy as np
import pytest
from _curate_helpers import COUNTS

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.curate import CurateWidget


def _sample(viewer, seed=0):
    m = generate("defects", shape=(128, 128), pixel_size=0.5, seed=seed, **COUNTS)
    image = viewer.add_image(
        m.image, name=f"defects{seed}", scale=(0.5, 0.5), metadata={"pixel_size_um": 0.5}
    )
    labels = viewer.add_labels(m.defects.astype(np.uint32), name="proposals", scale=(0.5, 0.5))
    labels.metadata = {**labels.metadata, "engine": "synthetic-truth"}
    return m, image, labels


@pytest.fixture
def widget(make_napari_viewer, tmp_path, settings_home):
    viewer = make_napari_viewer()
    w = CurateWidget(viewer, autosave_ms=200)
    w._classes.value = "inclusion, pore, crack, precipitate, scratch"
    assert w.open_project(tmp_path / "proj") is not None
    yield w
    w.close()


def test_correct_mask_is_autosaved(widget, qtbot):
    m, image, labels = _sample(widget.viewer)
    widget._instances_from.value = labels
    image_id = widget.add_image(image)
    assert image_id is not None
    layer = widget.layers_of(image_id)["instances"]
    np.testing.assert_array_equal(layer.data, m.defects)
    before = widget.saved_rev
    # napari's own brush: paint a new object (label 99) with a 3 px brush
    layer.brush_size = 3
    layer.paint((20, 20), 99)
    qtbot.waitUntil(lambda: widget.saved_rev > before and not widget.unsaved, timeout=10_000)
    # erase one object with napari's fill tool
    victim = int(np.unique(m.defects[m.defects > 0])[0])
    where = np.argwhere(layer.data == victim)[0]
    rev = widget.saved_rev
    layer.fill(tuple(where), 0)
    qtbot.waitUntil(lambda: widget.saved_rev > rev and not widget.unsaved, timeout=10_000)

    # napari's undo (Ctrl+Z) brings the object back, and that is saved too
    rev = widget.saved_rev
    layer.undo()
    qtbot.waitUntil(lambda: widget.saved_rev > rev and not widget.unsaved, timeout=10_000)
    assert victim in Project.open(widget.project.root).load_labels(image_id).instances
    layer.redo()
    rev = widget.saved_rev
    qtbot.waitUntil(lambda: widget.saved_rev > rev and not widget.unsaved, timeout=10_000)

    # draw a box (world µm coordinates: pixel * 0.5) on the boxes layer, its sides on the pixel
    # edges, half a pixel before the centres of rows 4 and 20, columns 6 and 30
    boxes = widget.layers_of(image_id)["boxes"]
    rev = widget.saved_rev
    boxes.add_rectangles((np.array([[4.0, 6.0], [20.0, 30.0]]) - 0.5) * 0.5)
    qtbot.waitUntil(lambda: widget.saved_rev > rev and not widget.unsaved, timeout=10_000)

    reopened = Project.open(widget.project.root)
    saved = reopened.load_labels(image_id)
    (box,) = saved.boxes
    assert [box[k] for k in ("x1", "y1", "x2", "y2")] == pytest.approx([6, 4, 30, 20])
    assert box["source"] == "manual" and box["class_id"] == 0
    np.testing.assert_array_equal(saved.instances, layer.data)
    assert saved.instances[20, 20] == 99 and victim not in saved.instances
    assert saved.objects["99"]["source"] == "manual"
    others = [o for k, o in saved.objects.items() if k != "99"]
    assert others and all(o["source"] == "synthetic-truth" for o in others)


def test_export_from_the_dock(widget, qtbot, tmp_path, wait_idle):
    from napari_microstructure.core.curate.export import read_label_tiff

    m, image, labels = _sample(widget.viewer)
    phases = widget.viewer.add_labels(m.phases, name="phases", scale=(0.5, 0.5))
    widget._instances_from.value = labels
    widget._phases_from.value = phases
    image_id = widget.add_image(image)
    assert "phases" in widget.layers_of(image_id)
    assert widget.export(tmp_path / "out", ["coco", "yolo", "tiff"]) is not None
    wait_idle(widget, 30_000)
    assert (tmp_path / "out" / "coco" / "annotations.json").is_file()
    assert (tmp_path / "out" / "yolo" / "data.yaml").is_file()
    assert set(widget.last_export) == {"coco", "yolo", "tiff"}
    out = tmp_path / "out" / "tiff"
    np.testing.assert_array_equal(read_label_tiff(out / f"{image_id}_instances.tif"), m.defects)
    np.testing.assert_array_equal(read_label_tiff(out / f"{image_id}_phases.tif"), m.phases)


def test_queue_and_training_cancel(widget, qtbot, tmp_path, tiny_detector, wait_idle):
    from skimage.io import imsave

    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for s in range(3):
        m = generate("defects", shape=(128, 128), pixel_size=0.5, seed=100 + s, **COUNTS)
        imsave(folder / f"u{s}.png", m.image, check_contrast=False)
    widget.project.register_model(tiny_detector, "detect")
    assert widget.queue_panel.rank(folder) is not None
    wait_idle(widget, 60_000)
    q = widget.queue_panel.queue
    assert len(q) == 3 and list(q["rank"]) == [1, 2, 3]
    assert list(q["priority"]) == sorted(q["priority"], reverse=True)
    # the table shows why an image is where it is: its score and how typical it is
    rows = widget.queue_panel.table_rows
    assert [r[0] for r in rows] == [1, 2, 3]
    assert [r[3] for r in rows] == [f"{float(v):.2f}" for v in q["density"]]
    first = widget.queue_panel.next_path
    assert widget.queue_panel.open_next() is not None
    wait_idle(widget, 60_000)
    image_id = widget.current_image_id
    assert widget.project.image_record(image_id)["source"] == first
    assert {"instances", "boxes"} <= set(widget.layers_of(image_id))
    widget.mark_done(image_id)
    assert widget.queue_panel.next_path != first
    assert widget.project.image_record(image_id)["done"]
    # class gain on: the done image's classes weigh the order (column "gain")
    box = {"x1": 2.0, "y1": 2.0, "x2": 20.0, "y2": 20.0, "class_id": 0}
    widget.project.save_labels(image_id, boxes=[box])
    widget.queue_panel.class_gain = 1.0
    assert widget.queue_panel.rank(folder) is not None
    wait_idle(widget, 60_000)
    assert len(widget.queue_panel.queue) == 3 and "gain" in widget.queue_panel.queue

    # training: start, then cancel at the first batch
    panel = widget.train_panel
    worker = panel.train("detect", epochs=50, imgsz=128, device="cpu", batch=2)
    qtbot.waitUntil(lambda: panel._job is not None, timeout=60_000)
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        widget.cancel()
    assert "cancelled" in panel.metrics_text
    assert panel.candidate is None
    assert len(widget.project.models) == 1  # only the registered model

    # a finished training becomes a candidate; accepting makes it the Detect dock's model
    from napari_microstructure.core.curate.train import TrainResult
    from napari_microstructure.core.settings import get_setting

    done = TrainResult(tiny_detector, "detect", tiny_detector, {"map50": 0.5}, [], False, 1)
    panel._trained(done, None, widget.project)
    assert panel.candidate == "v002-detect" and "0.500" in panel.metrics_text
    panel.accept()
    assert widget.project.active_model["version"] == "v002-detect"
    assert "v002-detect" in get_setting("pipeline.detect")["model"]


@pytest.fixture
def tiny_detector(tmp_path_factory):
    from _curate_helpers import tiny_detector as make

    return make(tmp_path_factory)
