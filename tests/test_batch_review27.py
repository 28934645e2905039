"""Batch, review 27: a damaged result.json is done again, never skipped without a row."""

from __future__ import annotations

import pandas as pd
import tifffile

from napari_microstructure.core.batch import run_batch
from napari_microstructure.core.pipeline import PipelineConfig


def test_a_damaged_result_is_done_again_and_keeps_its_row(tmp_path):
    from napari_microstructure.core.synthetic import generate

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        m = generate("etched", shape=(128, 128), pixel_size=0.5, seed=200 + i)
        tifffile.imwrite(folder / f"img{i}.tif", m.image)
    out = tmp_path / "out"
    cfg = PipelineConfig(grains={"engine": "classical"}, pixel_size=0.5)
    first = run_batch(folder, out, cfg, workers=0)
    assert (first.processed, first.failed) == (2, 0)
    (out / "images" / "img1.tif" / "result.json").write_text('{"partial')  # a disk error
    again = run_batch(folder, out, cfg, workers=0)
    assert (again.processed, again.skipped) == (1, 1)
    assert [r["image"] for r in again.rows] == ["img1.tif"]
    table = pd.read_csv(out / "results.csv")
    assert sorted(table["image"]) == ["img0.tif", "img1.tif"]
    assert (table["status"] == "ok").all()
