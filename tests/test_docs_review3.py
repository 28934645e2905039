"""Found by checking the docs' commands: the training pixel size of `train` from an export,
`synth --set` with several kinds, and batch count columns of classes not found."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import tifffile
import yaml
from _curate_helpers import synthetic_project

from napari_microstructure.cli import main
from napari_microstructure.core.batch import run_batch
from napari_microstructure.core.curate.export import export_project
from napari_microstructure.core.curate.train import TrainJob, data_pixel_size
from napari_microstructure.core.pipeline import PipelineConfig
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate


def test_an_export_carries_the_pixel_size_that_training_records(tmp_path):
    project = synthetic_project(tmp_path / "proj", n=3)  # every image 0.5 µm/px
    files = run_to_end(export_project(project, tmp_path / "export", ["yolo", "yolo-seg"]))
    for fmt in ("yolo", "yolo-seg"):
        data = next(f for f in files[fmt] if f.endswith("data.yaml"))
        assert yaml.safe_load(open(data))["pixel_size_um"] == 0.5
        # `train DATA --project P` passes no pixel size: the job takes the data's
        assert TrainJob(data, tmp_path / "run").pixel_size == 0.5
        assert TrainJob(data, tmp_path / "run", pixel_size=0.25).pixel_size == 0.25
    other = tmp_path / "other.yaml"
    for text in ("names: {0: a}\n", "pixel_size_um: big\n", "pixel_size_um: -1\n", "[1, 2\n"):
        other.write_text(text)
        assert data_pixel_size(other) is None
    assert TrainJob(other, tmp_path / "run").pixel_size is None


def test_synth_set_goes_to_the_kinds_that_take_it(tmp_path, capsys):
    args = ["--n", "2", "--seed", "0", "--kind", "defects", "etched", "--size", "96", "96"]
    out = tmp_path / "ds"
    assert main(["synth", str(out), *args, "--set", "n_pores=4", "--set", "noise=false"]) == 0
    index = json.loads((out / "index.json").read_text())
    assert [e["kind"] for e in index] == ["defects", "etched"]
    truth = json.loads((out / "truth" / f"{index[0]['stem']}.json").read_text())
    assert truth["requested_counts"]["pore"] == 4  # (one may not fit in 96 x 96 px)
    capsys.readouterr()
    assert main(["synth", str(tmp_path / "bad"), *args, "--set", "n_flowers=3"]) == 2
    assert "no chosen kind" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_batch_counts_every_class_searched(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        m = generate("etched", shape=(160, 160), pixel_size=0.5, seed=i)
        tifffile.imwrite(src / f"e{i}.tif", m.image)
    detect = {"model": None, "conf": 0.99, "classes": ["pore", "crack"]}  # nothing found
    res = run_batch(src, tmp_path / "out", PipelineConfig(detect=detect), workers=0)
    assert res.failed == 0
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert (table["n_detections"] == 0).all()
    assert table["count.pore"].tolist() == [0, 0] and table["count.crack"].tolist() == [0, 0]
    assert not any(c in table for c in ("count.inclusion", "count.precipitate"))
    assert np.issubdtype(table["count.pore"].dtype, np.integer)


def test_detect_cli_summary_lists_all_classes_without_a_filter(tmp_path):
    m = generate("etched", shape=(128, 128), pixel_size=0.5, seed=0)
    tifffile.imwrite(tmp_path / "e.tif", m.image)
    assert main(["detect", str(tmp_path / "e.tif"), "--conf", "0.99", "--out", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "e_summary.csv")
    assert set(summary["class_name"]) == {"inclusion", "pore", "crack", "precipitate"}
