"""Batch review 25: relative paths on workers elsewhere, grain option types, unknown classes,
Ctrl+C during a cluster's start, one-region images, synth's label masks, stale temp files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
import tifffile
import yaml

from napari_microstructure.cli import main
from napari_microstructure.core.batch import process, run_batch
from napari_microstructure.core.batch import run as batch_run
from napari_microstructure.core.pipeline import PipelineConfig, PipelineError
from napari_microstructure.core.synthetic import generate


def _etched(path: Path, seed: int, size: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, generate("etched", shape=(size, size), seed=seed).image)


def _blank(path: Path) -> None:
    rng = np.random.default_rng(0)
    iio.imwrite(path, (128 + rng.normal(0, 3, (128, 128))).clip(0, 255).astype(np.uint8))


# -- 1: a worker in another folder gets absolute paths ---------------------------------------


def test_a_worker_in_another_folder_finds_the_images_the_output_and_the_model(
    tmp_path, monkeypatch
):
    from napari_microstructure.core.detect.model import DEMO_MODEL

    client, elsewhere = tmp_path / "client", tmp_path / "worker"
    elsewhere.mkdir()
    _etched(client / "inp" / "a.png", 1)
    (client / "models").mkdir()
    shutil.copy(DEMO_MODEL, client / "models" / "m.pt")
    config = {"detect": {"model": "models/m.pt", "conf": 0.25}, "grains": {"engine": "classical"}}
    (client / "pipe.yaml").write_text(yaml.safe_dump(config))
    submit = batch_run._Serial.submit

    def in_another_folder(self, *args):  # as a Dask worker started somewhere else runs it
        process.cached_detector.cache_clear()  # the worker loads the model itself
        here = os.getcwd()
        os.chdir(elsewhere)
        try:
            return submit(self, *args)
        finally:
            os.chdir(here)

    monkeypatch.setattr(batch_run._Serial, "submit", in_another_folder)
    monkeypatch.chdir(client)
    cfg = PipelineConfig.load("pipe.yaml")
    res = run_batch("inp", "out", cfg, workers=0)
    assert (res.processed, res.failed) == (1, 0)
    assert list(elsewhere.iterdir()) == []  # nothing written in the worker's folder
    table = pd.read_csv(client / "out" / "results.csv")
    assert list(table["status"]) == ["ok"] and table["n_detections"].notna().all()
    saved = yaml.safe_load((client / "out" / "pipeline.yaml").read_text())
    assert saved["detect"]["model"] == str(client / "models" / "m.pt")
    # a resume with the same relative pipeline, from the same folder, is the same run
    res = run_batch("inp", "out", PipelineConfig.load("pipe.yaml"), workers=0)
    assert (res.processed, res.skipped) == (0, 1)
    # and so is one into a folder whose pipeline.yaml (an older run's) holds the relative path
    (client / "out" / "pipeline.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
    res = run_batch("inp", "out", PipelineConfig.load("pipe.yaml"), workers=0)
    assert (res.processed, res.skipped) == (0, 1)
    # the same relative names from another folder are other files: another pipeline
    (elsewhere / "inp").symlink_to(client / "inp")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ValueError, match="another pipeline"):
        run_batch("inp", client / "out", PipelineConfig.load(client / "pipe.yaml"), workers=0)


# -- 2: grain options with a None (or choice) default are type-checked -----------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("h", "abc"),
        ("merge_ratio", "high"),
        ("faint", True),
        ("twins", "maybe"),
        ("crests", 1),
        ("seeds", "foo"),
        ("seeds", 3),
    ],
)
def test_grain_options_of_a_wrong_type_are_refused(option, value):
    for engine in ("classical", "learned"):
        with pytest.raises(PipelineError, match=f"grains.{option}"):
            PipelineConfig(grains={"engine": engine, option: value})


def test_grain_options_of_the_right_type_are_taken():
    ok = {"h": 1.5, "merge_ratio": None, "faint": 0.5, "twins": False, "crests": None}
    PipelineConfig(grains={"engine": "classical", "seeds": "minima", **ok})
    PipelineConfig(grains={"engine": "learned", "h": 2, "twins": True, "seeds": "distance"})


def test_batch_refuses_a_wrong_grain_option_up_front(tmp_path, capsys):
    _etched(tmp_path / "in" / "a.png", 1)
    (tmp_path / "p.yaml").write_text("grains:\n  engine: classical\n  h: abc\n")
    args = ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out")]
    assert main([*args, "--config", str(tmp_path / "p.yaml"), "--workers", "0"]) == 2
    assert "grains.h must be a number" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- 3: a class the detector does not know stops the run before the first image --------------


def test_an_unknown_detect_class_stops_the_run_before_any_image(tmp_path, capsys):
    _etched(tmp_path / "in" / "a.png", 1)
    cfg = PipelineConfig(detect={"classes": ["foo"]})
    with pytest.raises(ValueError, match="detect.classes: unknown class 'foo'"):
        run_batch(tmp_path / "in", tmp_path / "out", cfg, workers=0)
    assert not (tmp_path / "out" / "images").exists()
    (tmp_path / "p.yaml").write_text("detect:\n  classes: [foo]\n")
    args = ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out2"), "--workers", "0"]
    assert main([*args, "--config", str(tmp_path / "p.yaml")]) == 2
    assert "unknown class 'foo'; the model knows" in capsys.readouterr().err
    assert not (tmp_path / "out2" / "images").exists()


# -- 4: Ctrl+C while a local cluster starts --------------------------------------------------


def _sigint_blocked_here() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_held_interrupt_raises_a_ctrl_c_once_the_block_is_done():
    before = signal.getsignal(signal.SIGINT)
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with batch_run.held_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached.append(True)  # the block is not cut short
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is before
    with batch_run.held_interrupt():  # no Ctrl+C: nothing raised
        pass
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_threads_and_processes_started_in_the_block_never_see_ctrl_c():
    seen: dict[str, object] = {}

    def start_a_process() -> None:  # as the cluster's loop thread starts the workers
        seen["thread"] = _sigint_blocked_here()
        status = subprocess.run(
            ["grep", "SigBlk", "/proc/self/status"], capture_output=True, text=True, check=True
        ).stdout
        seen["process"] = bool(int(status.split()[1], 16) >> (signal.SIGINT - 1) & 1)

    with batch_run.held_interrupt():
        worker = threading.Thread(target=start_a_process)
        worker.start()
        worker.join()
    assert seen == {"thread": True, "process": True}
    assert not _sigint_blocked_here()  # this thread takes Ctrl+C again


def test_held_interrupt_without_signal_masks(monkeypatch):
    monkeypatch.delattr(signal, "pthread_sigmask")  # as on Windows
    with pytest.raises(KeyboardInterrupt):
        with batch_run.held_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)


def test_ctrl_c_during_the_cluster_start_stops_the_run(monkeypatch):
    import distributed

    closed = []

    class SlowCluster:  # a LocalCluster whose start the user interrupts
        def __init__(self, **kwargs) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)

        def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr(distributed, "LocalCluster", SlowCluster)
    with pytest.raises(KeyboardInterrupt):
        batch_run._Dask(2, 1, None)
    assert closed == [True]  # the workers started meanwhile are stopped


# -- 5: a one-region image has no planimetric G, as in `grains` ------------------------------


def test_a_one_region_image_has_no_grain_size_as_with_grains(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    _etched(src / "etched.png", 1)
    _blank(src / "blank.png")
    run_batch(src, out, PipelineConfig(grains={"engine": "classical"}, pixel_size=0.5), workers=0)
    table = pd.read_csv(out / "results.csv").set_index("image")
    assert pd.isna(table.loc["blank.png", "astm_g_planimetric"])
    assert "no grain boundaries found" in table.loc["blank.png", "warning"]
    assert np.isfinite(table.loc["etched.png", "astm_g_planimetric"])
    assert pd.isna(table.loc["etched.png", "warning"])
    saved = json.loads((out / "images" / "blank.png" / "measure.json").read_text())
    assert main(["grains", str(src / "blank.png"), "--pixel-size", "0.5", "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    for key in ("astm_g_planimetric", "astm_g_planimetric_ci95", "warning", "grain_count"):
        assert saved[key] == alone[key]
    assert saved["astm_g_planimetric"] is None and saved["warning"]


def test_measure_gives_no_grain_size_for_one_region(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "one.tif", np.ones((64, 64), np.uint32))
    assert main(["measure", str(tmp_path / "one.tif"), "--pixel-size", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["astm_g_planimetric"] is None and out["astm_g_planimetric_ci95"] is None
    assert "no grain boundaries found" in out["warning"]
    two = np.ones((64, 64), np.uint32)
    two[:, 32:] = 2
    tifffile.imwrite(tmp_path / "two.tif", two)
    assert main(["measure", str(tmp_path / "two.tif"), "--pixel-size", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["astm_g_planimetric"] is not None and "warning" not in out


# -- 6: synth's masks are label TIFFs, as its help says --------------------------------------


def test_synth_masks_are_marked_label_tiffs_with_their_types(tmp_path, capsys):
    from napari_microstructure._reader import is_label_image
    from napari_microstructure.core.atomic import written_as_labels
    from napari_microstructure.core.segment.data import read_mask

    out = tmp_path / "ds"
    args = ["synth", str(out), "--n", "2", "--seed", "1", "--kind", "ferrite_pearlite"]
    assert main([*args, "--size", "96", "96"]) == 0
    capsys.readouterr()
    entry = json.loads((out / "index.json").read_text())[0]
    truth = generate(entry["kind"], shape=(96, 96), pixel_size=0.5, seed=entry["seed"])
    for layer, dtype in (("grains", np.uint32), ("defects", np.uint32), ("phases", np.uint8)):
        path = out / "masks" / f"{entry['stem']}_{layer}.tif"
        data = tifffile.imread(path)
        assert written_as_labels(path) and data.dtype == dtype
        np.testing.assert_array_equal(data, getattr(truth, layer))
        np.testing.assert_array_equal(read_mask(path), data)
        assert is_label_image(data, False, path)  # opens as labels in napari
    assert truth.phases.max() > 0  # the uint8 phase map holds phases
    # a killed run's temp mask file does not stop --overwrite
    (out / "masks" / ".x_grains.tif.abc123.tmp").write_bytes(b"half")
    assert main([*args, "--size", "96", "96", "--overwrite"]) == 0
    assert not list((out / "masks").glob(".*.tmp"))
    assert main(["synth", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "uint8 phase ids" in text and "masks/ (uint32 TIFF)" not in text


# -- 7: temp files a killed run left are removed ---------------------------------------------


def test_a_run_removes_the_temp_files_of_a_killed_run(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _etched(src / "a.png", 1)
    folder = out / "images" / "a.png"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".grains.tif.k1l2.tmp", out / ".results.csv.n0w.tmp"
    mine = out / "my_notes" / ".draft.tmp"  # the user's, where a run never writes
    mine.parent.mkdir()
    for tmp in (stale, fresh, mine):
        tmp.write_bytes(b"half written")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(mine, (old, old))
    run_batch(src, out, PipelineConfig(grains={"engine": "classical"}), workers=0)
    assert not stale.exists()
    assert fresh.exists()  # may be a write going on right now
    assert mine.exists()
    assert (folder / "result.json").is_file()


@pytest.mark.parametrize("grain_id", [1, 5])
def test_one_region_does_not_depend_on_the_id(grain_id, tmp_path, capsys):
    whole = np.full((64, 64), grain_id, np.uint32)  # one grain over the field: no grain size
    particle = np.zeros((64, 64), np.uint32)
    particle[20:30, 20:30] = grain_id  # one particle in a matrix: not "one region"
    for name, labels, told in (("whole", whole, True), ("particle", particle, False)):
        tifffile.imwrite(tmp_path / f"{name}.tif", labels)
        args = ["measure", str(tmp_path / f"{name}.tif"), "--pixel-size", "0.5", "--json"]
        assert main(args) == 0
        out = json.loads(capsys.readouterr().out)
        assert ("warning" in out) is told, (name, out)
        assert (out["astm_g_planimetric"] is None) is told
