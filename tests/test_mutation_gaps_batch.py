"""Batch details: pixel size precedence, the labels' TIFF resolution, aggregates, report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_microstructure.core.batch.aggregate import collect_rows, pooled_sizes
from napari_microstructure.core.batch.process import process_image
from napari_microstructure.core.batch.report import write_report
from napari_microstructure.core.pipeline import PipelineConfig

FILE_UM = 0.5  # µm per px written into the input TIFF
PIPE_UM = 0.25  # µm per px of the pipeline


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from napari_microstructure.core.synthetic import generate

    m = generate("etched", shape=(96, 96), pixel_size=FILE_UM, seed=7)
    path = tmp_path_factory.mktemp("in") / "cal.tif"
    # px per cm: 1 cm = 1e4 µm
    tifffile.imwrite(path, m.image, resolution=(1e4 / FILE_UM,) * 2, resolutionunit="CENTIMETER")
    return path


def _tiff_um_per_px(path):
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        assert tags["ResolutionUnit"].value == 3  # centimetre
        xn, xd = tags["XResolution"].value
        yn, yd = tags["YResolution"].value
    return 1e4 * xd / xn, 1e4 * yd / yn


@pytest.mark.parametrize(
    ("force", "expected", "source"), [(True, PIPE_UM, "pipeline"), (False, FILE_UM, "file")]
)
def test_pixel_size_precedence_and_grains_tif_resolution(
    calibrated, tmp_path, force, expected, source
):
    cfg = PipelineConfig(
        grains={"engine": "classical"}, pixel_size=PIPE_UM, force_pixel_size=force
    )
    row = process_image(calibrated, "cal.tif", tmp_path, cfg)
    assert row["status"] == "ok", row.get("error")
    assert row["pixel_size"] == pytest.approx(expected)
    assert row["pixel_size_source"] == source
    grains = tmp_path / "images" / "cal.tif" / "grains.tif"
    assert _tiff_um_per_px(grains) == pytest.approx((expected, expected), rel=1e-6)


def _row(out, key, **values):
    folder = out / "images" / key
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"image": key, "status": "ok", **values}))
    return folder


def test_a_class_missing_from_a_detected_image_counts_zero(tmp_path):
    _row(tmp_path, "a", n_detections=3, **{"count.pore": 3})
    _row(tmp_path, "b", n_detections=0)  # detection ran and found no pore: 0 pores
    _row(tmp_path, "c")  # no detection step: unknown, not 0
    table = collect_rows(tmp_path)
    assert table["image"].tolist() == ["a", "b", "c"]
    counts = table["count.pore"]
    assert counts[0] == 3 and counts[1] == 0 and pd.isna(counts[2])


def _sizes(folder, column, values):
    pd.DataFrame({"label": range(1, len(values) + 1), column: values}).to_csv(
        folder / "grains.csv", index=False
    )


def test_calibrated_sizes_are_pooled_even_when_fewer_images_have_them(tmp_path):
    for key in ("p1", "p2"):
        _sizes(_row(tmp_path, key), "ecd [px]", [10.0, 20.0])
    _sizes(_row(tmp_path, "u1"), "ecd [µm]", [1.5, 2.5, 3.5])
    pooled = pooled_sizes(tmp_path)
    assert pooled.unit == "µm"
    np.testing.assert_array_equal(pooled.values, [1.5, 2.5, 3.5])
    assert pooled.left_out == {"px": 2}


def test_report_gives_the_total_of_grains_over_images(tmp_path):
    for key, n in (("a", 30), ("b", 12), ("c", None)):
        _row(tmp_path, key, grain_count=n)
    path = write_report(tmp_path, collect_rows(tmp_path))
    text = path.read_text(encoding="utf-8")
    assert "<tr><th>grains measured</th><td>42</td></tr>" in text
