"""The command line says what the Detect dock says about the demo model (one rule, in core), and
``synth`` refuses a pixel size or validation fraction it cannot use with an argparse error."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest

from napari_microstructure.cli import main

#: the keys of one image's result in ``detect --json``, as they were before the note
JSON_KEYS = {
    "path",
    "shape",
    "pixel_size_um",
    "model",
    "model_pixel_size_um",
    "note",
    "n_detections",
    "detections",
    "summary",
    "files",
}


@pytest.fixture(scope="module")
def defects_png(tmp_path_factory):
    import cv2
    from _detect_data import defects_image

    img, _ = defects_image(
        256, 77, n_inclusions=3, n_pores=2, n_cracks=1, n_precipitates=3, n_scratches=0
    )
    path = tmp_path_factory.mktemp("notes") / "defects.png"
    cv2.imwrite(str(path), img)
    return path


# -- 1: the demo model's note ---------------------------------------------------------------------
def test_one_rule_in_core_that_the_dock_shares(tmp_path):
    from napari_microstructure.core.detect.model import DEMO_MODEL, DEMO_NOTE, model_note
    from napari_microstructure.widgets import detect

    assert detect.model_note is model_note
    assert DEMO_NOTE.startswith("demo model: trained on synthetic defects only")
    picked = DEMO_MODEL.parent / ".." / DEMO_MODEL.parent.name / DEMO_MODEL.name
    copy = {"trained_on": "synthetic defects"}  # a copy of the demo model keeps its sidecar
    for det, note in (
        (SimpleNamespace(path=DEMO_MODEL, info={}), DEMO_NOTE),
        (SimpleNamespace(path=picked, info=None), DEMO_NOTE),
        (SimpleNamespace(path=tmp_path / "copy.pt", info=copy), DEMO_NOTE),
        (SimpleNamespace(path=tmp_path / "mine.pt", info={"trained_on": "steel"}), ""),
        (SimpleNamespace(path=None), ""),
    ):
        assert model_note(det) == note, det


def _notes(caplog) -> list[str]:
    from napari_microstructure.core.detect.model import DEMO_NOTE

    return [r.getMessage() for r in caplog.records if r.getMessage() == DEMO_NOTE]


def test_detect_with_the_demo_model_says_so_once_and_keeps_its_json(defects_png, caplog, capsys):
    caplog.set_level(logging.WARNING)
    assert main(["detect", str(defects_png), str(defects_png), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 2 and all(set(r) == JSON_KEYS for r in out)
    assert all("demo model" not in r["note"] for r in out)  # stderr only
    assert len(_notes(caplog)) == 1  # once for the run, not per image
    caplog.clear()
    assert main(["detect", str(defects_png)]) == 0
    text = capsys.readouterr().out
    assert "detections" in text and "demo model" not in text
    assert len(_notes(caplog)) == 1


def test_detect_with_another_model_says_nothing(defects_png, tmp_path, monkeypatch, caplog):
    import napari_microstructure.core.detect as core

    def load(path=None):
        return SimpleNamespace(names={0: "pore"}, path=path, info={}, pixel_size=None)

    def detect(image, det, **_):
        yield from ()
        return core.empty_detections()

    monkeypatch.setattr(core, "load_detector", load)
    monkeypatch.setattr(core, "detect", detect)
    caplog.set_level(logging.WARNING)
    mine = tmp_path / "mine.pt"
    assert main(["detect", str(defects_png), "--model", str(mine), "--json"]) == 0
    assert _notes(caplog) == []


def test_the_note_is_on_stderr_and_stdout_is_json(defects_png):
    run = subprocess.run(
        [sys.executable, "-m", "napari_microstructure", "detect", str(defects_png), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert set(json.loads(run.stdout)) == JSON_KEYS
    assert run.stderr.count("demo model: trained on synthetic defects only") == 1


# -- 2: synth's numbers ---------------------------------------------------------------------------
SMALL = ["--n", "1", "--kind", "etched", "--size", "48", "48", "--set", "scale_bar=false"]


@pytest.mark.parametrize(
    "value", ["1e-6", "0.009", "10.5", "1e300", "1000", "nan", "inf", "-inf", "0", "-1", "x"]
)
def test_synth_refuses_a_pixel_size_it_cannot_draw(value, tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", str(out), *SMALL, f"--pixel-size={value}"]) == 2
    err = capsys.readouterr().err
    assert "argument --pixel-size:" in err, err
    number = float(value) if value != "x" else math.nan
    if math.isfinite(number) and number > 0:
        assert "between 0.01 and 10 µm per pixel" in err, err
    assert "max_denominator" not in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("value", ["0.01", "10"])
def test_synth_draws_the_ends_of_the_range(value, tmp_path, caplog):
    from napari_microstructure.core.imageio import read_micrograph

    caplog.set_level(logging.WARNING)
    out = tmp_path / "ds"
    assert main(["synth", str(out), *SMALL, "--pixel-size", value]) == 0
    (png,) = (out / "images").rglob("*.png")
    assert read_micrograph(png).pixel_size == pytest.approx(float(value), rel=1e-6)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1", "-0.1", "2", "x"])
def test_synth_refuses_a_validation_fraction_outside_0_to_1(value, tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", str(out), *SMALL, f"--val-fraction={value}"]) == 2
    err = capsys.readouterr().err
    assert "argument --val-fraction: must be a number from 0 to below 1" in err, err
    assert not out.exists()


def test_synth_help_names_the_ranges(capsys):
    assert main(["synth", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "0.01 to 10" in text and "0 to below 1" in text


def test_explain_and_batch_say_the_demo_model_is_one(defects_png, tmp_path, caplog):
    from napari_microstructure.core.batch.process import check_models
    from napari_microstructure.core.detect.model import DEMO_NOTE
    from napari_microstructure.core.pipeline import PipelineConfig

    caplog.set_level(logging.WARNING)
    out = tmp_path / "saliency.tif"
    assert main(["explain", str(defects_png), "--out", str(out)]) == 0
    assert len(_notes(caplog)) == 1
    caplog.clear()
    check_models(PipelineConfig.from_dict({"detect": {}}))
    said = [r.getMessage() for r in caplog.records if "demo model" in r.getMessage()]
    assert said == ["detect: " + DEMO_NOTE]
