"""Pipeline files: from the widgets' settings to YAML to ``batch``; inputs and completeness."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import yaml

from napari_microstructure.cli import main
from napari_microstructure.core.batch import CompletionTracker, list_inputs
from napari_microstructure.core.pipeline import PipelineConfig, PipelineError
from napari_microstructure.core.settings import set_setting


def test_settings_to_yaml_and_back(settings_home, tmp_path):
    set_setting(
        "pipeline.detect",
        {
            "model": "/models/det.pt",
            "conf": 0.4,
            "iou": 0.5,
            "max_det": 100,
            "agnostic": False,
            "classes": ["pore"],
        },
    )
    set_setting("pipeline.grains", {"engine": "classical", "h": 0.05})
    set_setting("pipeline.measure", {"phase_names": ["ferrite", "pearlite"], "bins": 30})
    set_setting("pipeline.pixel_size", 0.25)
    cfg = PipelineConfig.from_settings()
    assert cfg.detect["conf"] == 0.4 and cfg.grains == {"engine": "classical", "h": 0.05}
    assert cfg.pixel_size == 0.25 and cfg.measures
    path = cfg.save(tmp_path / "pipe.yaml")
    text = path.read_text()
    assert text.startswith("# napari-microstructure pipeline")
    assert yaml.safe_load(text)["detect"]["classes"] == ["pore"]
    again = PipelineConfig.load(path)
    assert again.to_dict() == cfg.to_dict()
    assert "det.pt" in again.describe() and "classical" in again.describe()


def test_empty_settings_give_a_quality_only_pipeline(settings_home):
    cfg = PipelineConfig.from_settings()
    assert cfg.detect is None and cfg.grains is None and not cfg.measures
    assert cfg.describe() == "quality check only"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("detect: {conf: 0.3, colour: red}\n", "unknown detect options"),
        ("speed: fast\n", "unknown pipeline keys"),
        ("pixel_size: -2\n", "positive"),
        ("grains: [1, 2]\n", "mapping"),
        ("detect: {conf: [0.3\n", "not valid YAML"),
        ("quality: {min_focus: 3}\n", "unknown quality"),
        ("version: 99\n", "newer"),
        # wrong types name their key instead of a traceback or a failure of every image
        ("pixel_size: abc\n", "pixel_size must be a number"),
        ("quality: {min_mean: abc}\n", "quality.min_mean must be a number"),
        ("version: x\n", "version must be an integer"),
        ("detect: {conf: high}\n", "detect.conf must be a number"),
        ("detect: {max_det: 2.5}\n", "detect.max_det must be an integer"),
        ('pixel_size: 0.5\nforce_pixel_size: "false"\n', "force_pixel_size must be true or"),
        ("measure: {enabled: true, tabel: false}\n", "unknown measure options: tabel"),
        ("measure: {enabled: 'no'}\n", "measure.enabled must be true or false"),
        ("grains: {engine: clasical}\n", "unknown engine 'clasical'"),
        ("grains: {engine: classical, foo: 1}\n", "options for engine classical: foo"),
        ("grains: {engine: classical, min_area: abc}\n", "grains.min_area must be an integer"),
        ("grains: {engine: model, model_path: m.pt, h: 1}\n", "options for engine model: h"),
    ],
)
def test_bad_pipeline_files_are_explained(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError, match=message):
        PipelineConfig.load(path)


def test_options_of_the_grain_engines_are_accepted(tmp_path):
    # names and types come from segment_grains / segment_from_boundaries
    options = {"engine": "classical", "h": 1.5, "min_area": 20, "place_borders": False}
    assert PipelineConfig(grains=options).grains == options
    measure = {"enabled": True, "table": False, "phase_names": ["a"], "bins": 30, "log": True}
    assert PipelineConfig(measure=measure).measure == measure  # what the Measure dock stores
    assert PipelineConfig(grains={"engine": "model", "model_path": "m.pt"}).grains
    pytest.importorskip("segment_anything")
    sam = {"engine": "sam", "checkpoint": "s.pth", "points_per_side": 16, "pred_iou_thresh": 0.8}
    assert PipelineConfig(grains=sam).grains == sam


def test_cli_batch_with_config_and_bad_config(tmp_path, capsys):
    from napari_microstructure.core.synthetic import generate

    src = tmp_path / "in"
    src.mkdir()
    m = generate("etched", shape=(160, 160), pixel_size=0.5, seed=3)
    tifffile.imwrite(src / "a.tif", m.image)  # no calibration in the file
    cfg = tmp_path / "pipe.yaml"
    PipelineConfig(grains={"engine": "classical"}, pixel_size=0.5).save(cfg)
    args = ["batch", str(src), "--out", str(tmp_path / "out"), "--config", str(cfg)]
    assert main([*args, "--workers", "0", "--no-progress", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["processed"] == 1 and out["failed"] == 0
    row = json.loads((tmp_path / "out" / "images" / "a.tif" / "result.json").read_text())
    assert row["pixel_size"] == 0.5 and row["pixel_size_source"] == "pipeline"
    assert row["unit"] == "µm"
    (tmp_path / "bad.yaml").write_text("speed: fast\n")
    bad = [
        "batch",
        str(src),
        "--out",
        str(tmp_path / "o2"),
        "--config",
        str(tmp_path / "bad.yaml"),
    ]
    assert main(bad) == 2
    assert "unknown pipeline keys" in capsys.readouterr().err
    assert (
        main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o3"), "--workers", "0"])
        == 2
    )
    assert "no such folder" in capsys.readouterr().err


def test_inputs_keys_and_exclusions(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.tif").write_bytes(b"1")
    (tmp_path / "b.png").write_bytes(b"1")
    (tmp_path / ".hidden.tif").write_bytes(b"1")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "r.tif").write_bytes(b"1")
    flat = [i.key for i in list_inputs(tmp_path, exclude=tmp_path / "out")]
    assert flat == ["b.png"]
    deep = [i.key for i in list_inputs(tmp_path, recursive=True, exclude=tmp_path / "out")]
    assert deep == ["a__x.tif", "b.png"]
    assert [i.key for i in list_inputs(str(tmp_path / "*.png"))] == ["b.png"]


def test_completion_needs_a_stable_file(tmp_path):
    path = tmp_path / "growing.tif"
    path.write_bytes(b"x" * 10)
    tracker = CompletionTracker(settle_s=1.0)
    assert not tracker.complete(path, now=0.0)  # first sight
    assert not tracker.complete(path, now=0.5)  # not settled yet
    with open(path, "ab") as fh:
        fh.write(b"more")
    assert not tracker.complete(path, now=2.0)  # it grew: the clock restarts
    assert not tracker.complete(path, now=2.5)
    assert tracker.complete(path, now=3.1)
    assert not tracker.complete(tmp_path / "gone.tif", now=5.0)


def test_measure_widget_saves_the_pipeline(make_napari_viewer, settings_home, tmp_path, qtbot):
    from napari_microstructure.widgets.measure import MeasureWidget

    set_setting("pipeline.grains", {"engine": "classical"})
    widget = MeasureWidget(make_napari_viewer())
    widget.phase_names = ["ferrite", "pearlite"]
    widget.pixel_size = 0.3
    layer = widget.viewer.add_labels((np.arange(64).reshape(8, 8) // 9).astype("uint8"))
    widget.labels_layer = layer
    assert widget.run() is not None  # measuring remembers the settings the pipeline is made of
    qtbot.waitUntil(lambda: not widget.busy, timeout=30_000)
    written = widget.export_pipeline(tmp_path / "p.yaml")
    cfg = PipelineConfig.load(written[0])
    assert cfg.grains == {"engine": "classical"} and cfg.pixel_size == pytest.approx(0.3)
    assert cfg.measure["phase_names"] == ["ferrite", "pearlite"]


@pytest.mark.parametrize("engine", ["classical", "learned"])
def test_settings_saved_by_the_refine_dock_run_in_a_batch(settings_home, tmp_path, engine):
    from skimage.io import imsave

    from napari_microstructure.core.batch.process import process_image
    from napari_microstructure.core.synthetic import generate

    # what the Refine dock stores: its class name and SAM fields, whatever the engine
    stored = {"engine": engine, "checkpoint": "", "model_type": "auto", "class_name": "grain"}
    set_setting("pipeline.grains", stored)
    cfg = PipelineConfig.from_settings()
    assert cfg.grains == {"engine": engine}
    m = generate("etched", shape=(128, 128), seed=1)
    imsave(tmp_path / "e.png", m.image)
    row = process_image(tmp_path / "e.png", "e", tmp_path / "out", cfg)
    assert row["status"] != "error", row.get("error")
    set_setting("pipeline.grains", {**stored, "engine": "sam", "checkpoint": "/m/sam.pth"})
    assert PipelineConfig.from_settings().grains == {
        "engine": "sam",
        "checkpoint": "/m/sam.pth",
        "model_type": "auto",
    }


def test_a_phase_named_twice_is_refused_when_the_pipeline_is_read():
    from napari_microstructure.core.pipeline import PipelineConfig, PipelineError

    with pytest.raises(PipelineError, match="names a phase twice"):
        PipelineConfig(measure={"enabled": True, "phase_names": ["ferrite", "ferrite"]})
