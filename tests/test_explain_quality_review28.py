"""Explain dock, review 28: the objects of Refine's 'segment all grains' have an empty score
column; the quality overlay says so in plain words (not "pick a Labels layer"), and the
*refined masks* box prefers a layer whose objects are scored."""

from __future__ import annotations

import numpy as np
import pytest
from _explain_stub import scored_grains
from _notices import captured_messages


@pytest.fixture
def explain_mod(monkeypatch, settings_home):
    from napari_microstructure.widgets import _base, _explain_views, explain

    told = captured_messages(monkeypatch, explain, _explain_views, _base)
    return explain, told


def test_unscored_grains_are_named_as_such(make_napari_viewer, explain_mod):
    explain, told = explain_mod
    viewer = make_napari_viewer()
    grains = scored_grains(viewer, "etched objects", [np.nan, np.nan])
    widget = explain.ExplainWidget(viewer)
    assert widget.labels_layer is grains  # still offered: no layer has scores
    widget.show_quality()
    assert told, "no message"
    msg = told[-1]
    assert "pick a Labels layer" not in msg
    assert "'etched objects'" in msg and "no quality score" in msg
    assert "segment all grains" in msg and "Refine" in msg
    # the dock's own line says it too, not only the notification
    assert "no quality score" in str(widget._info.value)
    assert not any(lay.name.endswith(" score") for lay in viewer.layers)
    widget.close()


def test_a_layer_without_a_score_column_is_told_in_plain_words(make_napari_viewer, explain_mod):
    explain, told = explain_mod
    viewer = make_napari_viewer()
    data = np.zeros((32, 32), np.uint32)
    data[:10, :10] = 1
    plain = viewer.add_labels(data, name="my labels")
    widget = explain.ExplainWidget(viewer)
    widget.labels_layer = plain
    widget.show_quality()
    assert "'my labels' has no quality scores" in told[-1]
    assert "pick a Labels layer" not in told[-1]
    assert "'my labels' has no quality scores" in str(widget._info.value)
    widget.close()


def test_the_masks_box_prefers_a_scored_layer(make_napari_viewer, explain_mod):
    explain, _told = explain_mod
    viewer = make_napari_viewer()
    scored = scored_grains(viewer, "clicked objects", [0.4, 0.9])
    scored_grains(viewer, "etched objects", [np.nan, np.nan])  # the last one: the box's own pick
    widget = explain.ExplainWidget(viewer)
    assert widget.labels_layer is scored
    widget.show_quality()
    assert any(lay.name == "clicked objects score" for lay in viewer.layers)
    widget.close()


def test_a_scored_layer_added_later_replaces_an_unscored_pick(make_napari_viewer, explain_mod):
    explain, _told = explain_mod
    viewer = make_napari_viewer()
    unscored = scored_grains(viewer, "etched objects", [np.nan, np.nan])
    widget = explain.ExplainWidget(viewer)
    assert widget.labels_layer is unscored
    scored = scored_grains(viewer, "clicked objects", [0.4, 0.9])
    assert widget.labels_layer is scored
    widget.close()
