"""Remembered settings: a hand-edited file gone wrong, a read-only folder or a linked file never
stop a dock, and the user's file is never silently thrown away."""

from __future__ import annotations

import json

import pytest
from _notices import captured_messages

import napari_microstructure.widgets as widgets_pkg
from napari_microstructure.core import settings
from napari_microstructure.core.pipeline import PipelineConfig, PipelineError
from napari_microstructure.widgets.classify import ClassifyWidget
from napari_microstructure.widgets.curate import CurateWidget
from napari_microstructure.widgets.detect import DetectWidget
from napari_microstructure.widgets.explain import ExplainWidget
from napari_microstructure.widgets.measure import MeasureWidget
from napari_microstructure.widgets.refine import RefineWidget
from napari_microstructure.widgets.segment import SegmentWidget


@pytest.fixture
def told(monkeypatch):
    monkeypatch.setattr(settings, "_told", set())
    return captured_messages(monkeypatch, widgets_pkg)


def _write(settings_home, text):
    settings_home.mkdir(parents=True, exist_ok=True)
    (settings_home / "settings.json").write_text(text)


def test_wrong_types_read_as_defaults_and_every_dock_opens(
    make_napari_viewer, settings_home, told
):
    stored = {
        "pipeline.detect": "best.pt",
        "pipeline.grains": {"engine": "magic", "model_type": 3, "class_name": ["x"]},
        "pipeline.segment": {"epochs": "many", "model": 5},
        "pipeline.measure": {"phase_names": "ferrite", "bins": "20", "log": "yes"},
        "classify": [1, 2],
        "curate.project": 5,
    }
    _write(settings_home, json.dumps(stored))
    viewer = make_napari_viewer()
    detect = DetectWidget(viewer)  # raised TypeError: 'str' object is not a mapping
    assert detect.conf == 0.25
    ExplainWidget(viewer)  # raised AttributeError: 'str' object has no attribute 'get'
    refine = RefineWidget(viewer)  # raised ValueError (an engine not among the choices)
    assert refine.engine_name == "classical" and refine.class_name == "grain"
    segment = SegmentWidget(viewer)  # raised ValueError: int("many")
    assert segment.epochs == 20
    measure = MeasureWidget(viewer)
    assert measure.phase_names == []  # was ['f', 'e', 'r', ...]
    ClassifyWidget(viewer)  # raised AttributeError: 'list' object has no attribute 'get'
    assert CurateWidget(viewer)._folder.value is not None  # raised TypeError for 5
    assert any("'pipeline.detect' is not a mapping" in t for t in told)


def test_a_file_that_is_not_a_mapping_counts_as_empty(settings_home, told):
    _write(settings_home, "[1, 2]")
    assert settings.load_settings() == {}
    assert settings.get_setting("curate.project", "") == ""


def test_a_json_slip_is_told_and_the_file_kept_before_it_is_replaced(settings_home, told):
    text = '{"classify": {"model": "/models/steel.pt"},\n "sam_cache_limit_gib": 8,\n}'
    _write(settings_home, text)
    assert settings.get_setting("classify") is None
    assert settings.set_setting("pipeline.pixel_size", 0.5)
    kept = settings_home / "settings.json.bad"
    assert kept.read_text() == text  # the remembered model path is not lost
    assert json.loads((settings_home / "settings.json").read_text()) == {
        "pipeline.pixel_size": 0.5
    }
    assert any("cannot be read" in t for t in told) and any(".bad" in t for t in told)


def test_a_read_only_folder_costs_the_remembering_only(settings_home, told, monkeypatch):
    def read_only(*_args, **_kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(settings, "atomic_write_text", read_only)
    assert settings.set_setting("pipeline.pixel_size", 0.5) is False  # raised before
    assert settings.set_setting("pipeline.pixel_size", 0.7) is False
    assert len([t for t in told if "cannot be saved" in t]) == 1  # told once


def test_a_linked_settings_file_stays_linked(tmp_path, settings_home):
    target = tmp_path / "dotfiles" / "settings.json"
    target.parent.mkdir()
    target.write_text("{}")
    settings_home.mkdir(parents=True, exist_ok=True)
    (settings_home / "settings.json").symlink_to(target)
    settings.set_setting("curate.project", "/data/p")
    assert (settings_home / "settings.json").is_symlink()
    assert json.loads(target.read_text()) == {"curate.project": "/data/p"}


def test_batch_refuses_a_stored_section_of_the_wrong_type(settings_home):
    _write(settings_home, json.dumps({"pipeline.detect": "best.pt"}))
    with pytest.raises(PipelineError, match="pipeline.detect"):
        PipelineConfig.from_settings()  # raised AttributeError: 'str' has no 'items'


def test_numbers_out_of_a_fields_range_are_brought_into_it(make_napari_viewer, settings_home):
    stored = {
        "pipeline.detect": {"conf": 5, "iou": 0, "max_det": -3},
        "pipeline.segment": {"epochs": 100000},
        "pipeline.measure": {"bins": 1000},
    }
    _write(settings_home, json.dumps(stored))
    viewer = make_napari_viewer()
    detect = DetectWidget(viewer)  # raised ValueError: 5.0 is outside of the allowed range
    assert detect.conf == 1.0 and detect.max_det == 1
    assert SegmentWidget(viewer).epochs == 500
    assert MeasureWidget(viewer)._bins.value == 200
    ExplainWidget(viewer)


_WRITER = """
import sys
from napari_microstructure.core.settings import set_setting
for i in range(60):
    set_setting(f"{sys.argv[1]}.{i}", i)
"""


def test_two_processes_saving_at_once_keep_each_others_keys(settings_home, monkeypatch):
    import os
    import subprocess
    import sys

    settings_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NAPARI_MICROSTRUCTURE_CONFIG": str(settings_home)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, name], env=env) for name in ("a", "b")
    ]
    assert [p.wait(timeout=240) for p in procs] == [0, 0]
    stored = json.loads((settings_home / "settings.json").read_text())
    assert len(stored) == 120  # 113 of 120 in one run before (read, change, write unlocked)
