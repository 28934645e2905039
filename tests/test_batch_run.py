"""Batch runs: error rows, resume without redoing, same numbers as single-image runs, Dask."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure.core.batch import run_batch
from napari_microstructure.core.pipeline import PipelineConfig
from napari_microstructure.core.progress import run_to_end

GRAINS = {"engine": "classical"}


def _images(folder, n=3, size=192, kind="etched"):
    from napari_microstructure.core.synthetic import generate

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        m = generate(kind, shape=(size, size), pixel_size=0.5, seed=100 + i)
        tifffile.imwrite(
            folder / f"img{i}.tif", m.image, resolution=(2e4, 2e4), resolutionunit="CENTIMETER"
        )
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = _images(tmp_path_factory.mktemp("batch") / "in")
    (root / "corrupt.tif").write_bytes(b"II*\x00" + b"\x13" * 200)
    (root / "readme.txt").write_text("not an image")
    return root


def test_rows_errors_and_resume(folder, tmp_path):
    out = tmp_path / "out"
    cfg = PipelineConfig(grains=dict(GRAINS))
    events = []
    res = run_batch(folder, out, cfg, workers=0, progress=lambda k, i: events.append(k))
    assert (res.processed, res.failed, res.skipped) == (5, 2, 0)
    table = pd.read_csv(out / "results.csv")
    assert list(table["image"]) == [
        "corrupt.tif",
        "img0.tif",
        "img1.tif",
        "img2.tif",
        "readme.txt",
    ]
    errors = table.set_index("image")["error"]
    assert "corrupt" in errors["corrupt.tif"] and "unsupported" in errors["readme.txt"]
    ok = table[table["status"] == "ok"]
    assert len(ok) == 3 and (ok["grain_count"] > 20).all() and (ok["unit"] == "µm").all()
    assert (out / "images" / "img0.tif" / "grains.tif").is_file()
    assert (out / "report.html").read_text().count("data:image/png") >= 2
    assert events.count("done") == 5 and events[0] == "start"

    # an interrupted run: two images finished, the third's result never written
    stamps = {
        k: (out / "images" / k / "result.json").stat().st_mtime_ns
        for k in ("img0.tif", "img1.tif")
    }
    (out / "images" / "img2.tif" / "result.json").unlink()
    again = run_batch(folder, out, cfg, workers=0)
    assert (again.processed, again.skipped) == (1, 4)
    assert [r["image"] for r in again.rows] == ["img2.tif"]
    for key, stamp in stamps.items():
        assert (out / "images" / key / "result.json").stat().st_mtime_ns == stamp
    assert len(pd.read_csv(out / "results.csv")) == 5


def test_aggregated_numbers_equal_single_image_runs(tmp_path):
    from napari_microstructure.core.detect import detect, load_detector
    from napari_microstructure.core.grains import segment_all_grains, without_one_region_size
    from napari_microstructure.core.imageio import read_micrograph
    from napari_microstructure.core.measure import summarize

    src = _images(tmp_path / "in", n=2, size=320, kind="defects")
    detect_cfg = {"model": None, "conf": 0.05, "iou": 0.5, "max_det": 300}
    cfg = PipelineConfig(detect=detect_cfg, grains=dict(GRAINS))
    run_batch(src, tmp_path / "out", cfg, workers=0)
    table = pd.read_csv(tmp_path / "out" / "results.csv").set_index("image")
    det = load_detector(None)
    for path in sorted(src.glob("*.tif")):
        mf = read_micrograph(path)
        boxes = run_to_end(detect(mf.image, det, pixel_size=mf.pixel_size, conf=0.05, iou=0.5))
        labels = run_to_end(segment_all_grains(mf.image, mf.pixel_size, **GRAINS))
        alone = summarize(labels, mf.pixel_size)
        without_one_region_size(alone, labels)  # as `grains` reports a field of one region
        row = table.loc[path.name]
        assert row["n_detections"] == len(boxes)
        for name, count in boxes["class_name"].value_counts().items():
            assert row[f"count.{name}"] == count
        for key in ("grain_count", "astm_g_intercept", "astm_g_planimetric", "mean_area"):
            if alone[key] is None:  # (particles on a matrix may hold a single "grain")
                assert pd.isna(row[key])
            else:
                assert row[key] == pytest.approx(alone[key])
        saved = pd.read_csv(tmp_path / "out" / "images" / path.name / "detections.csv")
        assert len(saved) == len(boxes)


@pytest.mark.slow  # starts two worker processes that import torch: ~10 s idle, more when loaded
def test_local_dask_cluster_matches_serial_and_loads_model_once(tmp_path):
    src = _images(tmp_path / "in", n=3, size=160)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    cfg = PipelineConfig(detect={"model": None, "conf": 0.25}, grains=dict(GRAINS))
    res = run_batch(src, tmp_path / "dask", cfg, workers=2)
    assert res.processed == 4 and res.failed == 1
    ok = [r for r in res.rows if r["status"] == "ok"]
    # the images ran in worker processes, and a worker loads the model at most once
    assert all(r["worker_pid"] != os.getpid() for r in ok)
    assert all(r["model_loads"] <= 1 for r in ok)
    run_batch(src, tmp_path / "serial", cfg, workers=0)
    a = pd.read_csv(tmp_path / "dask" / "results.csv").set_index("image")
    b = pd.read_csv(tmp_path / "serial" / "results.csv").set_index("image")
    cols = ["status", "grain_count", "astm_g_intercept", "n_detections"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_watch_waits_for_complete_files(tmp_path):
    from napari_microstructure.core.synthetic import generate

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cfg = PipelineConfig(grains=dict(GRAINS))
    box = {}

    def runner():
        box["res"] = run_batch(
            src, out, cfg, workers=0, watch=True, poll_s=0.2, settle_s=0.6, max_idle_s=2.5
        )

    thread = threading.Thread(target=runner)
    thread.start()
    m = generate("etched", shape=(256, 256), pixel_size=0.5, seed=1)
    tifffile.imwrite(tmp_path / "full.tif", m.image)
    data = (tmp_path / "full.tif").read_bytes()
    target = src / "new.tif"
    # the microscope writes the file in two pieces, a while apart
    with open(target, "wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        time.sleep(0.5)
        fh.write(data[len(data) // 2 :])
    thread.join(timeout=60)
    assert not thread.is_alive()
    res = box["res"]
    assert res.processed == 1 and res.failed == 0
    assert res.rows[0]["image"] == "new.tif" and res.rows[0]["grain_count"] > 10


def test_quality_gate_flags_bad_images(tmp_path):
    from scipy import ndimage as ndi

    from napari_microstructure.core.synthetic import generate

    src = tmp_path / "in"
    src.mkdir()
    img = generate("etched", shape=(256, 256), pixel_size=0.5, seed=5).image
    tifffile.imwrite(src / "good.tif", img)
    tifffile.imwrite(
        src / "blurred.tif", ndi.gaussian_filter(img.astype(float), 4).astype(np.uint8)
    )
    tifffile.imwrite(src / "dark.tif", (img * 0.08).astype(np.uint8))
    tifffile.imwrite(src / "blank.tif", np.full((256, 256), 200, np.uint8))
    # an unetched field with camera noise: contrasted and "sharp" (its noise is both)
    noisy = np.random.default_rng(0).normal(150, 8, (256, 256)).clip(0, 255).astype(np.uint8)
    tifffile.imwrite(src / "noisy_blank.tif", noisy)
    run_batch(src, tmp_path / "out", PipelineConfig(grains=dict(GRAINS)), workers=0)
    flags = pd.read_csv(tmp_path / "out" / "results.csv").set_index("image")["flags"].fillna("")
    assert flags["good.tif"] == ""
    assert "blurred" in flags["blurred.tif"]
    assert "too_dark" in flags["dark.tif"]
    assert "no_contrast" in flags["blank.tif"] and "no_structure" in flags["blank.tif"]
    assert flags["noisy_blank.tif"] == "no_structure"  # once, though grains found none either


def test_a_failing_task_becomes_an_error_row(tmp_path, monkeypatch):
    import napari_microstructure.core.batch.run as run_module

    src = _images(tmp_path / "in", n=2, size=64)
    real = run_module.process_image

    def flaky(path, key, *args):
        if key == "img1.tif":
            raise MemoryError("worker killed")
        return real(path, key, *args)

    monkeypatch.setattr(run_module, "process_image", flaky)
    monkeypatch.chdir(tmp_path)  # the folder named relatively
    res = run_batch("in", tmp_path / "out", PipelineConfig(), workers=0)
    assert (res.processed, res.failed) == (2, 1)
    table = pd.read_csv(tmp_path / "out" / "results.csv").set_index("image")
    assert "worker failed" in table.loc["img1.tif", "error"]
    # the failed worker's row names its file by absolute path, as a worker's own row does
    assert table.loc["img1.tif", "path"] == str(src / "img1.tif")
    assert table.loc["img0.tif", "path"] == str(src / "img0.tif")
    assert table.loc["img0.tif", "status"] == "ok"


def test_existing_scheduler_address(tmp_path):
    from distributed import LocalCluster

    src = _images(tmp_path / "in", n=2, size=96)
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        res = run_batch(
            src, tmp_path / "out", PipelineConfig(), scheduler=cluster.scheduler_address
        )
    assert res.processed == 2 and res.failed == 0
    assert len(pd.read_csv(tmp_path / "out" / "results.csv")) == 2


def test_cli_exit_status_says_whether_images_of_this_run_failed(tmp_path, capsys):
    from napari_microstructure.cli import main

    src = _images(tmp_path / "in", n=1, size=64)
    (src / "notes.txt").write_text("not an image")
    args = ["batch", str(src), "--out", str(tmp_path / "out"), "--workers", "0", "--no-progress"]
    assert main(args) == 1
    assert "1 failed in this run: exit status 1" in capsys.readouterr().out.splitlines()[-1]
    assert main(args) == 0  # all done before: nothing of this run failed


def test_report_pools_grain_sizes_of_one_unit(tmp_path):
    from napari_microstructure.core.batch.aggregate import pooled_sizes

    src = _images(tmp_path / "in", n=1, size=160)  # calibrated: µm
    tifffile.imwrite(src / "nocal.tif", tifffile.imread(src / "img0.tif"))  # px
    run_batch(src, tmp_path / "out", PipelineConfig(grains=dict(GRAINS)), workers=0)
    pooled = pooled_sizes(tmp_path / "out")
    ecd = pd.read_csv(tmp_path / "out" / "images" / "img0.tif" / "grains.csv")["ecd [µm]"]
    assert pooled.unit == "µm" and pooled.left_out == {"px": 1}
    np.testing.assert_allclose(pooled.values, ecd.to_numpy())
    report = (tmp_path / "out" / "report.html").read_text()
    assert "images left out: 1 in px" in report
