"""Batch runs refuse what would mix or lose results: bad models, other files or pipelines."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.core.batch import BatchError, run_batch
from napari_microstructure.core.batch.inputs import MAX_KEY_BYTES, list_inputs
from napari_microstructure.core.pipeline import PipelineConfig
from napari_microstructure.core.progress import run_to_end


def _images(folder, n=2, kind="etched", size=128, seed=100):
    from napari_microstructure.core.synthetic import generate

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        m = generate(kind, shape=(size, size), pixel_size=0.5, seed=seed + i)
        tifffile.imwrite(
            folder / f"img{i}.tif", m.image, resolution=(2e4, 2e4), resolutionunit="CENTIMETER"
        )
    return folder


def test_a_missing_model_stops_the_run_before_any_image(tmp_path, capsys):
    src = _images(tmp_path / "in")
    cfg = tmp_path / "p.yaml"
    PipelineConfig(detect={"model": str(tmp_path / "nope.pt")}).save(cfg)
    args = ["batch", str(src), "--out", str(tmp_path / "out"), "--workers", "0"]
    assert main([*args, "--config", str(cfg), "--no-progress"]) == 2
    assert "not found" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("images/*/result.json"))  # nothing marked done
    PipelineConfig(grains={"engine": "model", "model_path": str(tmp_path / "no.pt")}).save(cfg)
    assert main([*args, "--config", str(cfg), "--no-progress"]) == 2
    assert "segmentation model not found" in capsys.readouterr().err


def test_files_of_another_folder_with_the_same_names_are_refused(tmp_path):
    out = tmp_path / "out"
    cfg = PipelineConfig()
    day1 = _images(tmp_path / "day1")
    day2 = _images(tmp_path / "day2", seed=200)
    assert run_batch(day1, out, cfg, workers=0, report=False).processed == 2
    with pytest.raises(BatchError, match="another file named like img0.tif"):
        run_batch(day2, out, cfg, workers=0, report=False)
    assert run_batch(day1, out, cfg, workers=0, report=False).skipped == 2  # a resume is fine
    assert "source" not in pd.read_csv(out / "results.csv").columns


def test_another_pipeline_into_the_same_folder_is_refused(tmp_path, capsys):
    src = _images(tmp_path / "in")
    out = tmp_path / "out"
    run_batch(src, out, PipelineConfig(pixel_size=0.5), workers=0, report=False)
    with pytest.raises(BatchError, match="holds results of another pipeline"):
        run_batch(src, out, PipelineConfig(pixel_size=2.0), workers=0, report=False)
    assert PipelineConfig.load(out / "pipeline.yaml").pixel_size == 0.5  # not overwritten
    args = ["batch", str(src), "--out", str(out), "--workers", "0", "--no-progress"]
    assert main([*args, "--config", str(out / "pipeline.yaml")]) == 0  # the documented resume


@pytest.mark.parametrize("where", ["same", "above"])
def test_an_output_folder_holding_the_input_is_refused(tmp_path, where):
    src = _images(tmp_path / "data" / "in")
    out = src if where == "same" else tmp_path / "data"
    with pytest.raises(BatchError, match="holds the input images"):
        run_batch(src, out, PipelineConfig(), workers=0, report=False)
    run_batch(src, src / "results", PipelineConfig(), workers=0, report=False)  # inside: fine


def test_long_nested_paths_get_short_distinct_keys(tmp_path):
    deep = tmp_path / "in" / ("a" * 120) / ("b" * 120)
    _images(deep, n=2)
    items = list_inputs(tmp_path / "in", recursive=True)
    keys = [i.key for i in items]
    assert len(set(keys)) == 2 and all(len(k.encode()) <= MAX_KEY_BYTES for k in keys)
    assert keys[0].endswith("img0.tif")
    res = run_batch(tmp_path / "in", tmp_path / "out", PipelineConfig(), recursive=True, workers=0)
    assert (res.processed, res.failed) == (2, 0)


def test_a_phases_model_gives_phase_fractions(tmp_path):
    from napari_microstructure.core.segment import TrainConfig, synthetic_pairs, train_model

    tiny = {"base": 4, "depth": 2, "crop": 32, "batch_size": 2, "epochs": 1}
    pairs = synthetic_pairs("phases", n=2, shape=(64, 64), seed=1)
    model = run_to_end(train_model(pairs, TrainConfig(task="phases", steps_per_epoch=2, **tiny)))
    path = tmp_path / "phases.pt"
    model.save(path)
    src = _images(tmp_path / "in", kind="ferrite_pearlite")
    cfg = PipelineConfig(phases={"model_path": str(path)})
    res = run_batch(src, tmp_path / "out", cfg, workers=0, report=False)
    assert (res.processed, res.failed) == (2, 0)
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    columns = [f"phase_fraction.{name}" for name in model.classes]
    assert set(columns) <= set(table.columns)
    assert table[columns].sum(axis=1).round(6).tolist() == [1.0, 1.0]
    assert (tmp_path / "out" / "images" / "img0.tif" / "phases.tif").is_file()
    summary = json.loads((tmp_path / "out" / "images" / "img0.tif" / "measure.json").read_text())
    assert set(summary["phase_fractions"]) == set(model.classes)
    bpairs = synthetic_pairs("boundaries", n=2, shape=(64, 64), seed=1)
    cfg_b = TrainConfig(task="boundaries", steps_per_epoch=1, **tiny)
    run_to_end(train_model(bpairs, cfg_b)).save(tmp_path / "b.pt")  # the wrong kind here
    with pytest.raises(ValueError, match="a boundaries model, not a phases model"):
        run_batch(
            src, tmp_path / "out2", PipelineConfig(phases={"model_path": str(tmp_path / "b.pt")})
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler", "bogus"], "not a scheduler address"),
        (["--settle", "nan"], "--settle must be a number of seconds"),
        (["--watch", "--idle-exit", "-1"], "--idle-exit must be a number of seconds"),
    ],
)
def test_bad_run_options_are_messages(tmp_path, capsys, extra, message):
    src = _images(tmp_path / "in", n=1)
    args = ["batch", str(src), "--out", str(tmp_path / "out"), "--no-progress", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_dask_logs_stay_quiet_without_verbose(tmp_path, monkeypatch):
    import napari_microstructure.core.batch.run as run_module

    class NoCluster:  # the run's own Dask cluster is tested elsewhere; here only the logging
        def __init__(self, *args):
            raise OSError("no cluster in this test")

    monkeypatch.setattr(run_module, "_Dask", NoCluster)
    src = _images(tmp_path / "in", n=1)
    logging.getLogger("distributed").setLevel(logging.INFO)
    args = ["batch", str(src), "--out", str(tmp_path / "out"), "--no-progress", "--workers", "2"]
    assert main(args) == 2
    assert logging.getLogger("distributed").level == logging.WARNING


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--conf", "5"], "--conf must lie between 0 and 1"),
        (["--conf", "nan"], "--conf must lie between 0 and 1"),
        (["--top", "-1"], "--top must be at least 1"),
        (["--diversity", "nan"], "--diversity must be a finite number"),
    ],
)
def test_bad_rank_options_are_messages(tmp_path, capsys, extra, message):
    src = _images(tmp_path / "in", n=1)
    assert main(["rank", str(src), *extra]) == 2
    assert message in capsys.readouterr().err
