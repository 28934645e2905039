"""Curate dock: the queue ranked by a segmentation model, opened with its phases as proposals."""

from __future__ import annotations

import numpy as np
import pytest
from test_curate_rank_seg import IMAGES, expected_uncertainty, train_phases, write_folder

import napari_microstructure  # noqa: F401
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.segment import segment
from napari_microstructure.core.settings import set_setting
from napari_microstructure.widgets._curate_panels import DETECTOR, SEGMENTER
from napari_microstructure.widgets.curate import CurateWidget


@pytest.fixture(scope="module")
def phases_model():
    return train_phases()


def test_queue_ranks_with_a_segmentation_model(
    make_napari_viewer, tmp_path, settings_home, wait_idle, phases_model
):
    model_path = phases_model.save(tmp_path / "phases.pt")
    set_setting("pipeline.segment", {"model": str(model_path), "epochs": 5})  # the Segment dock's
    folder = write_folder(tmp_path / "pool")
    widget = CurateWidget(make_napari_viewer(), autosave_ms=200)
    panel = widget.queue_panel
    try:
        assert panel.rank_with == DETECTOR and panel.seg_model == model_path
        assert widget.open_project(tmp_path / "proj") is not None
        panel.rank_with = SEGMENTER
        # a cancelled ranking leaves the queue as it was
        assert panel.rank(folder) is not None
        widget.cancel()
        wait_idle(widget)
        assert widget.status == "Ranking: cancelled" and panel.queue.empty

        assert panel.rank(folder) is not None
        wait_idle(widget)
        assert widget.status == "Ranking: done"
        want = expected_uncertainty(folder, phases_model)
        order = sorted(want, key=want.get, reverse=True)
        q = panel.queue
        assert list(q["name"]) == order and len(q) == len(IMAGES)  # broken.png skipped
        assert list(q["uncertainty"]) == pytest.approx([want[n] for n in order], rel=1e-5)
        rows = panel.table_rows
        assert [r[1] for r in rows] == order and [r[2] for r in rows] == [
            f"{want[n]:.3f}" for n in order
        ]
        assert all(r[3] == "–" for r in rows)  # no density term in this order
        assert panel.ranked_with == model_path

        # the next image opens with the model's phases as the proposal to correct
        first = panel.next_path
        assert first.endswith(order[0])
        assert panel.open_next() is not None
        wait_idle(widget)
        image_id = widget.current_image_id
        project = widget.project
        assert project.image_record(image_id)["source"] == first
        assert "phases" in widget.layers_of(image_id)
        mf = read_micrograph(first)
        expected = segment(mf.data, phases_model, mf.pixel_size).labels
        np.testing.assert_array_equal(project.load_labels(image_id).phases, expected)

        # without a model file, a message instead of a run
        panel.seg_model = None
        assert panel.rank(folder) is None
    finally:
        widget.close()
